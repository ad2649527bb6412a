package file

import (
	"bytes"
	"encoding/json"
	"fmt"

	"sigs.k8s.io/yaml"
)

// clusterMetadata are metadata fields that a cluster assigns; they are left
// out of converted YAML so that it can be committed and applied anew.
var clusterMetadata = []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink"}

// lastApplied is kubectl's copy of the object as it was applied (here, in
// Gloo's apiVersion).
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// Convert rewrites a file of Gloo Edge (or serin) objects as serin YAML:
// every object typed serin.dev/v1alpha1, status and cluster-assigned
// metadata dropped, documents separated by ---. Defaults are not filled in,
// so the output says what the input said; comments are not kept. Objects
// that fail to decode are left out and their errors returned.
func Convert(filename string, data []byte) ([]byte, []error) {
	return DefaultLimits().Convert(filename, data)
}

// Convert is Convert within the limits (see Limits.DecodeObjects).
func (l Limits) Convert(filename string, data []byte) ([]byte, []error) {
	objs, errs := decodeFile(filename, data, false, l)
	var out bytes.Buffer
	for _, o := range objs {
		b, err := convertObject(o)
		if err != nil {
			errs = append(errs, errorf(filename, o.Origin.Line, "%s: %v", o, err))
			continue
		}
		if out.Len() > 0 {
			out.WriteString("---\n")
		}
		out.Write(b)
	}
	return out.Bytes(), errs
}

func convertObject(o *Object) ([]byte, error) {
	js, err := json.Marshal(o.Obj)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		for _, k := range clusterMetadata {
			delete(md, k)
		}
		if ann, ok := md["annotations"].(map[string]any); ok {
			delete(ann, lastApplied)
			if len(ann) == 0 {
				delete(md, "annotations")
			}
		}
	}
	b, err := yaml.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return b, nil
}
