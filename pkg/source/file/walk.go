package file

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// configExts are the file name extensions that are loaded.
var configExts = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// isConfigFile reports whether a file name (base name) is loaded: a YAML or
// JSON file that is neither hidden nor an editor's temporary file.
func isConfigFile(name string) bool {
	return !strings.HasPrefix(name, ".") && !isEditorTemp(name) && configExts[strings.ToLower(filepath.Ext(name))]
}

// isEditorTemp matches the files editors write beside the one being saved:
// backups (x~), Emacs locks (.#x) and auto-saves (#x#), Vim swap files and
// its write test file (4913), JetBrains' safe-write copies.
func isEditorTemp(name string) bool {
	switch {
	case strings.HasSuffix(name, "~"),
		strings.HasPrefix(name, ".#"),
		strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"),
		strings.HasSuffix(name, ".swp"), strings.HasSuffix(name, ".swo"), strings.HasSuffix(name, ".swx"),
		name == "4913",
		strings.HasSuffix(name, "___jb_tmp___"), strings.HasSuffix(name, "___jb_old___"):
		return true
	}
	return false
}

// isHiddenDir reports whether a directory below the root is skipped. That
// includes Kubernetes ConfigMap mounts' "..data" and "..2024_..." folders,
// whose files are also reachable through the top-level symlinks.
func isHiddenDir(name string) bool { return strings.HasPrefix(name, ".") }

// ListFiles returns the configuration files in a directory tree, sorted by
// path: *.yaml, *.yml and *.json, leaving out hidden files and directories
// and editors' temporary files. Symbolic links to files are followed;
// symbolic links to directories are not. A path that is a file is returned
// as is, whatever its name.
func ListFiles(root string) ([]string, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if !info.IsDir() {
		return []string{root}, nil
	}
	var files []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			// An unreadable or vanished subdirectory does not stop the rest.
			return nil
		}
		if d.IsDir() {
			if path != root && isHiddenDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !isConfigFile(d.Name()) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		files = append(files, path)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("config: walk %s: %w", root, err)
	}
	sort.Strings(files)
	return files, nil
}

// listDirs returns root and its subdirectories that ListFiles descends into.
func listDirs(root string) []string {
	dirs := []string{root}
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || path == root {
			return nil
		}
		if isHiddenDir(d.Name()) {
			return filepath.SkipDir
		}
		dirs = append(dirs, path)
		return nil
	})
	return dirs
}
