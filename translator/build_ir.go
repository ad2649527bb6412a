package translator

import (
	"slices"
	"strings"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// key is an object's namespace and name.
type key struct{ ns, name string }

func (k key) String() string { return k.ns + "/" + k.name }

func nsOf(ns string) string {
	if ns == "" {
		return v1alpha1.DefaultNamespace
	}
	return ns
}

func refKey(r v1alpha1.ResourceRef, ns string) key {
	if r.Namespace != "" {
		ns = r.Namespace
	}
	return key{ns, r.Name}
}

// resourceName is the Envoy name of an object: "<name>_<namespace>".
// Object names cannot contain "_" (DNS-1123), so names never collide.
func resourceName(k key) string { return k.name + "_" + k.ns }

// compiler holds the state of one BuildIR run.
type compiler struct {
	in   *Input
	opts Options
	rep  *reporter

	upstreams map[key]*upstreamEntry
	groups    map[key]*groupEntry
	vss       []*vsEntry // sorted by namespace/name
	vsByKey   map[key]*vsEntry
	gateways  []*gatewayEntry // sorted by namespace/name
	// referenced are the clusters that accepted objects reference, whether
	// or not a fleet's routes use them.
	referenced map[string]*Cluster
}

// BuildIR resolves, defaults and checks the input. Every input object gets
// a report; objects with Rejected problems are left out of the IR.
func BuildIR(in *Input, opts Options) (*IR, []Report) {
	if in == nil {
		in = &Input{}
	}
	c := newCompiler(in, opts)
	c.compileUpstreams()
	c.compileGroups()
	c.compileCanaries()
	c.compileVirtualServices()
	c.compileGateways()
	ir := c.assembleFleets()
	return ir, c.rep.reports()
}

func newCompiler(in *Input, opts Options) *compiler {
	n := len(in.Upstreams) + len(in.UpstreamGroups) + len(in.VirtualServices) + len(in.Gateways) + len(in.Canaries)
	return &compiler{
		in:         in,
		opts:       opts,
		rep:        newReporter(n),
		upstreams:  make(map[key]*upstreamEntry, len(in.Upstreams)),
		groups:     make(map[key]*groupEntry, len(in.UpstreamGroups)),
		vsByKey:    make(map[key]*vsEntry, len(in.VirtualServices)),
		referenced: make(map[string]*Cluster, len(in.Upstreams)),
	}
}

// objects sorts a kind's objects by namespace/name and opens a report for
// each; a second object with the same namespace/name is ignored with a
// Warning on the first. It returns the objects, their keys and the indexes
// of their reports.
func objects[T any, P interface {
	*T
	GetNamespace() string
	GetName() string
}](c *compiler, kind string, list []P) ([]P, []key, []int32) {
	cmp := func(a, b P) int {
		if c := strings.Compare(nsOf(a.GetNamespace()), nsOf(b.GetNamespace())); c != 0 {
			return c
		}
		return strings.Compare(a.GetName(), b.GetName())
	}
	sorted := list
	// Store reads are sorted already; copy and sort only when needed.
	if slices.Contains(list, nil) || !slices.IsSortedFunc(list, cmp) {
		sorted = make([]P, 0, len(list))
		for _, o := range list {
			if o != nil {
				sorted = append(sorted, o)
			}
		}
		slices.SortStableFunc(sorted, cmp)
	}
	out := make([]P, 0, len(sorted))
	keys := make([]key, 0, len(sorted))
	reps := make([]int32, 0, len(sorted))
	for _, o := range sorted {
		k := key{nsOf(o.GetNamespace()), o.GetName()}
		if n := len(keys); n > 0 && keys[n-1] == k {
			c.rep.warn(reps[n-1], "metadata.name", "defined more than once; the first definition is used")
			continue
		}
		out = append(out, o)
		keys = append(keys, k)
		reps = append(reps, c.rep.open(ident.Ref{Kind: kind, Namespace: k.ns, Name: k.name}))
	}
	return out, keys, reps
}

func objRef(kind string, k key) ident.Ref {
	return ident.Ref{Kind: kind, Namespace: k.ns, Name: k.name}
}
