package translator

import (
	"maps"
	"reflect"
	"slices"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// Translate turns the input into Envoy resources per fleet plus a report
// per input object. It is pure and deterministic: the same input gives
// byte-identical output. A bad object never breaks a good one: when an
// object's version is Rejected and Input.LastAccepted has an earlier
// version of it, that version is served in its place (the report stays
// Rejected and says so in Serving; see lastaccepted.go); a rejected object
// with no such version is left out, and what references it gets a Warning
// and a safe fallback (a route answering 503, a dropped destination or
// mirror). Claims on one thing (a domain in a fleet, a group's release)
// go to the oldest object (v1alpha1.OlderClaim); the others are Rejected.
//
// Messages that are equal everywhere are shared between resources: treat
// the output as read-only.
func Translate(in *Input, opts Options) *Output { return once().Translate(in, opts) }

// BuildIR resolves, defaults and checks the input: the first half of
// Translate. Every input object gets a report; objects with Rejected
// problems are left out of the IR.
func BuildIR(in *Input, opts Options) (*IR, []Report) {
	t := once()
	ir := t.compile(in, opts)
	return ir, t.reports()
}

// Translator is Translate with a memory, for a caller that translates a
// slowly changing store again and again (the control plane's runner).
// There is one path: Translate on a new Translator compiles every object;
// on a Translator that has seen the previous input, it compiles again only
// the objects whose revision moved and those that read what changed (see
// cells.go), lays the fleets out again only when something's place in them
// moved (fleet.go), and builds again only the messages whose IR changed
// (emit.go). Its output is always exactly what a new Translator's would be,
// and every message whose content did not change is the previous output's
// message, so snapshot.Build reuses its marshaled form.
//
// A Translator is not safe for concurrent use, and its outputs are
// read-only.
type Translator struct {
	opts Options
	in   *Input
	run  uint64

	ups      *table[*v1alpha1.Upstream, upstreamResult]
	groups   *table[*v1alpha1.UpstreamGroup, groupResult]
	canaries *table[*v1alpha1.Canary, canaryResult]
	vss      *table[*v1alpha1.VirtualService, vsResult]
	gateways []*gatewayEntry
	// canaryClaims are the Canaries Rejected because an older one
	// releases their group (claimGroups).
	canaryClaims map[ident.Key]Problem

	// added is set once a run creates a cell: reads of missing objects
	// must then be checked again.
	added bool

	layout  *layout
	reps    []Report // the last reports; rebuilt only when one changed
	repsOld bool

	stats   Stats
	scratch compiler
	// forget: no next run (see once).
	forget bool
}

// Stats says what the last Translate did, for tests and benchmarks.
type Stats struct {
	// Compiled counts the objects compiled (the rest were reused).
	Compiled int
	// Layout is true when the fleets were laid out again.
	Layout bool
}

// NewTranslator returns a Translator with no memory.
func NewTranslator() *Translator {
	return &Translator{
		ups:      newTable[*v1alpha1.Upstream, upstreamResult](v1alpha1.KindUpstream),
		groups:   newTable[*v1alpha1.UpstreamGroup, groupResult](v1alpha1.KindUpstreamGroup),
		canaries: newTable[*v1alpha1.Canary, canaryResult](v1alpha1.KindCanary),
		vss:      newTable[*v1alpha1.VirtualService, vsResult](v1alpha1.KindVirtualService),
	}
}

// once is a Translator that will not be called again: it runs the same
// path but keeps none of the bookkeeping only a next run would read (who
// read whom, the input to compare the next one with).
func once() *Translator {
	t := NewTranslator()
	t.forget = true
	return t
}

// Stats returns what the last Translate did.
func (t *Translator) Stats() Stats { return t.stats }

// Translate returns Translate(in, opts), reusing the previous runs' work.
// The Translator keeps the input to compare the next one with: objects,
// and the Endpoints and Overrides maps with their slices, must not be
// changed in place afterwards (InputFrom builds new ones every time; store
// objects are immutable).
func (t *Translator) Translate(in *Input, opts Options) *Output {
	ir := t.compile(in, opts)
	return &Output{Fleets: t.layout.emit(ir), Reports: t.reports()}
}

// compile brings every cell up to date, then the layout, and returns the IR.
func (t *Translator) compile(in *Input, opts Options) *IR {
	if in == nil {
		in = &Input{}
	}
	if opts != t.opts {
		// Options shape every cluster: forget everything.
		forget := t.forget
		*t = *NewTranslator()
		t.opts, t.forget = opts, forget
	}
	var endpointsMoved, overridesMoved map[ident.Key]bool
	if t.in != nil {
		endpointsMoved = changedKeys(t.in.Endpoints, in.Endpoints, slices.Equal)
		overridesMoved = changedKeys(t.in.Overrides, in.Overrides, sameOverride)
	}
	t.in = in
	var acceptedMoved [4]map[ident.Key]bool
	acceptedMoved[0], acceptedMoved[1] = t.ups.acceptedMoved(t), t.groups.acceptedMoved(t)
	acceptedMoved[2], acceptedMoved[3] = t.canaries.acceptedMoved(t), t.vss.acceptedMoved(t)
	t.run++
	t.stats = Stats{}
	t.added = false
	var shape, reps [4]bool
	shape[0], reps[0] = t.ups.sync(t, in.Upstreams, union(endpointsMoved, acceptedMoved[0]), compileUpstream, sameUpstream)
	shape[1], reps[1] = t.groups.sync(t, in.UpstreamGroups, union(overridesMoved, acceptedMoved[1]), compileGroup, sameGroup)
	shape[2], reps[2] = t.canaries.sync(t, in.Canaries, acceptedMoved[2], compileCanary, sameCanary)
	shape[3], reps[3] = t.vss.sync(t, in.VirtualServices, acceptedMoved[3], compileVirtualService, sameVirtualService)
	claimsMoved := t.claimGroups()
	gwMoved := t.compileGateways()
	moved := shape[0] || shape[1] || shape[2] || shape[3] || gwMoved || t.layout == nil
	if moved {
		t.layout = t.newLayout()
		t.stats.Layout = true
	}
	if moved || reps[0] || reps[1] || reps[2] || reps[3] || claimsMoved || t.reps == nil {
		t.repsOld = true
	}
	return t.layout.ir()
}

// changedKeys returns the keys whose values differ between two maps.
func changedKeys[V any](before, now map[ident.Key]V, equal func(a, b V) bool) map[ident.Key]bool {
	var out map[ident.Key]bool
	mark := func(k ident.Key) {
		if out == nil {
			out = map[ident.Key]bool{}
		}
		out[k] = true
	}
	for k, v := range now {
		if old, had := before[k]; !had || !equal(old, v) {
			mark(k)
		}
	}
	for k := range before {
		if _, has := now[k]; !has {
			mark(k)
		}
	}
	return out
}

func sameOverride(a, b GroupOverride) bool {
	return a.Canary == b.Canary && a.Upstream == b.Upstream && maps.Equal(a.Weights, b.Weights) &&
		(a.Mirror == b.Mirror || (a.Mirror != nil && b.Mirror != nil && *a.Mirror == *b.Mirror)) &&
		reflect.DeepEqual(a.Stickiness, b.Stickiness) && reflect.DeepEqual(a.Cohort, b.Cohort)
}

// exists reports whether the input has the referenced object.
func (t *Translator) exists(r ident.Ref) bool {
	switch r.Kind {
	case v1alpha1.KindUpstream:
		return t.ups.cells[r.Key()] != nil
	case v1alpha1.KindUpstreamGroup:
		return t.groups.cells[r.Key()] != nil
	}
	return false
}

// compiler compiles one object: it looks others up through the tables,
// recording what it read, and collects the object's problems and the
// clusters it references.
type compiler struct {
	t     *Translator
	ns    string // the object's namespace, where references point by default
	p     problems
	reads []read
	// refs are the clusters the object references, in the order found.
	refs []string
}

// compiler returns the Translator's one compiler, emptied for an object in
// namespace ns: what it collects is copied out (compiler.keep), so that
// compiling 10,000s of objects does not allocate a compiler each.
func (t *Translator) compiler(ns string) *compiler {
	c := &t.scratch
	*c = compiler{t: t, ns: ns, p: problems{list: c.p.list[:0]}, reads: c.reads[:0], refs: c.refs[:0]}
	return c
}

// refsCopy returns the references collected so far, as a slice the
// compiler will not reuse.
func (c *compiler) refsCopy() []string { return cloneOrNil(c.refs) }

// readNode records a read of n; content says whether its content matters
// (else only its shape).
func (c *compiler) readNode(n *node, content bool) {
	stamp := n.shape
	if content {
		stamp = n.content
	}
	for _, r := range c.reads {
		if r.n == n && r.content == content {
			return
		}
	}
	c.reads = append(c.reads, read{n: n, content: content, stamp: stamp})
}

func (c *compiler) readMissing(r ident.Ref) {
	for _, x := range c.reads {
		if x.n == nil && x.missing == r {
			return
		}
	}
	c.reads = append(c.reads, read{missing: r})
}

// lookupUpstream resolves an upstream reference. It returns the cluster
// name, or "" and why there is none ("Upstream ns/name not found").
func (c *compiler) lookupUpstream(r v1alpha1.ResourceRef) (string, string) {
	k := ident.RefKey(r, c.ns)
	u := c.t.ups.cells[k]
	if u == nil {
		c.readMissing(k.Ref(v1alpha1.KindUpstream))
		return "", "Upstream " + k.String() + " not found"
	}
	c.readNode(&u.node, false)
	if u.res.cluster == nil {
		return "", "Upstream " + k.String() + " is rejected"
	}
	return u.res.cluster.Name, ""
}

// reference resolves an upstream reference and records the cluster as
// referenced.
func (c *compiler) reference(r v1alpha1.ResourceRef) (string, string) {
	name, why := c.lookupUpstream(r)
	if name != "" {
		c.refs = append(c.refs, name)
	}
	return name, why
}

// lookupGroup resolves a group reference: the group's cell when it exists
// (accepted or not), and why it cannot be used. content says whether the
// caller reads the split's weights (routes do), or only which clusters it
// splits over.
func (c *compiler) lookupGroup(r v1alpha1.ResourceRef, content bool) (*cell[*v1alpha1.UpstreamGroup, groupResult], string) {
	k := ident.RefKey(r, c.ns)
	g := c.t.groups.cells[k]
	if g == nil {
		c.readMissing(k.Ref(v1alpha1.KindUpstreamGroup))
		return nil, "UpstreamGroup " + k.String() + " not found"
	}
	c.readNode(&g.node, content)
	if !g.res.ok {
		return g, "UpstreamGroup " + k.String() + " is rejected"
	}
	return g, ""
}
