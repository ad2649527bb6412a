package translator

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

const httpProtocolOptionsName = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

// Messages that are the same in every cluster are built once and shared by
// all clusters (10,000s of them): the output is read-only.
var (
	// http2Options is HttpProtocolOptions with explicit HTTP/2.
	http2Options = map[string]*anypb.Any{httpProtocolOptionsName: toAny(httpProtocolOptionsName, &httpv3.HttpProtocolOptions{
		UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: &corev3.Http2ProtocolOptions{}},
		}},
	})}
	edsOverADS = adsSource()
	// selfSource (lrs_server self): clients report load to the server that
	// sent the cluster, which is how the canary engine sees per-cluster results.
	selfSource = &corev3.ConfigSource{
		ConfigSourceSpecifier: &corev3.ConfigSource_Self{Self: &corev3.SelfConfigSource{}},
		ResourceApiVersion:    corev3.ApiVersion_V3,
	}
	defaultConnectTimeoutPB = durationpb.New(defaultConnectTimeout)
)

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
	// One allocation for the cluster and its always-present parts.
	b := &struct {
		cluster clusterv3.Cluster
		typ     clusterv3.Cluster_Type
		eds     clusterv3.Cluster_EdsClusterConfig
	}{}
	b.typ.Type = clusterv3.Cluster_EDS
	b.eds.EdsConfig, b.eds.ServiceName = edsOverADS, c.Name
	pb := &b.cluster
	pb.Name = c.Name
	pb.ClusterDiscoveryType = &b.typ
	pb.EdsClusterConfig = &b.eds
	pb.ConnectTimeout = defaultConnectTimeoutPB
	pb.HealthChecks = buildHealthChecks(c.HealthChecks)
	pb.OutlierDetection = buildOutlier(c.Outlier)
	pb.CircuitBreakers = buildBreakers(c.Breakers)
	pb.TransportSocket = buildTransportSocket(c.TLS)
	if c.ConnectTimeout > 0 && c.ConnectTimeout != defaultConnectTimeout {
		pb.ConnectTimeout = durationpb.New(c.ConnectTimeout)
	}
	applyLoadBalancer(pb, c.LB)
	if c.HTTP2 {
		pb.TypedExtensionProtocolOptions = http2Options
	}
	if c.LoadReporting {
		pb.LrsServer = selfSource
	}
	return pb
}
