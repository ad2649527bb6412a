package loadtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"

	"github.com/serin-dev/serin/pkg/gen"
)

// Target is where changes are made: serin's config directory, or the
// baseline's snapshot.
type Target interface {
	// Apply makes the change and returns once it is visible to the server
	// (the file is in place, the snapshot is set).
	Apply(ch Change) error
}

// Dir is a generated configuration directory, one file per service
// (gen.WriteDir with one service per file), that serin serves.
type Dir struct {
	Path string
	svcs []gen.Service
}

// WriteDir generates cfg into path.
func WriteDir(path string, cfg gen.Config) (*Dir, error) {
	if _, err := gen.WriteDir(path, cfg, 1); err != nil {
		return nil, err
	}
	return &Dir{Path: path, svcs: gen.Services(cfg)}, nil
}

// Apply rewrites the service's file with the new canary weight. The file
// is written beside as a dot file (which the file source ignores) and
// renamed over the old one, so serin never reads half a file.
func (d *Dir) Apply(ch Change) error {
	if ch.Service < 0 || ch.Service >= len(d.svcs) {
		return fmt.Errorf("change %d: no service %d", ch.Seq, ch.Service)
	}
	s := d.svcs[ch.Service]
	group := s.Group.DeepCopy()
	group.Spec.Destinations[1].Weight = int64(ch.Weight)
	var buf bytes.Buffer
	for _, obj := range []any{s.Stable, s.Canary, group, s.VirtualService} {
		if err := writeDoc(&buf, obj); err != nil {
			return err
		}
	}
	name := gen.Name(ch.Service) + ".yaml"
	tmp := filepath.Join(d.Path, "."+name+".tmp")
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("change %d: %w", ch.Seq, err)
	}
	if err := os.Rename(tmp, filepath.Join(d.Path, name)); err != nil {
		return fmt.Errorf("change %d: %w", ch.Seq, err)
	}
	return nil
}

// writeDoc appends one YAML document as gen.WriteDir writes it.
func writeDoc(buf *bytes.Buffer, obj any) error {
	js, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		return err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	y, err := yaml.Marshal(m)
	if err != nil {
		return err
	}
	buf.WriteString("---\n")
	buf.Write(y)
	return nil
}
