package file

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Limits on what one document may expand to. YAML aliases can make a small
// file describe an exponentially large value ("billion laughs"); real
// configurations stay far below these numbers.
const (
	maxNodes = 1 << 20 // nodes visited while converting one document
	maxDepth = 64      // nesting; the deepest API path is about 10
)

// nodeError is a conversion problem at a line of the document.
type nodeError struct {
	line int
	path string
	msg  string
}

func (e *nodeError) Error() string { return e.msg }

// span records where a YAML node landed in the generated JSON, so that an
// error reported at a JSON offset can be traced back to a line and a path.
type span struct {
	start, end int
	line       int
	path       string
}

// jsonWriter converts a yaml.v3 node tree into JSON. Going through JSON lets
// the strict decoder of sigs.k8s.io/json (the one Kubernetes uses) apply the
// API types' json tags and report unknown fields with their full paths.
type jsonWriter struct {
	buf    bytes.Buffer
	spans  []span
	budget int
	// skipRoot lists top-level keys that are left out (status).
	skipRoot map[string]bool
}

func toJSON(n *yaml.Node, skipRoot map[string]bool) ([]byte, []span, error) {
	w := &jsonWriter{budget: maxNodes, skipRoot: skipRoot}
	if err := w.value(n, "", 0); err != nil {
		return nil, nil, err
	}
	return w.buf.Bytes(), w.spans, nil
}

func (w *jsonWriter) value(n *yaml.Node, path string, depth int) error {
	w.budget--
	if w.budget < 0 {
		return &nodeError{line: n.Line, path: path, msg: "document too large (aliases expand to more than a million nodes)"}
	}
	if depth > maxDepth {
		return &nodeError{line: n.Line, path: path, msg: fmt.Sprintf("document nested deeper than %d levels", maxDepth)}
	}
	start := w.buf.Len()
	var err error
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			w.buf.WriteString("null")
		} else {
			return w.value(n.Content[0], path, depth+1)
		}
	case yaml.AliasNode:
		if n.Alias == nil {
			return &nodeError{line: n.Line, path: path, msg: "alias to an unknown anchor"}
		}
		return w.value(n.Alias, path, depth+1)
	case yaml.MappingNode:
		err = w.mapping(n, path, depth)
	case yaml.SequenceNode:
		w.buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				w.buf.WriteByte(',')
			}
			if err = w.value(c, path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
				break
			}
		}
		w.buf.WriteByte(']')
	case yaml.ScalarNode:
		err = w.scalar(n, path)
	default:
		err = &nodeError{line: n.Line, path: path, msg: "unsupported YAML node"}
	}
	if err != nil {
		return err
	}
	w.spans = append(w.spans, span{start: start, end: w.buf.Len(), line: n.Line, path: path})
	return nil
}

// pair is one key and value of a mapping, merge keys (<<) resolved.
type pair struct{ key, val *yaml.Node }

func (w *jsonWriter) mapping(n *yaml.Node, path string, depth int) error {
	pairs, err := mappingPairs(n, path, depth)
	if err != nil {
		return err
	}
	w.buf.WriteByte('{')
	first := true
	for _, p := range pairs {
		if path == "" && w.skipRoot[p.key.Value] {
			continue
		}
		if !first {
			w.buf.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(p.key.Value)
		w.buf.Write(k)
		w.buf.WriteByte(':')
		if err := w.value(p.val, joinPath(path, p.key.Value), depth+1); err != nil {
			return err
		}
	}
	w.buf.WriteByte('}')
	return nil
}

// mappingPairs lists a mapping's pairs, rejecting duplicate and non-scalar
// keys, and resolving merge keys: explicit keys win over merged ones, and
// earlier merged maps win over later ones, as in YAML 1.1.
func mappingPairs(n *yaml.Node, path string, depth int) ([]pair, error) {
	if depth > maxDepth {
		return nil, &nodeError{line: n.Line, path: path, msg: fmt.Sprintf("document nested deeper than %d levels", maxDepth)}
	}
	var pairs []pair
	var merges []*yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			return nil, &nodeError{line: k.Line, path: path, msg: "mapping keys must be strings"}
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if seen[k.Value] {
			return nil, &nodeError{line: k.Line, path: joinPath(path, k.Value), msg: "duplicate field"}
		}
		seen[k.Value] = true
		pairs = append(pairs, pair{k, v})
	}
	for _, m := range merges {
		if m.Kind == yaml.AliasNode && m.Alias != nil {
			m = m.Alias
		}
		sources := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			sources = m.Content
		}
		for _, s := range sources {
			if s.Kind == yaml.AliasNode && s.Alias != nil {
				s = s.Alias
			}
			if s.Kind != yaml.MappingNode {
				return nil, &nodeError{line: s.Line, path: path, msg: "merge key (<<) needs a mapping or a list of mappings"}
			}
			sub, err := mappingPairs(s, path, depth+1)
			if err != nil {
				return nil, err
			}
			for _, p := range sub {
				if !seen[p.key.Value] {
					seen[p.key.Value] = true
					pairs = append(pairs, p)
				}
			}
		}
	}
	return pairs, nil
}

func (w *jsonWriter) scalar(n *yaml.Node, path string) error {
	switch n.ShortTag() {
	case "!!null":
		w.buf.WriteString("null")
		return nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err == nil {
			w.buf.WriteString(strconv.FormatBool(b))
			return nil
		}
	case "!!int":
		var v any
		if err := n.Decode(&v); err == nil {
			switch v.(type) {
			case int, int64, uint64:
				fmt.Fprint(&w.buf, v)
				return nil
			}
		}
		// Too large for 64 bits: keep the digits, the typed decoder will
		// report the overflow with the field's name.
		if _, err := strconv.ParseFloat(n.Value, 64); err == nil {
			w.buf.WriteString(n.Value)
			return nil
		}
	case "!!float":
		var f float64
		if err := n.Decode(&f); err == nil {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return &nodeError{line: n.Line, path: path, msg: fmt.Sprintf("%s: %s is not a finite number", path, n.Value)}
			}
			b, _ := json.Marshal(f)
			w.buf.Write(b)
			return nil
		}
	}
	// Strings, timestamps, binary and custom tags all become strings, as in
	// Kubernetes' YAML handling.
	b, _ := json.Marshal(n.Value)
	w.buf.Write(b)
	return nil
}

// at returns the innermost node whose JSON contains offset.
func at(spans []span, offset int) (span, bool) {
	best, found := span{}, false
	for _, s := range spans {
		if s.start <= offset && offset <= s.end {
			if !found || s.end-s.start < best.end-best.start {
				best, found = s, true
			}
		}
	}
	return best, found
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
