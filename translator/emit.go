package translator

import (
	"slices"
	"sort"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/serin-dev/serin/pkg/ident"
	"google.golang.org/protobuf/proto"
)

// Emit turns an IR into Envoy resources per fleet. It is a pure function of
// the IR. Messages may be shared between resources and fleets (a cluster
// served to two fleets is one message): treat the result as immutable.
func Emit(ir *IR) map[string]*Resources {
	out := make(map[string]*Resources, len(ir.Fleets))
	shared := map[*Cluster]*builtCluster{}
	for _, f := range ir.Fleets {
		out[f.Name] = emitFleet(f, newFleetCache(len(f.Clusters), len(f.VirtualHosts), len(f.Listeners)), shared)
	}
	return out
}

// emit is Emit with the layout's caches: what was emitted from an IR value
// before is taken as it was.
func (lay *layout) emit(ir *IR) map[string]*Resources {
	out := make(map[string]*Resources, len(ir.Fleets))
	for i, f := range ir.Fleets {
		out[f.Name] = emitFleet(f, lay.fleets[i].cache, nil)
	}
	return out
}

// fleetCache is what was emitted for one fleet, index by index with the
// fleet's clusters, virtual hosts and listeners, each with the IR value it
// was built from. The IR values of a Translator change identity exactly
// when their content changes (layout.ir), so a cached message is reused
// while its IR value is the same. A cache lives as long as one layout of
// the fleet; the origins, needs and name order it keeps depend on nothing
// else.
type fleetCache struct {
	fleet     *Fleet
	out       *Resources
	clusters  []*builtCluster
	hosts     []*builtHost
	listeners []*builtListener
	origins   map[ident.Resource][]ident.Ref
	needs     map[ident.Resource]Needs
	// apiOrder and routeOrder sort the API listeners and route
	// configurations by name, as emitFleet first lists them.
	apiOrder, routeOrder []int
}

func newFleetCache(clusters, hosts, listeners int) *fleetCache {
	return &fleetCache{
		clusters:  make([]*builtCluster, clusters),
		hosts:     make([]*builtHost, hosts),
		listeners: make([]*builtListener, listeners),
	}
}

// builtCluster is a cluster's messages.
type builtCluster struct {
	ir        *Cluster
	cluster   *clusterv3.Cluster
	endpoints *endpointv3.ClusterLoadAssignment
	origin    [1]ident.Ref
}

// builtHost is a virtual host's message, with the API listeners and route
// configurations of its plain domains.
type builtHost struct {
	ir           *VirtualHost
	pb           *routev3.VirtualHost
	apiListeners []*listenerv3.Listener
	apiRoutes    []*routev3.RouteConfiguration
}

// builtListener is a Gateway's listener and its route configuration, with
// the virtual hosts it was built from.
type builtListener struct {
	name, address string
	port          uint32
	pb            *listenerv3.Listener
	vhs           []*routev3.VirtualHost
	rc            *routev3.RouteConfiguration
}

func emitFleet(f *Fleet, c *fleetCache, shared map[*Cluster]*builtCluster) *Resources {
	if c.fleet == f && c.out != nil {
		return c.out
	}
	nAPI := 0
	for _, vh := range f.VirtualHosts {
		nAPI += len(vh.APIListeners)
	}
	r := &Resources{
		Clusters:     make([]*clusterv3.Cluster, 0, len(f.Clusters)),
		Endpoints:    make([]*endpointv3.ClusterLoadAssignment, 0, len(f.Clusters)),
		Listeners:    make([]*listenerv3.Listener, 0, len(f.Listeners)),
		APIListeners: make([]*listenerv3.Listener, 0, nAPI),
		Routes:       make([]*routev3.RouteConfiguration, 0, len(f.Listeners)+nAPI),
	}
	for i, cl := range f.Clusters {
		b := c.cluster(i, cl, shared)
		r.Clusters = append(r.Clusters, b.cluster)
		r.Endpoints = append(r.Endpoints, b.endpoints)
	}
	// Each virtual host is built once per fleet and shared by the Gateway
	// route configurations and its API listeners' ones.
	vhs := make([]*routev3.VirtualHost, len(f.VirtualHosts))
	for i, vh := range f.VirtualHosts {
		h := c.host(i, vh)
		vhs[i] = h.pb
		r.APIListeners = append(r.APIListeners, h.apiListeners...)
		r.Routes = append(r.Routes, h.apiRoutes...)
	}
	for i, l := range f.Listeners {
		b := c.listener(i, l, f, vhs)
		r.Listeners = append(r.Listeners, b.pb)
		r.Routes = append(r.Routes, b.rc)
	}
	if c.apiOrder == nil || len(c.apiOrder) != len(r.APIListeners) || len(c.routeOrder) != len(r.Routes) {
		c.apiOrder = nameOrder(r.APIListeners, (*listenerv3.Listener).GetName)
		c.routeOrder = nameOrder(r.Routes, (*routev3.RouteConfiguration).GetName)
	}
	r.APIListeners = permute(r.APIListeners, c.apiOrder)
	r.Routes = permute(r.Routes, c.routeOrder)
	if c.origins == nil {
		c.origins, c.needs = fleetRefs(f)
	}
	r.Origins, r.Needs = c.origins, c.needs
	c.fleet, c.out = f, r
	return r
}

// cluster returns the messages of cluster i, building them when its IR
// changed. A rebuilt message equal to the old one is kept, so that an
// endpoints change leaves the Cluster message (and CDS) as it was.
func (c *fleetCache) cluster(i int, cl *Cluster, shared map[*Cluster]*builtCluster) *builtCluster {
	b := c.clusters[i]
	if b != nil && b.ir == cl {
		return b
	}
	nb := shared[cl]
	if nb == nil {
		nb = &builtCluster{ir: cl, cluster: buildCluster(cl), endpoints: buildEndpoints(cl), origin: [1]ident.Ref{cl.Upstream}}
		if b != nil && b.cluster.GetName() == cl.Name {
			if proto.Equal(b.cluster, nb.cluster) {
				nb.cluster = b.cluster
			}
			if proto.Equal(b.endpoints, nb.endpoints) {
				nb.endpoints = b.endpoints
			}
		}
		if shared != nil {
			shared[cl] = nb
		}
	}
	c.clusters[i] = nb
	return nb
}

// host returns the messages of virtual host i, building them when its IR
// changed.
func (c *fleetCache) host(i int, vh *VirtualHost) *builtHost {
	h := c.hosts[i]
	if h != nil && h.ir == vh {
		return h
	}
	nh := &builtHost{ir: vh, pb: buildVirtualHost(vh)}
	for j, d := range vh.APIListeners {
		var l *listenerv3.Listener
		if h != nil && j < len(h.apiListeners) && h.apiListeners[j].GetName() == d {
			l = h.apiListeners[j] // a function of the domain alone
		} else {
			l = buildAPIListener(d)
		}
		nh.apiListeners = append(nh.apiListeners, l)
		nh.apiRoutes = append(nh.apiRoutes, buildSingleRouteConfig(d, nh.pb))
	}
	c.hosts[i] = nh
	return nh
}

// listener returns the messages of listener i: the listener is built when
// its name or address moved, its route configuration when its virtual
// hosts did.
func (c *fleetCache) listener(i int, l *Listener, f *Fleet, vhs []*routev3.VirtualHost) *builtListener {
	// Both lists are sorted by name: walk them together.
	own := make([]*routev3.VirtualHost, len(l.VirtualHosts))
	j := 0
	for k, vh := range l.VirtualHosts {
		for f.VirtualHosts[j] != vh {
			j++
		}
		own[k] = vhs[j]
	}
	b := c.listeners[i]
	nb := &builtListener{name: l.Name, address: l.Address, port: l.Port, vhs: own}
	if b != nil && b.name == l.Name && b.address == l.Address && b.port == l.Port {
		nb.pb = b.pb
	} else {
		nb.pb = buildListener(l)
	}
	if b != nil && b.name == l.Name && slices.Equal(b.vhs, own) {
		nb.rc = b.rc
	} else {
		nb.rc = buildRouteConfig(l.Name, own)
	}
	c.listeners[i] = nb
	return nb
}

// nameOrder returns the permutation that sorts list by name.
func nameOrder[M any](list []M, name func(M) string) []int {
	order := make([]int, len(list))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return name(list[order[a]]) < name(list[order[b]]) })
	return order
}

func permute[M any](list []M, order []int) []M {
	out := make([]M, len(list))
	for i, j := range order {
		out[i] = list[j]
	}
	return out
}

// fleetRefs are a fleet's origins and needs.
func fleetRefs(f *Fleet) (map[ident.Resource][]ident.Ref, map[ident.Resource]Needs) {
	nAPI := 0
	for _, vh := range f.VirtualHosts {
		nAPI += len(vh.APIListeners)
	}
	origins := make(map[ident.Resource][]ident.Ref, 2*len(f.Clusters)+2*len(f.Listeners)+2*nAPI)
	needs := make(map[ident.Resource]Needs, 2*len(f.Listeners)+2*nAPI)
	add := func(t ident.Type, name string, refs []ident.Ref) {
		origins[ident.Resource{Type: t, Name: name}] = refs
	}
	need := func(t ident.Type, name string, n Needs) {
		needs[ident.Resource{Type: t, Name: name}] = n
	}
	ups := make([]ident.Ref, len(f.Clusters)) // one allocation for every cluster's origin
	for i, c := range f.Clusters {
		ups[i] = c.Upstream
		refs := ups[i : i+1 : i+1]
		add(ident.Cluster, c.Name, refs)
		add(ident.Endpoint, c.Name, refs)
	}
	for _, vh := range f.VirtualHosts {
		var n Needs
		if len(vh.APIListeners) > 0 {
			n = clusterNeeds(vh)
		}
		for _, d := range vh.APIListeners {
			add(ident.Listener, d, vh.Origins[:1:1])
			add(ident.Route, d, vh.Origins)
			need(ident.Listener, d, Needs{Routes: []string{d}})
			need(ident.Route, d, n)
		}
	}
	for _, l := range f.Listeners {
		add(ident.Listener, l.Name, []ident.Ref{l.Gateway})
		add(ident.Route, l.Name, listenerOrigins(l))
		need(ident.Listener, l.Name, Needs{Routes: []string{l.Name}})
		need(ident.Route, l.Name, clusterNeeds(l.VirtualHosts...))
	}
	return origins, needs
}

// clusterNeeds lists the clusters the hosts' routes send or mirror to;
// every serin cluster reads the ClusterLoadAssignment of its own name.
func clusterNeeds(vhs ...*VirtualHost) Needs {
	var names []string
	for _, vh := range vhs {
		for _, r := range vh.Routes {
			if r.Direct != nil {
				continue
			}
			for _, wc := range r.Clusters {
				names = append(names, wc.Name)
			}
			for _, m := range r.Mirrors {
				names = append(names, m.Cluster)
			}
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	return Needs{Clusters: names, Endpoints: names}
}

// listenerOrigins are the objects a Gateway's route configuration comes
// from: its virtual hosts' VirtualServices and groups, sorted, once each.
func listenerOrigins(l *Listener) []ident.Ref {
	n := 0
	for _, vh := range l.VirtualHosts {
		n += len(vh.Origins)
	}
	out := make([]ident.Ref, 0, n)
	for _, vh := range l.VirtualHosts {
		out = append(out, vh.Origins...)
	}
	sort.Slice(out, func(i, j int) bool { return refLess(out[i], out[j]) })
	w := 0
	for i := range out {
		if i == 0 || out[i] != out[w-1] {
			out[w] = out[i]
			w++
		}
	}
	return out[:w]
}
