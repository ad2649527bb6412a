package snapshot

import "github.com/serin-dev/serin/pkg/ident"

// Kind is an xDS resource type (ident.Type), named here as the snapshot's
// unit of versioning. The numeric order is the push order: CDS -> EDS ->
// LDS -> RDS.
type Kind = ident.Type

// The kinds, in push order.
const (
	KindCluster  = ident.Cluster
	KindEndpoint = ident.Endpoint
	KindListener = ident.Listener
	KindRoute    = ident.Route
	// NumKinds is the number of kinds; kinds are 0..NumKinds-1 in push order.
	NumKinds = ident.NumTypes
)

// Type URLs of the resources serin serves.
const (
	ClusterType  = ident.ClusterTypeURL
	EndpointType = ident.EndpointTypeURL
	ListenerType = ident.ListenerTypeURL
	RouteType    = ident.RouteTypeURL
)

// KindOf maps a type URL to its kind; ok is false for types serin does not serve.
func KindOf(typeURL string) (Kind, bool) { return ident.TypeOf(typeURL) }
