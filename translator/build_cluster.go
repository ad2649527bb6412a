package translator

import (
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

const httpProtocolOptionsName = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

// http2Options is HttpProtocolOptions with explicit HTTP/2, the same bytes
// for every cluster that uses it.
var http2Options = newSharedAny(httpProtocolOptionsName, &httpv3.HttpProtocolOptions{
	UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
		ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: &corev3.Http2ProtocolOptions{}},
	}},
})

// adsSource is "over ADS, v3": every cluster's EDS and every listener's RDS.
func adsSource() *corev3.ConfigSource {
	return &corev3.ConfigSource{
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
		ResourceApiVersion:    corev3.ApiVersion_V3,
	}
}

// buildCluster makes an EDS-over-ADS cluster. Static hosts are EDS too:
// proxyless gRPC does not accept STATIC clusters, and one shape serves both
// kinds of client.
func buildCluster(c *Cluster) *clusterv3.Cluster {
	pb := &clusterv3.Cluster{
		Name:                 c.Name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
		EdsClusterConfig: &clusterv3.Cluster_EdsClusterConfig{
			EdsConfig:   adsSource(),
			ServiceName: c.Name,
		},
		ConnectTimeout:   durationpb.New(positive(c.ConnectTimeout, defaultConnectTimeout)),
		HealthChecks:     buildHealthChecks(c.HealthChecks),
		OutlierDetection: buildOutlier(c.Outlier),
		CircuitBreakers:  buildBreakers(c.Breakers),
		TransportSocket:  buildTransportSocket(c.TLS),
	}
	applyLoadBalancer(pb, c.LB)
	if c.HTTP2 {
		pb.TypedExtensionProtocolOptions = map[string]*anypb.Any{httpProtocolOptionsName: http2Options.get()}
	}
	if c.LoadReporting {
		// lrs_server self: clients report load to the server that sent the
		// cluster, which is how the canary engine sees per-cluster results.
		pb.LrsServer = &corev3.ConfigSource{
			ConfigSourceSpecifier: &corev3.ConfigSource_Self{Self: &corev3.SelfConfigSource{}},
			ResourceApiVersion:    corev3.ApiVersion_V3,
		}
	}
	return pb
}

// positive returns d, or def when d is not above zero (Envoy requires a
// positive connect timeout).
func positive(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
