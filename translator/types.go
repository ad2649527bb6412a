// Package translator turns a consistent view of serin's objects into Envoy v3
// resources plus a report per object. It is a pure function: no I/O, no
// clocks, deterministic output order.
package translator

import (
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// Output is the result of one translation.
type Output struct {
	// Fleets maps a fleet name to its resources. The default fleet is
	// always present.
	Fleets map[string]*Resources
	// Reports has one entry per input object, sorted by kind, namespace, name.
	Reports []Report
}

// Resources are the Envoy resources for one fleet, each slice sorted by name.
type Resources struct {
	Clusters  []*clusterv3.Cluster
	Endpoints []*endpointv3.ClusterLoadAssignment
	// Listeners are socket listeners, one per Gateway; Envoy's wildcard LDS
	// request gets these.
	Listeners []*listenerv3.Listener
	// APIListeners are named after each plain VirtualService domain, for
	// proxyless gRPC clients dialing xds:///<domain>. They are served only to
	// clients that ask for them by name.
	APIListeners []*listenerv3.Listener
	Routes       []*routev3.RouteConfiguration
	// Origins maps every resource to the objects it was built from, so a
	// NACK can be attributed to them.
	Origins map[ident.Resource][]ident.Ref
	// Needs maps every listener and route configuration to what it names,
	// so that the consistency check and the xDS route gate need not read it
	// back out of the protos. Read only: slices are shared.
	Needs map[ident.Resource]Needs
}

// Needs is what a listener or route configuration names: a node must hold
// these before the resource can work.
type Needs struct {
	// Routes are the route configurations a listener takes over RDS.
	Routes []string `json:"routes,omitempty"`
	// Clusters are the clusters a route configuration's routes send or
	// mirror to, sorted and distinct.
	Clusters []string `json:"clusters,omitempty"`
	// Endpoints[i] is the ClusterLoadAssignment that Clusters[i] reads over
	// EDS ("" for a cluster that has none).
	Endpoints []string `json:"endpoints,omitempty"`
}

// Problem is one thing wrong with an object.
type Problem struct {
	// Severity is Warning or Rejected.
	Severity v1alpha1.State `json:"severity"`
	// Field is the path, e.g. spec.destinations[1].weight.
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Report is the outcome of translating one object.
type Report struct {
	ident.Ref
	// State is Accepted, Warning or Rejected.
	State v1alpha1.State `json:"state"`
	// Reason joins the problems, "field: message; field: message".
	Reason   string    `json:"reason,omitempty"`
	Problems []Problem `json:"problems,omitempty"`
	// Serving is set on a Rejected report when an earlier accepted version
	// of the object (Input.LastAccepted) is served in its place.
	Serving *Served `json:"serving,omitempty"`
}

// Served is the accepted version served in place of a rejected one.
type Served struct {
	// Rev is the store revision of the served version; Generation its
	// metadata.generation (0 in file mode).
	Rev        uint64    `json:"rev,omitempty"`
	Generation int64     `json:"generation,omitempty"`
	At         time.Time `json:"at"`
}
