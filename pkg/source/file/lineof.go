package file

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// LineOf returns the line of a field in the object whose document starts at
// docLine (an Origin's Line) in a file's contents. fieldPath is written the
// way Validate and the translator write it: "spec.destinations[1].weight",
// "metadata.labels[app]". When the field is absent (a missing required
// field, a default) the line of its nearest present ancestor is returned;
// when the object is not found, docLine.
func LineOf(data []byte, docLine int, fieldPath string) int {
	for _, d := range parseDocuments(data) {
		if d.err != nil {
			continue
		}
		for _, root := range objectRoots(d.node, 0) {
			if root.Line == docLine {
				return lineOf(root, fieldPath)
			}
		}
	}
	return docLine
}

// objectRoots lists the object mappings of a document: the document itself,
// the elements of a top-level sequence, and the items of a kind: List.
func objectRoots(n *yaml.Node, depth int) []*yaml.Node {
	if n == nil || depth > 2 {
		return nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return objectRoots(n.Content[0], depth)
	case yaml.SequenceNode:
		var out []*yaml.Node
		for _, c := range n.Content {
			out = append(out, objectRoots(c, depth+1)...)
		}
		return out
	case yaml.MappingNode:
		if scalarField(n, "kind") == "List" {
			if items := field(n, "items"); items != nil && items.Kind == yaml.SequenceNode {
				return objectRoots(items, depth+1)
			}
		}
		return []*yaml.Node{n}
	}
	return nil
}

// lineOf walks fieldPath from root and returns the line of the deepest node
// it reaches: the key's line for a field, the element's line for an index.
func lineOf(root *yaml.Node, fieldPath string) int {
	line := root.Line
	n := root
	for _, seg := range splitPath(fieldPath) {
		n = deref(n)
		if n == nil {
			break
		}
		var next *yaml.Node
		switch {
		case n.Kind == yaml.MappingNode:
			k, v := lookup(n, seg)
			if k == nil {
				return line
			}
			line, next = k.Line, v
		case n.Kind == yaml.SequenceNode:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(n.Content) {
				return line
			}
			next = n.Content[i]
			line = next.Line
		default:
			return line
		}
		n = next
	}
	return line
}

// splitPath turns "a.b[1].c[key.with.dots]" into a, b, 1, c, key.with.dots.
func splitPath(p string) []string {
	var segs []string
	for p != "" {
		switch p[0] {
		case '.':
			p = p[1:]
		case '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				segs = append(segs, p[1:])
				return segs
			}
			segs = append(segs, p[1:end])
			p = p[end+1:]
		default:
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			segs = append(segs, p[:end])
			p = p[end:]
		}
	}
	return segs
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxDepth; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	return n
}

// lookup finds a key in a mapping, following merge keys.
func lookup(m *yaml.Node, key string) (k, v *yaml.Node) {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	pairs, err := mappingPairs(m, "", 0)
	if err != nil {
		// Fall back to a plain scan; duplicate keys are reported elsewhere.
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				return m.Content[i], m.Content[i+1]
			}
		}
		return nil, nil
	}
	for _, p := range pairs {
		if p.key.Value == key {
			return p.key, p.val
		}
	}
	return nil, nil
}

func field(m *yaml.Node, key string) *yaml.Node {
	_, v := lookup(m, key)
	return deref(v)
}

func scalarField(m *yaml.Node, key string) string {
	v := field(m, key)
	if v == nil || v.Kind != yaml.ScalarNode {
		return ""
	}
	return v.Value
}
