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

// buildSingleRouteConfig makes an API listener's RouteConfiguration, which
// holds one virtual host, in one allocation.
func buildSingleRouteConfig(name string, vh *routev3.VirtualHost) *routev3.RouteConfiguration {
	b := &struct {
		rc  routev3.RouteConfiguration
		vhs [1]*routev3.VirtualHost
	}{}
	b.vhs[0] = vh
	b.rc.Name, b.rc.VirtualHosts = name, b.vhs[:]
	return &b.rc
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
	routes := make([]routev3.Route, len(r.Matches))
	for i := range r.Matches {
		rt := &routes[i]
		rt.Name, rt.Match = r.Name, buildMatch(&r.Matches[i])
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
	b := &struct {
		ra       routev3.RouteAction
		weighted routev3.RouteAction_WeightedClusters
		wc       routev3.WeightedCluster
	}{}
	ra := &b.ra
	if r.Weighted {
		weights := make([]routev3.WeightedCluster_ClusterWeight, len(r.Clusters))
		ws := make([]*routev3.WeightedCluster_ClusterWeight, len(r.Clusters))
		for i, c := range r.Clusters {
			weights[i].Name, weights[i].Weight = c.Name, u32v(c.Weight)
			ws[i] = &weights[i]
		}
		b.wc.Clusters = ws
		if r.UseHashPolicy {
			b.wc.RandomValueSpecifier = &routev3.WeightedCluster_UseHashPolicy{UseHashPolicy: wrapperspb.Bool(true)}
		}
		b.weighted.WeightedClusters = &b.wc
		ra.ClusterSpecifier = &b.weighted
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
		type mirrorBlock struct {
			policy   routev3.RouteAction_RequestMirrorPolicy
			fraction corev3.RuntimeFractionalPercent
			percent  typev3.FractionalPercent
		}
		blocks := make([]mirrorBlock, len(r.Mirrors))
		ra.RequestMirrorPolicies = make([]*routev3.RouteAction_RequestMirrorPolicy, len(r.Mirrors))
		for i, m := range r.Mirrors {
			b := &blocks[i]
			b.percent.Numerator, b.percent.Denominator = m.PerMillion, typev3.FractionalPercent_MILLION
			b.fraction.DefaultValue = &b.percent
			b.policy.Cluster, b.policy.RuntimeFraction = m.Cluster, &b.fraction
			ra.RequestMirrorPolicies[i] = &b.policy
		}
	}
	ra.HashPolicy = buildHashPolicies(r.HashPolicies)
	return ra
}
