package translator

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
)

// lbEndpointBlock holds the messages of one endpoint, allocated together:
// one allocation instead of seven per endpoint.
type lbEndpointBlock struct {
	lb   endpointv3.LbEndpoint
	host endpointv3.LbEndpoint_Endpoint
	ep   endpointv3.Endpoint
	addr corev3.Address
	sa   corev3.Address_SocketAddress
	sock corev3.SocketAddress
	port corev3.SocketAddress_PortValue
}

// buildEndpoints makes a cluster's ClusterLoadAssignment. Every locality
// has a Locality and a load_balancing_weight: gRPC NACKs one without them.
// A cluster without endpoints gets an empty assignment, so that clients
// waiting for EDS hear "no endpoints" instead of waiting forever.
func buildEndpoints(c *Cluster) *endpointv3.ClusterLoadAssignment {
	cla := &endpointv3.ClusterLoadAssignment{ClusterName: c.Name}
	if len(c.Localities) == 0 {
		return cla
	}
	n := 0
	for i := range c.Localities {
		n += len(c.Localities[i].Endpoints)
	}
	blocks := make([]lbEndpointBlock, n)
	ptrs := make([]*endpointv3.LbEndpoint, n)
	localities := make([]endpointv3.LocalityLbEndpoints, len(c.Localities))
	cla.Endpoints = make([]*endpointv3.LocalityLbEndpoints, len(c.Localities))
	k := 0
	for i := range c.Localities {
		l := &c.Localities[i]
		start := k
		for _, e := range l.Endpoints {
			b := &blocks[k]
			b.port.PortValue = e.Port
			b.sock.Address, b.sock.PortSpecifier = e.Address, &b.port
			b.sa.SocketAddress = &b.sock
			b.addr.Address = &b.sa
			b.ep.Address = &b.addr
			b.host.Endpoint = &b.ep
			b.lb.HostIdentifier, b.lb.LoadBalancingWeight = &b.host, u32v(e.Weight)
			ptrs[k] = &b.lb
			k++
		}
		lle := &localities[i]
		lle.Locality = locality(l.Region, l.Zone)
		lle.LbEndpoints = ptrs[start:k:k]
		lle.LoadBalancingWeight = u32v(l.Weight)
		cla.Endpoints[i] = lle
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
