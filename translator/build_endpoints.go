package translator

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// buildEndpoints makes a cluster's ClusterLoadAssignment. Every locality
// has a Locality and a load_balancing_weight: gRPC NACKs one without them.
// A cluster without endpoints gets an empty assignment, so that clients
// waiting for EDS hear "no endpoints" instead of waiting forever.
func buildEndpoints(c *Cluster) *endpointv3.ClusterLoadAssignment {
	cla := &endpointv3.ClusterLoadAssignment{ClusterName: c.Name}
	if len(c.Localities) == 0 {
		return cla
	}
	cla.Endpoints = make([]*endpointv3.LocalityLbEndpoints, 0, len(c.Localities))
	for i := range c.Localities {
		l := &c.Localities[i]
		lbs := make([]*endpointv3.LbEndpoint, 0, len(l.Endpoints))
		for _, e := range l.Endpoints {
			lbs = append(lbs, &endpointv3.LbEndpoint{
				HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
					Address: socketAddress(e.Address, e.Port, false),
				}},
				LoadBalancingWeight: wrapperspb.UInt32(e.Weight),
			})
		}
		cla.Endpoints = append(cla.Endpoints, &endpointv3.LocalityLbEndpoints{
			Locality:            &corev3.Locality{Region: l.Region, Zone: l.Zone},
			LbEndpoints:         lbs,
			LoadBalancingWeight: wrapperspb.UInt32(l.Weight),
		})
	}
	return cla
}

func socketAddress(addr string, port uint32, ipv4Compat bool) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address:       addr,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
		Ipv4Compat:    ipv4Compat,
	}}}
}
