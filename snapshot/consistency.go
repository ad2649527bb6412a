package snapshot

import (
	"errors"
	"fmt"
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
	listeners := append(append([]*listenerv3.Listener{}, res.Listeners...), res.APIListeners...)
	return check(res.Clusters, res.Endpoints, listeners, res.Routes)
}

// Check runs the consistency check over what the snapshot serves.
func (s *Snapshot) Check() error {
	var (
		cs []*clusterv3.Cluster
		es []*endpointv3.ClusterLoadAssignment
		ls []*listenerv3.Listener
		rs []*routev3.RouteConfiguration
	)
	for _, r := range s.Resources(KindCluster) {
		cs = append(cs, r.Message.(*clusterv3.Cluster))
	}
	for _, r := range s.Resources(KindEndpoint) {
		es = append(es, r.Message.(*endpointv3.ClusterLoadAssignment))
	}
	for _, r := range s.Resources(KindListener) {
		ls = append(ls, r.Message.(*listenerv3.Listener))
	}
	for _, r := range s.Resources(KindRoute) {
		rs = append(rs, r.Message.(*routev3.RouteConfiguration))
	}
	return check(cs, es, ls, rs)
}

func check(cs []*clusterv3.Cluster, es []*endpointv3.ClusterLoadAssignment, ls []*listenerv3.Listener, rs []*routev3.RouteConfiguration) error {
	clusters := map[string]bool{}
	for _, c := range cs {
		clusters[c.GetName()] = true
	}
	assignments := map[string]bool{}
	for _, e := range es {
		assignments[e.GetClusterName()] = true
	}
	routes := map[string]bool{}
	for _, r := range rs {
		routes[r.GetName()] = true
	}
	var errs []error
	for _, c := range cs {
		if c.GetType() != clusterv3.Cluster_EDS {
			continue
		}
		name := c.GetEdsClusterConfig().GetServiceName()
		if name == "" {
			name = c.GetName()
		}
		if !assignments[name] {
			errs = append(errs, fmt.Errorf("cluster %q uses EDS name %q, which is not served", c.GetName(), name))
		}
	}
	checkRoutes := func(where string, rc *routev3.RouteConfiguration) {
		for _, name := range RouteClusters(rc) {
			if !clusters[name] {
				errs = append(errs, fmt.Errorf("%s names cluster %q, which is not served", where, name))
			}
		}
	}
	for _, r := range rs {
		checkRoutes(fmt.Sprintf("route configuration %q", r.GetName()), r)
	}
	for _, l := range ls {
		for _, h := range listenerHCMs(l) {
			if rds := h.GetRds(); rds != nil && !routes[rds.GetRouteConfigName()] {
				errs = append(errs, fmt.Errorf("listener %q takes route configuration %q over RDS, which is not served", l.GetName(), rds.GetRouteConfigName()))
			}
			if rc := h.GetRouteConfig(); rc != nil {
				checkRoutes(fmt.Sprintf("listener %q (inline routes)", l.GetName()), rc)
			}
		}
	}
	return errors.Join(errs...)
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

// listenerHCMs returns the HTTP connection managers of a listener: the API
// listener's, and every HCM network filter in its filter chains.
func listenerHCMs(l *listenerv3.Listener) []*hcmv3.HttpConnectionManager {
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
