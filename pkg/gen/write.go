package gen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// WriteDir writes the generated configuration as YAML files into dir (made
// if missing), one file per service ("svc-00042.yaml", four documents) or,
// with perFile > 1, that many services per file ("svc-00000.yaml" holds
// services 0 to perFile-1). It returns the paths written, in order.
func WriteDir(dir string, cfg Config, perFile int) ([]string, error) {
	if perFile < 1 {
		perFile = 1
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("gen: %w", err)
	}
	svcs := Services(cfg)
	var paths []string
	for start := 0; start < len(svcs); start += perFile {
		end := min(start+perFile, len(svcs))
		var buf bytes.Buffer
		for _, s := range svcs[start:end] {
			for _, obj := range []any{s.Stable, s.Canary, s.Group, s.VirtualService} {
				if err := writeDoc(&buf, obj); err != nil {
					return paths, err
				}
			}
		}
		p := filepath.Join(dir, Name(start)+".yaml")
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			return paths, fmt.Errorf("gen: %w", err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// writeDoc appends one YAML document without the empty status and
// creationTimestamp that marshaling the typed object would add.
func writeDoc(buf *bytes.Buffer, obj any) error {
	js, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	y, err := yaml.Marshal(m)
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	buf.WriteString("---\n")
	buf.Write(y)
	return nil
}
