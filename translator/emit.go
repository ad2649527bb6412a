package translator

import (
	"sort"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
)

// Origin key prefixes of Resources.Origins.
const (
	originCluster  = "cluster/"
	originEndpoint = "endpoint/"
	originListener = "listener/"
	originRoute    = "route/"
)

// Emit turns an IR into Envoy resources per fleet. It is a pure function of
// the IR. Messages may be shared between resources and fleets (a cluster
// served to two fleets is one message): treat the result as immutable.
func Emit(ir *IR) map[string]*Resources {
	out := make(map[string]*Resources, len(ir.Fleets))
	clusters := make(map[*Cluster]*clusterv3.Cluster)
	endpoints := make(map[*Cluster]*endpointv3.ClusterLoadAssignment)
	origins := make(map[*Cluster][]ObjectRef)
	for _, f := range ir.Fleets {
		out[f.Name] = emitFleet(f, clusters, endpoints, origins)
	}
	return out
}

func emitFleet(f *Fleet, clusters map[*Cluster]*clusterv3.Cluster, endpoints map[*Cluster]*endpointv3.ClusterLoadAssignment, origins map[*Cluster][]ObjectRef) *Resources {
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
		Origins:      make(map[string][]ObjectRef, 2*len(f.Clusters)+2*len(f.Listeners)+2*nAPI),
	}
	for _, c := range f.Clusters {
		pb, ok := clusters[c]
		if !ok {
			pb, endpoints[c], origins[c] = buildCluster(c), buildEndpoints(c), []ObjectRef{c.Upstream}
			clusters[c] = pb
		}
		r.Clusters = append(r.Clusters, pb)
		r.Endpoints = append(r.Endpoints, endpoints[c])
		r.Origins[originCluster+c.Name] = origins[c]
		r.Origins[originEndpoint+c.Name] = origins[c]
	}

	// Each virtual host is built once per fleet and shared by the Gateway
	// route configurations and its API listeners' ones.
	vhs := make(map[*VirtualHost]*routev3.VirtualHost, len(f.VirtualHosts))
	for _, vh := range f.VirtualHosts {
		pb := buildVirtualHost(vh)
		vhs[vh] = pb
		for _, d := range vh.APIListeners {
			r.APIListeners = append(r.APIListeners, buildAPIListener(d))
			r.Routes = append(r.Routes, buildRouteConfig(d, []*routev3.VirtualHost{pb}))
			r.Origins[originListener+d] = vh.Origins[:1:1]
			r.Origins[originRoute+d] = vh.Origins
		}
	}
	for _, l := range f.Listeners {
		r.Listeners = append(r.Listeners, buildListener(l))
		built := make([]*routev3.VirtualHost, len(l.VirtualHosts))
		for i, vh := range l.VirtualHosts {
			built[i] = vhs[vh]
		}
		r.Routes = append(r.Routes, buildRouteConfig(l.Name, built))
		r.Origins[originListener+l.Name] = []ObjectRef{l.Gateway}
		r.Origins[originRoute+l.Name] = listenerOrigins(l)
	}
	sort.Slice(r.APIListeners, func(i, j int) bool { return r.APIListeners[i].Name < r.APIListeners[j].Name })
	sort.Slice(r.Routes, func(i, j int) bool { return r.Routes[i].Name < r.Routes[j].Name })
	return r
}

// listenerOrigins are the objects a Gateway's route configuration comes
// from: its virtual hosts' VirtualServices and groups, sorted, once each.
func listenerOrigins(l *Listener) []ObjectRef {
	n := 0
	for _, vh := range l.VirtualHosts {
		n += len(vh.Origins)
	}
	out := make([]ObjectRef, 0, n)
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
