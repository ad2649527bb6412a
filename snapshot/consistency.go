package snapshot

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/translator"
)

// Check is a consistency check stronger than go-control-plane's
// Snapshot.Consistent(), which only compares counts of named EDS/RDS
// resources: here every reference must resolve.
//
//   - every cluster a route configuration needs is a served cluster, and
//     the ClusterLoadAssignment it reads is served;
//   - every EDS cluster's service name (or its own name) has a served
//     ClusterLoadAssignment;
//   - every route configuration a listener takes over RDS is served.
//
// What a resource names comes from the translator (Resources.Needs); the
// translator's tests prove those needs equal what the protos name.
// It returns nil or one error per dangling reference, joined.
func Check(res *translator.Resources) error {
	return newChecker().check(res)
}

// Check runs the consistency check over what the snapshot serves.
func (s *Snapshot) Check() error {
	res := &translator.Resources{Needs: map[ident.Resource]translator.Needs{}}
	for _, r := range s.Resources(KindCluster) {
		res.Clusters = append(res.Clusters, r.Message.(*clusterv3.Cluster))
	}
	for _, r := range s.Resources(KindEndpoint) {
		res.Endpoints = append(res.Endpoints, r.Message.(*endpointv3.ClusterLoadAssignment))
	}
	for _, r := range s.Resources(KindListener) {
		l := r.Message.(*listenerv3.Listener)
		if r.API {
			res.APIListeners = append(res.APIListeners, l)
		} else {
			res.Listeners = append(res.Listeners, l)
		}
		res.Needs[ident.Resource{Type: ident.Listener, Name: r.Name}] = r.Needs
	}
	for _, r := range s.Resources(KindRoute) {
		res.Routes = append(res.Routes, r.Message.(*routev3.RouteConfiguration))
		res.Needs[ident.Resource{Type: ident.Route, Name: r.Name}] = r.Needs
	}
	return newChecker().check(res)
}
