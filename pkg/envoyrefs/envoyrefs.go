// Package envoyrefs reads what an Envoy resource names out of its protos:
// the clusters a route configuration sends to, the HTTP connection managers
// of a listener. A client (and a test standing in for one) has only the
// protos, so it walks them; serin itself never does: its translator hands
// what each resource names forward (translator.Needs), and tests compare
// the two.
package envoyrefs

import (
	"sort"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

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
