package translator

import (
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// upCell is an Upstream's cell.
type upCell = cell[*v1alpha1.Upstream, upstreamResult]

// layout is where everything goes: per fleet, which VirtualServices it
// serves with which of their domains, its listeners and the clusters its
// routes use. It reads only shapes (cells.go), so it is laid out again only
// when one moved; a weight change keeps it, and layout.ir then only swaps in
// the virtual hosts whose routes changed.
type layout struct {
	fleets []*fleetLayout
	// vsProblems are the problems the fleets found with VirtualServices
	// (a domain another one serves), added to their reports.
	vsProblems map[ident.Key][]Problem
	// lost are, per fleet, the domains a VirtualService claims that an
	// older one holds (lower-cased): it is served without them.
	lost map[string]map[*vsCell]map[string]bool
}

type fleetLayout struct {
	name      string
	hosts     []*hostSlot // sorted by virtual host name
	listeners []*listenerSlot
	clusters  []*upCell // sorted by cluster name
	// fleet is the IR last built from this layout.
	fleet *Fleet
	// cache holds the messages emitted for it (emit.go).
	cache *fleetCache
}

// hostSlot is one VirtualService served in a fleet.
type hostSlot struct {
	vs           *vsCell
	name         string   // the virtual host's
	domains      []string // those left after duplicates across the fleet
	apiListeners []string
	// vh is the virtual host built at the VirtualService's content stamp.
	vh      *VirtualHost
	content uint64
}

type listenerSlot struct {
	gw    *gatewayEntry
	hosts []int // indexes in fleetLayout.hosts, in name order
}

// newLayout lays every fleet out from the accepted Gateways, reusing the
// previous layout's virtual hosts and messages where they still fit.
func (t *Translator) newLayout() *layout {
	byFleet := map[string][]*gatewayEntry{v1alpha1.DefaultFleet: nil}
	for _, g := range t.gateways {
		if g.ok {
			byFleet[g.fleet] = append(byFleet[g.fleet], g)
		}
	}
	names := make([]string, 0, len(byFleet))
	for n := range byFleet {
		names = append(names, n)
	}
	slices.Sort(names)

	lay := &layout{vsProblems: map[ident.Key][]Problem{}}
	served := make(map[string][]*vsCell, len(names))
	for _, n := range names {
		served[n] = fleetVSs(byFleet[n])
	}
	lay.claimDomains(names, served)
	used := map[string]bool{}
	var defaultFleet *fleetLayout
	for _, n := range names {
		f := t.layFleet(lay, n, byFleet[n], served[n], used)
		if n == v1alpha1.DefaultFleet {
			defaultFleet = f
		}
		lay.fleets = append(lay.fleets, f)
	}
	// A cluster that something references but no fleet's routes use (a
	// group no route names yet, a canary's upstreams) still exists, in the
	// default fleet, so that it is warm when a route starts using it.
	added := false
	for _, name := range t.referenced() {
		if !used[name] {
			used[name] = true
			if u := t.clusterCell(name); u != nil {
				defaultFleet.clusters = append(defaultFleet.clusters, u)
				added = true
			}
		}
	}
	if added {
		sortClusterCells(defaultFleet.clusters)
	}
	var old map[string]*fleetLayout
	if t.layout != nil {
		old = make(map[string]*fleetLayout, len(t.layout.fleets))
		for _, f := range t.layout.fleets {
			old[f.name] = f
		}
	}
	for _, f := range lay.fleets {
		f.cache = newFleetCache(len(f.clusters), len(f.hosts), len(f.listeners))
		if o := old[f.name]; o != nil {
			f.inherit(o)
		}
	}
	return lay
}

// referenced lists every cluster an object references, once each.
func (t *Translator) referenced() []string {
	var out []string
	for _, c := range t.groups.order {
		out = append(out, c.res.refs...)
	}
	for _, c := range t.canaries.order {
		out = append(out, c.res.refs...)
	}
	for _, c := range t.vss.order {
		out = append(out, c.res.refs...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// clusterCell is the accepted Upstream a cluster name was built from.
func (t *Translator) clusterCell(name string) *upCell {
	k, ok := ident.ParseClusterName(name)
	if !ok {
		return nil
	}
	u := t.ups.cells[k]
	if u == nil || u.res.cluster == nil {
		return nil
	}
	return u
}

func sortClusterCells(cs []*upCell) {
	slices.SortFunc(cs, func(a, b *upCell) int { return strings.Compare(a.res.cluster.Name, b.res.cluster.Name) })
}

// fleetVSs are the VirtualServices a fleet's Gateways serve, each once, in
// namespace/name order.
func fleetVSs(gws []*gatewayEntry) []*vsCell {
	if len(gws) == 1 {
		return gws[0].vss
	}
	var vss []*vsCell
	seen := make(map[*vsCell]bool)
	for _, g := range gws {
		for _, v := range g.vss {
			if !seen[v] {
				seen[v] = true
				vss = append(vss, v)
			}
		}
	}
	sortVSs(vss)
	return vss
}

// claimDomains settles who serves a domain that several VirtualServices
// claim in one fleet (Envoy NACKs a route configuration with a duplicate
// domain): the oldest claim (v1alpha1.OlderClaim) keeps it. A newer
// VirtualService is served without the domains older ones hold, with a
// Warning naming the holder; one left with no domain at all (a hijacker
// of a live domain) is Rejected and served in no fleet. So an edit that
// adds a taken domain to a live VirtualService costs it that domain, never
// the ones it served. VirtualServices are taken oldest first, so the
// holder named is always served. served loses the rejected ones.
func (lay *layout) claimDomains(fleets []string, served map[string][]*vsCell) {
	in := map[*vsCell][]string{} // the fleets each VirtualService is in
	var all []*vsCell
	for _, f := range fleets {
		for _, v := range served[f] {
			if in[v] == nil {
				all = append(all, v)
			}
			in[v] = append(in[v], f)
		}
	}
	if len(all) < 2 {
		return
	}
	slices.SortFunc(all, func(a, b *vsCell) int {
		switch {
		case a == b:
			return 0
		case olderVS(a, b):
			return -1
		}
		return 1
	})
	owner := make(map[string]map[string]*vsCell, len(fleets))
	for _, f := range fleets {
		owner[f] = map[string]*vsCell{}
	}
	var rejected map[*vsCell]bool
	for _, v := range all {
		var conflicts []Problem
		kept := 0
		for _, f := range in[v] {
			for i, d := range v.res.domains {
				o := owner[f][strings.ToLower(d)]
				if o == nil {
					kept++
					continue
				}
				where := ""
				if f != v1alpha1.DefaultFleet {
					where = " in fleet " + f
				}
				conflicts = append(conflicts, Problem{Field: "spec.virtualHost.domains[" + strconv.Itoa(v.res.domainAt[i]) + "]",
					Message: "domain " + strconv.Quote(d) + " is already served by VirtualService " + o.key.String() + where + " (the oldest claim wins)"})
				lay.lose(f, v, d)
			}
		}
		if len(conflicts) == 0 {
			lay.own(v, in[v], owner)
			continue
		}
		sev := v1alpha1.StateWarning
		if kept == 0 {
			sev = v1alpha1.StateRejected
			if rejected == nil {
				rejected = map[*vsCell]bool{}
			}
			rejected[v] = true
		}
		p := problems{list: lay.vsProblems[v.key]}
		for _, c := range conflicts {
			p.add(sev, c.Field, c.Message)
		}
		lay.vsProblems[v.key] = p.list
		if kept > 0 {
			lay.own(v, in[v], owner)
		}
	}
	if rejected == nil {
		return
	}
	for _, f := range fleets {
		if slices.ContainsFunc(served[f], func(v *vsCell) bool { return rejected[v] }) {
			served[f] = slices.DeleteFunc(slices.Clone(served[f]), func(v *vsCell) bool { return rejected[v] })
		}
	}
}

// own records v as the holder of the domains it keeps in its fleets.
func (lay *layout) own(v *vsCell, fleets []string, owner map[string]map[string]*vsCell) {
	for _, f := range fleets {
		for _, d := range v.res.domains {
			if d = strings.ToLower(d); owner[f][d] == nil {
				owner[f][d] = v
			}
		}
	}
}

// lose records that v is served in fleet f without domain d.
func (lay *layout) lose(f string, v *vsCell, d string) {
	if lay.lost == nil {
		lay.lost = map[string]map[*vsCell]map[string]bool{}
	}
	if lay.lost[f] == nil {
		lay.lost[f] = map[*vsCell]map[string]bool{}
	}
	if lay.lost[f][v] == nil {
		lay.lost[f][v] = map[string]bool{}
	}
	lay.lost[f][v][strings.ToLower(d)] = true
}

// olderVS is v1alpha1.OlderClaim on what the VirtualServices' cells hold.
func olderVS(a, b *vsCell) bool {
	return v1alpha1.OlderClaim(
		&metav1.ObjectMeta{Namespace: a.key.Namespace, Name: a.key.Name, CreationTimestamp: a.res.since},
		&metav1.ObjectMeta{Namespace: b.key.Namespace, Name: b.key.Name, CreationTimestamp: b.res.since})
}

// layFleet lays out one fleet: the virtual hosts of the VirtualServices it
// serves (vss, whose domains claimDomains made distinct), its listeners,
// and the clusters its routes use (noted in used).
func (t *Translator) layFleet(lay *layout, name string, gws []*gatewayEntry, vss []*vsCell, used map[string]bool) *fleetLayout {
	f := &fleetLayout{name: name}
	listenerNames := make(map[string]bool, len(gws))
	for _, g := range gws {
		listenerNames[ident.ListenerName(g.key)] = true
	}
	slot := make(map[*vsCell]int, len(vss))
	for _, v := range vss {
		f.hosts = append(f.hosts, lay.host(name, v, listenerNames))
	}
	slices.SortFunc(f.hosts, func(a, b *hostSlot) int { return strings.Compare(a.name, b.name) })
	for i, h := range f.hosts {
		slot[h.vs] = i
	}
	for _, g := range gws {
		l := &listenerSlot{gw: g}
		for _, v := range g.vss {
			if i, ok := slot[v]; ok {
				l.hosts = append(l.hosts, i)
			}
		}
		slices.Sort(l.hosts)
		f.listeners = append(f.listeners, l)
	}
	slices.SortFunc(f.listeners, func(a, b *listenerSlot) int {
		return strings.Compare(ident.ListenerName(a.gw.key), ident.ListenerName(b.gw.key))
	})
	mine := map[string]bool{}
	for _, h := range f.hosts {
		for _, r := range h.vs.res.routes {
			if r.Direct != nil {
				continue
			}
			for _, wc := range r.Clusters {
				t.use(f, wc.Name, mine, used)
			}
			for _, m := range r.Mirrors {
				t.use(f, m.Cluster, mine, used)
			}
		}
	}
	sortClusterCells(f.clusters)
	return f
}

func (t *Translator) use(f *fleetLayout, name string, mine, used map[string]bool) {
	if mine[name] {
		return
	}
	mine[name], used[name] = true, true
	if u := t.clusterCell(name); u != nil {
		f.clusters = append(f.clusters, u)
	}
}

// host places a VirtualService in one fleet.
func (lay *layout) host(fleet string, v *vsCell, listenerNames map[string]bool) *hostSlot {
	problem := func(sev v1alpha1.State, msg string) {
		p := problems{list: lay.vsProblems[v.key]}
		p.add(sev, "spec.virtualHost.domains", msg)
		lay.vsProblems[v.key] = p.list
	}
	kept := v.res.domains
	if lost := lay.lost[fleet][v]; len(lost) > 0 {
		kept = slices.DeleteFunc(slices.Clone(kept), func(d string) bool { return lost[strings.ToLower(d)] })
	}
	h := &hostSlot{vs: v, name: ident.VirtualHostName(v.key), domains: kept}
	for _, d := range kept {
		if v1alpha1.HasWildcard(d) {
			continue
		}
		if listenerNames[d] {
			problem(v1alpha1.StateWarning, "domain "+strconv.Quote(d)+" is the name of a Gateway listener in fleet "+fleet+"; no API listener for it")
			continue
		}
		h.apiListeners = append(h.apiListeners, ident.APIListenerName(d))
	}
	return h
}

// ir returns the IR of the current cells: the last one when nothing in it
// changed, else a new one that shares every unchanged virtual host and
// cluster with it.
func (lay *layout) ir() *IR {
	ir := &IR{Fleets: make([]*Fleet, len(lay.fleets))}
	for i, f := range lay.fleets {
		ir.Fleets[i] = f.ir()
	}
	return ir
}

func (f *fleetLayout) ir() *Fleet {
	changed := f.fleet == nil
	for _, h := range f.hosts {
		if h.vh == nil || h.content != h.vs.content {
			v := h.vs
			h.vh = &VirtualHost{
				Name: h.name, Domains: h.domains, Routes: v.res.routes,
				APIListeners: h.apiListeners, Origins: v.res.origins,
			}
			h.content, changed = v.content, true
		}
	}
	for i, u := range f.clusters {
		if !changed && f.fleet.Clusters[i] != u.res.cluster {
			changed = true
		}
	}
	if !changed {
		return f.fleet
	}
	fl := &Fleet{
		Name:         f.name,
		VirtualHosts: make([]*VirtualHost, len(f.hosts)),
		Clusters:     make([]*Cluster, len(f.clusters)),
		Listeners:    make([]*Listener, len(f.listeners)),
	}
	for i, h := range f.hosts {
		fl.VirtualHosts[i] = h.vh
	}
	for i, u := range f.clusters {
		fl.Clusters[i] = u.res.cluster
	}
	for i, l := range f.listeners {
		g := l.gw
		li := &Listener{Name: ident.ListenerName(g.key), Address: g.address, Port: g.port, Gateway: g.key.Ref(v1alpha1.KindGateway),
			VirtualHosts: make([]*VirtualHost, len(l.hosts))}
		for j, h := range l.hosts {
			li.VirtualHosts[j] = fl.VirtualHosts[h]
		}
		fl.Listeners[i] = li
	}
	f.fleet = fl
	return fl
}

// inherit takes from the previous layout of the same fleet the virtual
// hosts that are still the same, and the messages emitted for what is
// still there, so that a new layout rebuilds only what moved.
func (f *fleetLayout) inherit(o *fleetLayout) {
	hosts := make(map[*vsCell]int, len(o.hosts))
	for i, h := range o.hosts {
		hosts[h.vs] = i
	}
	for i, h := range f.hosts {
		j, ok := hosts[h.vs]
		if !ok {
			continue
		}
		p := o.hosts[j]
		if p.vh == nil || p.content != h.vs.content || !slices.Equal(p.domains, h.domains) || !slices.Equal(p.apiListeners, h.apiListeners) {
			continue
		}
		h.vh, h.content = p.vh, p.content
		f.cache.hosts[i] = o.cache.hosts[j]
	}
	clusters := make(map[*upCell]int, len(o.clusters))
	for i, u := range o.clusters {
		clusters[u] = i
	}
	for i, u := range f.clusters {
		if j, ok := clusters[u]; ok {
			f.cache.clusters[i] = o.cache.clusters[j]
		}
	}
	listeners := make(map[ident.Key]int, len(o.listeners))
	for i, l := range o.listeners {
		listeners[l.gw.key] = i
	}
	for i, l := range f.listeners {
		if j, ok := listeners[l.gw.key]; ok {
			f.cache.listeners[i] = o.cache.listeners[j]
		}
	}
}
