package snapshot

import (
	"sort"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/serin-dev/serin/translator"
)

// Check is a consistency check stronger than go-control-plane's
// Snapshot.Consistent(), which only compares counts of named EDS/RDS
// resources: here every reference must resolve.
//
//   - every cluster a route names (route action cluster, weighted_clusters,
//     request_mirror_policies on routes, virtual hosts and route configs, in
//     RDS or inline in an HCM) is a served cluster;
//   - every EDS cluster's service name (or its own name) has a served
//     ClusterLoadAssignment;
//   - every HCM that takes routes over RDS names a served route
//     configuration.
//
// It returns nil or one error per dangling reference, joined.
func Check(res *translator.Resources) error {
	return newChecker().check(res)
}

// Check runs the consistency check over what the snapshot serves.
func (s *Snapshot) Check() error {
	res := &translator.Resources{}
	for _, r := range s.Resources(KindCluster) {
		res.Clusters = append(res.Clusters, r.Message.(*clusterv3.Cluster))
	}
	for _, r := range s.Resources(KindEndpoint) {
		res.Endpoints = append(res.Endpoints, r.Message.(*endpointv3.ClusterLoadAssignment))
	}
	for _, r := range s.Resources(KindListener) {
		res.Listeners = append(res.Listeners, r.Message.(*listenerv3.Listener))
	}
	for _, r := range s.Resources(KindRoute) {
		res.Routes = append(res.Routes, r.Message.(*routev3.RouteConfiguration))
	}
	return newChecker().check(res)
}

// RouteClusters returns the sorted, distinct cluster names a route
// configuration names: route actions, weighted clusters and request mirrors.
func RouteClusters(rc *routev3.RouteConfiguration) []string {
	set := map[string]bool{}
	mirrors := func(ps []*routev3.RouteAction_RequestMirrorPolicy) {
		for _, p := range ps {
			set[p.GetCluster()] = true
		}
	}
	mirrors(rc.GetRequestMirrorPolicies())
	for _, vh := range rc.GetVirtualHosts() {
		mirrors(vh.GetRequestMirrorPolicies())
		for _, rt := range vh.GetRoutes() {
			a := rt.GetRoute()
			if a == nil {
				continue
			}
			if c := a.GetCluster(); c != "" {
				set[c] = true
			}
			for _, w := range a.GetWeightedClusters().GetClusters() {
				set[w.GetName()] = true
			}
			mirrors(a.GetRequestMirrorPolicies())
		}
	}
	delete(set, "")
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ListenerHCMs returns the HTTP connection managers of a listener: the API
// listener's, and every HCM network filter in its filter chains.
func ListenerHCMs(l *listenerv3.Listener) []*hcmv3.HttpConnectionManager {
	var out []*hcmv3.HttpConnectionManager
	decode := func(a *anypb.Any) {
		h := &hcmv3.HttpConnectionManager{}
		if a != nil && a.MessageIs(h) && a.UnmarshalTo(h) == nil {
			out = append(out, h)
		}
	}
	decode(l.GetApiListener().GetApiListener())
	chains := append([]*listenerv3.FilterChain{}, l.GetFilterChains()...)
	if d := l.GetDefaultFilterChain(); d != nil {
		chains = append(chains, d)
	}
	for _, fc := range chains {
		for _, f := range fc.GetFilters() {
			decode(f.GetTypedConfig())
		}
	}
	return out
}
