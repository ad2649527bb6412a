// Package snapshottest builds small, valid translator outputs by hand for the
// tests of snapshot and xds, so they do not depend on the translator.
package snapshottest

import (
	"fmt"
	"net"
	"strconv"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/serin-dev/serin/pkg/envoyrefs"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/translator"
)

func ads() *corev3.ConfigSource {
	return &corev3.ConfigSource{
		ResourceApiVersion:    corev3.ApiVersion_V3,
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
	}
}

// Cluster is an EDS cluster whose endpoints come over ADS.
func Cluster(name string) *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
		EdsClusterConfig:     &clusterv3.Cluster_EdsClusterConfig{EdsConfig: ads()},
		ConnectTimeout:       durationpb.New(time.Second),
		LbPolicy:             clusterv3.Cluster_ROUND_ROBIN,
	}
}

// Endpoints is a ClusterLoadAssignment with one locality ("local", weight 1)
// holding the given host:port addresses.
func Endpoints(cluster string, addrs ...string) *endpointv3.ClusterLoadAssignment {
	var lbs []*endpointv3.LbEndpoint
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			panic(fmt.Sprintf("snapshottest: bad address %q: %v", a, err))
		}
		p, _ := strconv.Atoi(port)
		lbs = append(lbs, &endpointv3.LbEndpoint{
			HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
				Address: socket(host, uint32(p)),
			}},
			LoadBalancingWeight: wrapperspb.UInt32(1),
		})
	}
	return &endpointv3.ClusterLoadAssignment{
		ClusterName: cluster,
		Endpoints: []*endpointv3.LocalityLbEndpoints{{
			Locality:            &corev3.Locality{Region: "local"},
			LbEndpoints:         lbs,
			LoadBalancingWeight: wrapperspb.UInt32(1),
		}},
	}
}

func socket(host string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address:       host,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}

func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic(err)
	}
	return a
}

// HCM is an HTTP connection manager taking route configuration routeName
// over RDS (ADS), with the router filter.
func HCM(routeName string) *hcmv3.HttpConnectionManager {
	return &hcmv3.HttpConnectionManager{
		StatPrefix: routeName,
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			ConfigSource:    ads(),
			RouteConfigName: routeName,
		}},
		HttpFilters: []*hcmv3.HttpFilter{{
			Name:       "envoy.filters.http.router",
			ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&routerv3.Router{})},
		}},
	}
}

// HTTPListener is a socket listener on 0.0.0.0:port with an HCM using RDS.
func HTTPListener(name string, port uint32, routeName string) *listenerv3.Listener {
	return &listenerv3.Listener{
		Name:    name,
		Address: socket("0.0.0.0", port),
		FilterChains: []*listenerv3.FilterChain{{
			Filters: []*listenerv3.Filter{{
				Name:       "envoy.filters.network.http_connection_manager",
				ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(HCM(routeName))},
			}},
		}},
	}
}

// APIListener is a listener for proxyless gRPC: named after the target the
// client dials, its HCM takes routeName over RDS.
func APIListener(name, routeName string) *listenerv3.Listener {
	return &listenerv3.Listener{
		Name:        name,
		ApiListener: &listenerv3.ApiListener{ApiListener: mustAny(HCM(routeName))},
	}
}

// Split is one weighted destination.
type Split struct {
	Cluster string
	Weight  uint32
}

// Route is a route configuration with one virtual host for domains and one
// prefix "/" route: a single cluster when one split is given, else
// weighted_clusters.
func Route(name string, domains []string, splits ...Split) *routev3.RouteConfiguration {
	action := &routev3.RouteAction{}
	if len(splits) == 1 {
		action.ClusterSpecifier = &routev3.RouteAction_Cluster{Cluster: splits[0].Cluster}
	} else {
		var ws []*routev3.WeightedCluster_ClusterWeight
		for _, s := range splits {
			ws = append(ws, &routev3.WeightedCluster_ClusterWeight{Name: s.Cluster, Weight: wrapperspb.UInt32(s.Weight)})
		}
		action.ClusterSpecifier = &routev3.RouteAction_WeightedClusters{WeightedClusters: &routev3.WeightedCluster{Clusters: ws}}
	}
	return &routev3.RouteConfiguration{
		Name: name,
		VirtualHosts: []*routev3.VirtualHost{{
			Name:    name,
			Domains: domains,
			Routes: []*routev3.Route{{
				Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
				Action: &routev3.Route_Route{Route: action},
			}},
		}},
	}
}

// Mirror adds a request mirror policy to every route of rc, sending the
// fraction millionths of requests to cluster.
func Mirror(rc *routev3.RouteConfiguration, cluster string, millionths uint32) *routev3.RouteConfiguration {
	for _, vh := range rc.GetVirtualHosts() {
		for _, rt := range vh.GetRoutes() {
			a := rt.GetRoute()
			a.RequestMirrorPolicies = append(a.RequestMirrorPolicies, &routev3.RouteAction_RequestMirrorPolicy{
				Cluster: cluster,
				RuntimeFraction: &corev3.RuntimeFractionalPercent{DefaultValue: &typev3.FractionalPercent{
					Numerator: millionths, Denominator: typev3.FractionalPercent_MILLION,
				}},
			})
		}
	}
	return rc
}

// App describes the canonical test application: clusters <name>-<version>_default,
// a socket listener "http" on :8080 with route configuration "http", and an
// API listener and route configuration named after the app.
type App struct {
	Name    string
	Weights []uint32 // per version v1, v2, ...
}

// Resources builds the app's resources, with Origins for NACK attribution.
func (a App) Resources() *translator.Resources {
	r := &translator.Resources{Origins: map[ident.Resource][]ident.Ref{}}
	vs := ident.Ref{Kind: "VirtualService", Namespace: "default", Name: a.Name}
	group := ident.Ref{Kind: "UpstreamGroup", Namespace: "default", Name: a.Name}
	var splits []Split
	for i, w := range a.Weights {
		up := fmt.Sprintf("%s-v%d", a.Name, i+1)
		name := up + "_default"
		r.Clusters = append(r.Clusters, Cluster(name))
		r.Endpoints = append(r.Endpoints, Endpoints(name, fmt.Sprintf("127.0.0.1:%d", 9001+i)))
		ref := ident.Ref{Kind: "Upstream", Namespace: "default", Name: up}
		r.Origins[ident.Resource{Type: ident.Cluster, Name: name}] = []ident.Ref{ref}
		r.Origins[ident.Resource{Type: ident.Endpoint, Name: name}] = []ident.Ref{ref}
		splits = append(splits, Split{Cluster: name, Weight: w})
	}
	r.Listeners = []*listenerv3.Listener{HTTPListener("http", 8080, "http")}
	r.APIListeners = []*listenerv3.Listener{APIListener(a.Name, a.Name)}
	r.Routes = []*routev3.RouteConfiguration{
		Route("http", []string{"*"}, splits...),
		Route(a.Name, []string{a.Name}, splits...),
	}
	gw := ident.Ref{Kind: "Gateway", Namespace: "default", Name: "default"}
	r.Origins[ident.Resource{Type: ident.Listener, Name: "http"}] = []ident.Ref{gw}
	r.Origins[ident.Resource{Type: ident.Listener, Name: a.Name}] = []ident.Ref{vs}
	r.Origins[ident.Resource{Type: ident.Route, Name: "http"}] = []ident.Ref{gw, group, vs}
	r.Origins[ident.Resource{Type: ident.Route, Name: a.Name}] = []ident.Ref{group, vs}
	return WithNeeds(r)
}

// WithNeeds fills r.Needs from the protos, as the translator would have:
// resources built by hand here carry no needs of their own. Existing needs
// are kept.
func WithNeeds(r *translator.Resources) *translator.Resources {
	if r.Needs == nil {
		r.Needs = map[ident.Resource]translator.Needs{}
	}
	for _, group := range [][]*listenerv3.Listener{r.Listeners, r.APIListeners} {
		for _, l := range group {
			id := ident.Resource{Type: ident.Listener, Name: l.GetName()}
			if _, ok := r.Needs[id]; ok {
				continue
			}
			var n translator.Needs
			for _, h := range envoyrefs.ListenerHCMs(l) {
				if rds := h.GetRds(); rds != nil {
					n.Routes = append(n.Routes, rds.GetRouteConfigName())
				}
			}
			r.Needs[id] = n
		}
	}
	for _, rc := range r.Routes {
		id := ident.Resource{Type: ident.Route, Name: rc.GetName()}
		if _, ok := r.Needs[id]; !ok {
			cs := envoyrefs.RouteClusters(rc)
			r.Needs[id] = translator.Needs{Clusters: cs, Endpoints: cs}
		}
	}
	return r
}

// Output wraps fleets into a translator output.
func Output(fleets map[string]*translator.Resources) *translator.Output {
	for _, r := range fleets {
		if r != nil {
			WithNeeds(r)
		}
	}
	return &translator.Output{Fleets: fleets}
}

// Default is an output with only the default fleet.
func Default(r *translator.Resources) *translator.Output {
	return Output(map[string]*translator.Resources{"default": r})
}
