package translator

import (
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// Translator is Translate with a memory of its last run, for a caller that
// translates a slowly changing store again and again (the control plane's
// runner). Its output is always exactly what Translate would return for
// the same input, but:
//
//   - every resource whose content did not change is the same message
//     pointer as in the previous output, so snapshot.Build reuses its
//     marshaled form;
//   - when only the contents of existing objects changed (an UpstreamGroup's
//     weights, a Canary override, an Upstream's endpoints, a VirtualService's
//     routes) and no object's place in the whole changed (it stays accepted
//     or rejected, keeps its domains and the clusters it uses), only those
//     objects and what uses them are translated again: a weight change
//     rebuilds the virtual hosts of the routes using the group and the route
//     configurations holding them; an endpoints change rebuilds one
//     ClusterLoadAssignment and no route.
//
// Anything else (objects added or removed, a Gateway or Canary edited, an
// object becoming rejected) is a full translation, which still reuses
// every unchanged message. Objects are compared by pointer: the store hands
// out the same pointer for an unchanged object. Overrides and Endpoints are
// compared by content.
//
// The zero value is ready. A Translator is not safe for concurrent use, and
// its outputs, like Translate's, are read-only.
type Translator struct {
	in   *Input
	opts Options
	out  *Output
	c    *compiler // the last run's resolved objects, kept up to date by patches
	ir   *IR
	memo memo
	// clean is true when the last input's Upstreams, UpstreamGroups and
	// VirtualServices were sorted with no nil and no duplicate: then an
	// object's index is its identity and patches can work by index.
	clean bool
	// vsStage1 is, per VirtualService (index in c.vss), how many problems
	// of its report came from the VirtualService itself; the rest come from
	// its fleets (domains taken by another one).
	vsStage1 []int
	// users maps a group to the VirtualServices (indexes) whose routes name
	// it; built on first need after a full translation.
	users map[key][]int

	// Patched says whether the last Translate took the incremental path.
	Patched bool
}

// NewTranslator returns an empty Translator.
func NewTranslator() *Translator { return &Translator{} }

// Translate returns Translate(in, opts), reusing the previous run's work.
func (t *Translator) Translate(in *Input, opts Options) *Output {
	if in == nil {
		in = &Input{}
	}
	if t.out != nil && t.patch(in, opts) {
		t.Patched = true
		return t.out
	}
	t.Patched = false
	t.full(in, opts)
	return t.out
}

// full is BuildIR and Emit, remembering what the patch path needs.
func (t *Translator) full(in *Input, opts Options) {
	c := newCompiler(in, opts)
	c.compileUpstreams()
	c.compileGroups()
	c.compileCanaries()
	c.compileVirtualServices()
	stage1 := make([]int, len(c.vss))
	for i, v := range c.vss {
		stage1[i] = len(c.rep.list[v.rep].Problems)
	}
	c.compileGateways()
	ir := c.assembleFleets()
	reports := c.rep.reports()
	fleets := t.memo.emitAll(ir)
	*t = Translator{
		in: in, opts: opts, c: c, ir: ir, memo: t.memo,
		out:      &Output{Fleets: fleets, Reports: reports},
		clean:    clean(in.Upstreams) && clean(in.UpstreamGroups) && clean(in.VirtualServices),
		vsStage1: stage1,
	}
}

// clean reports whether a kind's objects are sorted, without nil or
// duplicates, as a store read gives them.
func clean[T any, P interface {
	*T
	GetNamespace() string
	GetName() string
}](list []P) bool {
	for i, o := range list {
		if o == nil {
			return false
		}
		if i > 0 && compareKeys(objKey(list[i-1]), objKey(o)) >= 0 {
			return false
		}
	}
	return true
}

func objKey[P interface {
	GetNamespace() string
	GetName() string
}](o P) key {
	return key{nsOf(o.GetNamespace()), o.GetName()}
}

func compareKeys(a, b key) int {
	if c := strings.Compare(a.ns, b.ns); c != 0 {
		return c
	}
	return strings.Compare(a.name, b.name)
}

// changedIndexes compares a kind's objects with the last input's by index.
// It returns the indexes whose pointer changed, or false when objects were
// added, removed or renamed.
func changedIndexes[T any, P interface {
	*T
	GetNamespace() string
	GetName() string
}](now, before []P) ([]int, bool) {
	if len(now) != len(before) {
		return nil, false
	}
	var out []int
	for i := range now {
		if now[i] == before[i] {
			continue
		}
		if now[i] == nil || objKey(now[i]) != objKey(before[i]) {
			return nil, false
		}
		out = append(out, i)
	}
	return out, true
}

// indexOf finds the object with key k in a clean list.
func indexOf[T any, P interface {
	*T
	GetNamespace() string
	GetName() string
}](list []P, k key) (int, bool) {
	return sort.Find(len(list), func(i int) int { return compareKeys(k, objKey(list[i])) })
}

// parseKey splits "namespace/name".
func parseKey(s string) key {
	ns, name, _ := strings.Cut(s, "/")
	return key{ns, name}
}

func sameOverride(a, b GroupOverride) bool {
	return a.Canary == b.Canary && maps.Equal(a.Weights, b.Weights) &&
		(a.Mirror == b.Mirror || (a.Mirror != nil && b.Mirror != nil && *a.Mirror == *b.Mirror))
}

// addIndex adds i to a sorted set of indexes.
func addIndex(set []int, i int) []int {
	j, found := slices.BinarySearch(set, i)
	if found {
		return set
	}
	return slices.Insert(set, j, i)
}

// changedUpstreams returns the indexes of Upstreams whose object or
// endpoints changed.
func (t *Translator) changedUpstreams(in *Input) ([]int, bool) {
	cu, ok := changedIndexes(in.Upstreams, t.in.Upstreams)
	if !ok {
		return nil, false
	}
	mark := func(id string) {
		if i, found := indexOf(in.Upstreams, parseKey(id)); found {
			cu = addIndex(cu, i)
		}
	}
	for id, eps := range in.Endpoints {
		if old, had := t.in.Endpoints[id]; !had || !slices.Equal(eps, old) {
			mark(id)
		}
	}
	for id := range t.in.Endpoints {
		if _, has := in.Endpoints[id]; !has {
			mark(id)
		}
	}
	return cu, true
}

// changedGroups returns the indexes of UpstreamGroups whose object or
// override changed.
func (t *Translator) changedGroups(in *Input) ([]int, bool) {
	cg, ok := changedIndexes(in.UpstreamGroups, t.in.UpstreamGroups)
	if !ok {
		return nil, false
	}
	mark := func(id string) {
		if i, found := indexOf(in.UpstreamGroups, parseKey(id)); found {
			cg = addIndex(cg, i)
		}
	}
	for id, ov := range in.Overrides {
		if old, had := t.in.Overrides[id]; !had || !sameOverride(ov, old) {
			mark(id)
		}
	}
	for id := range t.in.Overrides {
		if _, has := in.Overrides[id]; !has {
			mark(id)
		}
	}
	return cg, true
}

// scratch points the compiler's reporter at a fresh one-report reporter for
// recompiling one object; done returns that report's problems and restores
// the reporter.
func (c *compiler) scratch(ref ident.Ref) (done func() []Problem) {
	saved := c.rep
	c.rep = newReporter(1)
	c.rep.open(ref)
	return func() []Problem {
		ps := c.rep.list[0].Problems
		c.rep = saved
		return ps
	}
}

// redo is one object compiled again, waiting to be committed.
type redo struct {
	ref      ident.Ref
	problems []Problem
	vs       int // index in c.vss for a VirtualService, else -1
}

// patch updates the last output for an input that differs from the last one
// only in the contents of existing objects. It returns false, changing
// nothing that a full translation relies on, when the change is more than
// that.
func (t *Translator) patch(in *Input, opts Options) bool {
	if opts != t.opts || !t.clean ||
		!slices.Equal(in.Gateways, t.in.Gateways) || !slices.Equal(in.Canaries, t.in.Canaries) {
		return false
	}
	cu, ok := t.changedUpstreams(in)
	if !ok {
		return false
	}
	cg, ok := t.changedGroups(in)
	if !ok {
		return false
	}
	cv, ok := changedIndexes(in.VirtualServices, t.in.VirtualServices)
	if !ok {
		return false
	}
	if len(cu) == 0 && len(cg) == 0 && len(cv) == 0 {
		t.in = in
		return true
	}
	c := t.c
	c.in = in
	var redos []redo

	// Upstreams: a changed one must stay accepted or rejected, since that
	// is all that groups and routes see of it.
	newClusters := make([]*Cluster, 0, len(cu))
	upEntries := make([]*upstreamEntry, 0, len(cu))
	for _, i := range cu {
		u := in.Upstreams[i]
		e := c.upstreams[objKey(u)]
		ne := &upstreamEntry{key: e.key, ref: e.ref}
		done := c.scratch(e.ref)
		c.compileUpstream(ne, u, 0)
		ps := done()
		if (ne.cluster == nil) != (e.cluster == nil) {
			return false
		}
		redos = append(redos, redo{ref: e.ref, problems: ps, vs: -1})
		newClusters = append(newClusters, ne.cluster)
		upEntries = append(upEntries, e)
	}

	// Groups: a changed one must stay accepted or rejected, split over the
	// same clusters with the same mirror cluster; only weights, shares and
	// warnings may move. Their VirtualServices are compiled again below.
	saved := c.referenced
	c.referenced = map[string]*Cluster{} // the same names as before, checked
	type groupRedo struct{ old, now *groupEntry }
	var groups []groupRedo
	for _, i := range cg {
		g := in.UpstreamGroups[i]
		e := c.groups[objKey(g)]
		ne := &groupEntry{key: e.key, ref: e.ref}
		done := c.scratch(e.ref)
		c.compileGroup(ne, g, 0)
		ps := done()
		if !sameGroupShape(e, ne) {
			c.referenced = saved
			return false
		}
		redos = append(redos, redo{ref: e.ref, problems: ps, vs: -1})
		groups = append(groups, groupRedo{e, ne})
	}
	vss := cv
	if len(groups) > 0 {
		t.indexUsers()
		for _, g := range groups {
			for _, i := range t.users[g.old.key] {
				vss = addIndex(vss, i)
			}
		}
	}
	// Routes read the groups' new splits through c.groups: swap them in,
	// and back out if the patch fails.
	for _, g := range groups {
		c.groups[g.old.key] = g.now
	}
	undo := func() {
		for _, g := range groups {
			c.groups[g.old.key] = g.old
		}
		c.referenced = saved
	}

	// VirtualServices: a changed one must keep its acceptance, domains,
	// origins and the clusters its routes use; only route contents move.
	vsNew := make([]*vsEntry, 0, len(vss))
	for _, i := range vss {
		vs := in.VirtualServices[i]
		e := c.vss[i]
		ne := &vsEntry{key: e.key, ref: e.ref, name: e.name}
		done := c.scratch(e.ref)
		c.compileVirtualService(ne, vs)
		ps := done()
		if ne.ok != e.ok || !slices.Equal(ne.domains, e.domains) || !slices.Equal(ne.origins, e.origins) ||
			!slices.Equal(clustersUsed(ne.routes), clustersUsed(e.routes)) {
			undo()
			return false
		}
		ne.rep = e.rep
		redos = append(redos, redo{ref: e.ref, problems: ps, vs: i})
		vsNew = append(vsNew, ne)
	}
	c.referenced = saved

	// Commit. From here on nothing fails.
	p := newPatcher(t)
	for j, e := range upEntries {
		e.cluster = newClusters[j]
		if e.cluster != nil {
			p.cluster(e.cluster)
		}
	}
	for _, g := range groups {
		*g.old = *g.now
		c.groups[g.old.key] = g.old
	}
	for j, i := range vss {
		e := c.vss[i]
		*e = *vsNew[j]
		if e.ok {
			p.virtualService(e)
		}
	}
	p.finishRoutes()
	t.in = in
	t.out = &Output{Fleets: p.fleets, Reports: t.patchReports(redos)}
	return true
}

// sameGroupShape reports whether a group compiled again is still what the
// rest of the configuration saw: accepted or not, the same clusters in the
// same order, the same mirror cluster.
func sameGroupShape(a, b *groupEntry) bool {
	if a.ok != b.ok || len(a.clusters) != len(b.clusters) || (a.mirror == nil) != (b.mirror == nil) {
		return false
	}
	for i := range a.clusters {
		if a.clusters[i].Name != b.clusters[i].Name {
			return false
		}
	}
	return a.mirror == nil || a.mirror.Cluster == b.mirror.Cluster
}

// clustersUsed lists, in order, the clusters routes send or mirror to: what
// decides a fleet's clusters.
func clustersUsed(routes []*Route) []string {
	var out []string
	for _, r := range routes {
		if r.Direct != nil {
			out = append(out, "") // a direct route uses none, but keep the shape
			continue
		}
		for _, wc := range r.Clusters {
			out = append(out, wc.Name)
		}
		out = append(out, "|")
		for _, m := range r.Mirrors {
			out = append(out, m.Cluster)
		}
		out = append(out, "|")
	}
	return out
}

// indexUsers builds the map from a group to the VirtualServices naming it
// (their origins after the first).
func (t *Translator) indexUsers() {
	if t.users != nil {
		return
	}
	t.users = make(map[key][]int)
	for i, v := range t.c.vss {
		for _, o := range v.origins[min(1, len(v.origins)):] {
			if o.Kind == v1alpha1.KindUpstreamGroup {
				k := key{o.Namespace, o.Name}
				t.users[k] = append(t.users[k], i)
			}
		}
	}
}

// patchReports returns the last reports with those of the recompiled
// objects replaced. A VirtualService keeps the problems its fleets found
// (domains taken), which did not change.
func (t *Translator) patchReports(redos []redo) []Report {
	reports := slices.Clone(t.out.Reports)
	for _, r := range redos {
		i, found := sort.Find(len(reports), func(i int) int { return refCompare(r.ref, reports[i].Ref) })
		if !found {
			continue // cannot happen: every object has a report
		}
		rep := newReporter(1)
		rep.open(r.ref)
		for _, p := range r.problems {
			rep.add(0, p.Severity, p.Field, p.Message)
		}
		if r.vs >= 0 {
			n := len(rep.list[0].Problems)
			for _, p := range reports[i].Problems[t.vsStage1[r.vs]:] {
				rep.add(0, p.Severity, p.Field, p.Message)
			}
			t.vsStage1[r.vs] = n
		}
		reports[i] = rep.reports()[0]
	}
	return reports
}
