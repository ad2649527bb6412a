package translator

import (
	"slices"
	"strconv"
	"strings"

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
	used := map[string]bool{}
	var defaultFleet *fleetLayout
	for _, n := range names {
		f := t.layFleet(lay, n, byFleet[n], used)
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

// layFleet lays out one fleet: its virtual hosts with duplicate domains
// dropped, its listeners, and the clusters its routes use (noted in used).
func (t *Translator) layFleet(lay *layout, name string, gws []*gatewayEntry, used map[string]bool) *fleetLayout {
	f := &fleetLayout{name: name}
	// The fleet's VirtualServices, each once, in namespace/name order: the
	// first one to claim a domain keeps it.
	var vss []*vsCell
	if len(gws) == 1 {
		vss = gws[0].vss
	} else {
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
	}
	listenerNames := make(map[string]bool, len(gws))
	for _, g := range gws {
		listenerNames[ident.ListenerName(g.key)] = true
	}
	owner := make(map[string]*vsCell, len(vss))
	slot := make(map[*vsCell]int, len(vss))
	for _, v := range vss {
		if h := lay.host(name, v, owner, listenerNames); h != nil {
			f.hosts = append(f.hosts, h)
		}
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

// host places a VirtualService in one fleet. A domain an earlier
// VirtualService (by namespace/name) already serves in the fleet is dropped
// with a Warning, since Envoy NACKs a route configuration with a duplicate
// domain; with no domain left the VirtualService is not served in the
// fleet and is Rejected.
func (lay *layout) host(fleet string, v *vsCell, owner map[string]*vsCell, listenerNames map[string]bool) *hostSlot {
	problem := func(sev v1alpha1.State, msg string) {
		p := problems{list: lay.vsProblems[v.key]}
		p.add(sev, "spec.virtualHost.domains", msg)
		lay.vsProblems[v.key] = p.list
	}
	domains := v.res.domains
	kept := domains
	for i, d := range domains {
		l := strings.ToLower(d)
		if o, taken := owner[l]; taken && o != v {
			if len(kept) == len(domains) { // first drop: copy before filtering
				kept = append(make([]string, 0, len(domains)), domains[:i]...)
			}
			problem(v1alpha1.StateWarning, "domain "+strconv.Quote(d)+" is already served by VirtualService "+
				o.key.String()+" in fleet "+fleet+"; dropped here")
			continue
		}
		owner[l] = v
		if len(kept) != len(domains) {
			kept = append(kept, d)
		}
	}
	if len(kept) == 0 {
		problem(v1alpha1.StateRejected, "every domain is already served by another VirtualService in fleet "+fleet)
		return nil
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
