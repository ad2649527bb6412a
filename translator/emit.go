package translator

import (
	"slices"
	"sort"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/serin-dev/serin/pkg/ident"
)

// Emit turns an IR into Envoy resources per fleet. It is a pure function of
// the IR. Messages may be shared between resources and fleets (a cluster
// served to two fleets is one message): treat the result as immutable.
func Emit(ir *IR) map[string]*Resources { return emit(ir, nil) }

// emit is Emit taking unchanged messages from m when it is not nil (see
// memo in incremental_emit.go).
func emit(ir *IR, m *memo) map[string]*Resources {
	out := make(map[string]*Resources, len(ir.Fleets))
	n := 0
	for _, f := range ir.Fleets {
		n += len(f.Clusters)
	}
	built := make(map[*Cluster]*builtCluster, n)
	for _, f := range ir.Fleets {
		out[f.Name] = emitFleet(f, built, m)
	}
	return out
}

// builtCluster is a cluster's messages, built once for all fleets.
type builtCluster struct {
	cluster   *clusterv3.Cluster
	endpoints *endpointv3.ClusterLoadAssignment
	origin    [1]ident.Ref
}

func emitFleet(f *Fleet, built map[*Cluster]*builtCluster, m *memo) *Resources {
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
	r.Origins = make(map[ident.Resource][]ident.Ref, 2*len(f.Clusters)+2*len(f.Listeners)+2*nAPI)
	r.Needs = make(map[ident.Resource]Needs, 2*len(f.Listeners)+2*nAPI)
	add := func(t ident.Type, name string, refs []ident.Ref) {
		r.Origins[ident.Resource{Type: t, Name: name}] = refs
	}
	need := func(t ident.Type, name string, n Needs) {
		r.Needs[ident.Resource{Type: t, Name: name}] = n
	}

	for _, c := range f.Clusters {
		b, ok := built[c]
		if !ok {
			b = m.cluster(c)
			built[c] = b
		}
		r.Clusters = append(r.Clusters, b.cluster)
		r.Endpoints = append(r.Endpoints, b.endpoints)
		add(ident.Cluster, c.Name, b.origin[:])
		add(ident.Endpoint, c.Name, b.origin[:])
	}

	// Each virtual host is built once per fleet and shared by the Gateway
	// route configurations and its API listeners' ones.
	vhs := make([]*routev3.VirtualHost, len(f.VirtualHosts))
	for i, vh := range f.VirtualHosts {
		pb := m.virtualHost(f.Name, vh)
		vhs[i] = pb
		for _, d := range vh.APIListeners {
			r.APIListeners = append(r.APIListeners, m.apiListener(d))
			r.Routes = append(r.Routes, m.singleRouteConfig(f.Name, d, pb))
			add(ident.Listener, d, vh.Origins[:1:1])
			add(ident.Route, d, vh.Origins)
			need(ident.Listener, d, Needs{Routes: []string{d}})
			need(ident.Route, d, clusterNeeds(vh))
		}
	}
	for _, l := range f.Listeners {
		r.Listeners = append(r.Listeners, m.listener(f.Name, l))
		// Both lists are sorted by name: walk them together.
		vs := make([]*routev3.VirtualHost, len(l.VirtualHosts))
		j := 0
		for i, vh := range l.VirtualHosts {
			for f.VirtualHosts[j] != vh {
				j++
			}
			vs[i] = vhs[j]
		}
		r.Routes = append(r.Routes, m.routeConfig(f.Name, l.Name, vs))
		add(ident.Listener, l.Name, []ident.Ref{l.Gateway})
		add(ident.Route, l.Name, listenerOrigins(l))
		need(ident.Listener, l.Name, Needs{Routes: []string{l.Name}})
		need(ident.Route, l.Name, clusterNeeds(l.VirtualHosts...))
	}
	sort.Slice(r.APIListeners, func(i, j int) bool { return r.APIListeners[i].Name < r.APIListeners[j].Name })
	sort.Slice(r.Routes, func(i, j int) bool { return r.Routes[i].Name < r.Routes[j].Name })
	return r
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
