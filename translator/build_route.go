package translator

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// buildRouteConfig makes a RouteConfiguration from built virtual hosts.
func buildRouteConfig(name string, vhs []*routev3.VirtualHost) *routev3.RouteConfiguration {
	return &routev3.RouteConfiguration{Name: name, VirtualHosts: vhs}
}

// buildVirtualHost makes one virtual host; each IR route becomes one Envoy
// route per match, all sharing the route's action.
func buildVirtualHost(vh *VirtualHost) *routev3.VirtualHost {
	n := 0
	for _, r := range vh.Routes {
		n += len(r.Matches)
	}
	pb := &routev3.VirtualHost{Name: vh.Name, Domains: vh.Domains, Routes: make([]*routev3.Route, 0, n)}
	for _, r := range vh.Routes {
		pb.Routes = appendRoutes(pb.Routes, r)
	}
	return pb
}

func appendRoutes(out []*routev3.Route, r *Route) []*routev3.Route {
	var direct *routev3.Route_DirectResponse
	var forward *routev3.Route_Route
	if r.Direct != nil {
		direct = &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{
			Status: r.Direct.Status,
			Body:   &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: r.Direct.Body}},
		}}
	} else {
		forward = &routev3.Route_Route{Route: buildRouteAction(r)}
	}
	for i := range r.Matches {
		rt := &routev3.Route{Name: r.Name, Match: buildMatch(&r.Matches[i])}
		if direct != nil {
			rt.Action = direct
		} else {
			rt.Action = forward
		}
		out = append(out, rt)
	}
	return out
}

func buildRouteAction(r *Route) *routev3.RouteAction {
	ra := &routev3.RouteAction{}
	if r.Weighted {
		ws := make([]*routev3.WeightedCluster_ClusterWeight, 0, len(r.Clusters))
		for _, c := range r.Clusters {
			ws = append(ws, &routev3.WeightedCluster_ClusterWeight{Name: c.Name, Weight: wrapperspb.UInt32(c.Weight)})
		}
		ra.ClusterSpecifier = &routev3.RouteAction_WeightedClusters{WeightedClusters: &routev3.WeightedCluster{Clusters: ws}}
	} else if len(r.Clusters) > 0 {
		ra.ClusterSpecifier = &routev3.RouteAction_Cluster{Cluster: r.Clusters[0].Name}
	}
	if r.Timeout != nil {
		ra.Timeout = durationpb.New(*r.Timeout)
	}
	ra.RetryPolicy = buildRetry(r.Retry)
	if r.PrefixRewrite != nil {
		ra.PrefixRewrite = *r.PrefixRewrite
	}
	if len(r.Mirrors) > 0 {
		ra.RequestMirrorPolicies = make([]*routev3.RouteAction_RequestMirrorPolicy, 0, len(r.Mirrors))
		for _, m := range r.Mirrors {
			ra.RequestMirrorPolicies = append(ra.RequestMirrorPolicies, &routev3.RouteAction_RequestMirrorPolicy{
				Cluster: m.Cluster,
				RuntimeFraction: &corev3.RuntimeFractionalPercent{DefaultValue: &typev3.FractionalPercent{
					Numerator:   m.PerMillion,
					Denominator: typev3.FractionalPercent_MILLION,
				}},
			})
		}
	}
	ra.HashPolicy = buildHashPolicies(r.HashPolicies)
	return ra
}
