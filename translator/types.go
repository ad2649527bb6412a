// Package translator turns a consistent view of serin's objects into Envoy v3
// resources plus a report per object. It is a pure function: no I/O, no
// clocks, deterministic output order.
package translator

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/store"
)

// Input is everything a translation reads.
type Input struct {
	Upstreams       []*v1alpha1.Upstream
	UpstreamGroups  []*v1alpha1.UpstreamGroup
	VirtualServices []*v1alpha1.VirtualService
	Gateways        []*v1alpha1.Gateway
	Canaries        []*v1alpha1.Canary

	// Overrides are the canary engine's effective weights, keyed by the
	// UpstreamGroup's "namespace/name". They replace the group's spec weights
	// while a rollout is active; the spec itself is never rewritten.
	Overrides map[string]GroupOverride

	// Endpoints discovered for kube upstreams, keyed by the Upstream's
	// "namespace/name". Static upstreams carry their own hosts.
	Endpoints map[string][]Endpoint
}

// GroupOverride is the weights (and optional mirror) an active Canary sets
// on an UpstreamGroup.
type GroupOverride struct {
	// Canary is the "namespace/name" of the Canary that applies the override.
	Canary string
	// Weights by Upstream "namespace/name". Destinations not named keep 0.
	Weights map[string]uint32
	// Mirror, when set, is added to every route that uses the group.
	Mirror *v1alpha1.Mirror
}

// Endpoint is one discovered address of a kube upstream.
// It is the store's type: the Kubernetes source discovers endpoints into
// the store, and translation reads them as they are.
type Endpoint = store.EndpointAddr

// Options change translation globally.
type Options struct {
	// LoadReporting sets lrs_server to the management server itself on every
	// cluster, so that clients report per-cluster load (LRS).
	LoadReporting bool
}

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
}
