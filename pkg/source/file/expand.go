package file

import "gopkg.in/yaml.v3"

// expansion measures what a document becomes once its aliases are followed,
// without following them more than once each: the cost of an anchored node
// is computed once and reused at every alias to it, so that an alias bomb
// (levels of lists of aliases to the level below) costs its file size to
// measure, not its expanded size.
type expansion struct {
	memo map[*yaml.Node]cost
	busy map[*yaml.Node]bool
}

// cost is what toJSON spends on a node: about the bytes it writes, and the
// nodes it visits (which its own budget, maxNodes, counts).
type cost struct{ bytes, nodes int64 }

// saturate keeps sums of exponential sizes from overflowing; anything that
// large is over every limit.
const saturate = int64(1) << 60

func add(a, b int64) int64 { return min(a+b, saturate) }

func (c cost) plus(d cost) cost { return cost{add(c.bytes, d.bytes), add(c.nodes, d.nodes)} }

func newExpansion() *expansion {
	return &expansion{memo: map[*yaml.Node]cost{}, busy: map[*yaml.Node]bool{}}
}

// of returns the cost of converting n to JSON: each scalar's bytes plus
// quotes, the brackets, colons and commas around them, and one node for each
// node visited, aliases included. Merged mappings and top-level keys that
// toJSON leaves out are counted in full, so this is an upper bound but for
// JSON string escapes. An alias to a node it is inside of (a cycle) costs
// nothing more: toJSON rejects it by its depth.
func (e *expansion) of(n *yaml.Node) cost {
	if n == nil {
		return cost{}
	}
	if n.Kind == yaml.AliasNode {
		return cost{nodes: 1}.plus(e.of(n.Alias))
	}
	if n.Anchor != "" {
		if c, ok := e.memo[n]; ok {
			return c
		}
		if e.busy[n] {
			return cost{}
		}
		e.busy[n] = true
		defer delete(e.busy, n)
	}
	c := cost{bytes: 2, nodes: 1} // quotes or brackets
	if n.Kind == yaml.ScalarNode {
		c.bytes += int64(len(n.Value))
	}
	for _, child := range n.Content {
		c = c.plus(e.of(child)).plus(cost{bytes: 1}) // and a comma or colon
	}
	if n.Anchor != "" {
		e.memo[n] = c
	}
	return c
}
