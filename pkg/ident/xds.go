package ident

// Type is one of the four xDS resource types serin serves. The numeric
// order is the push order, CDS -> EDS -> LDS -> RDS, so that a node learns of
// a cluster (and its endpoints) before any listener or route can name it.
type Type int

const (
	Cluster Type = iota
	Endpoint
	Listener
	Route
	// NumTypes is the number of types; types are 0..NumTypes-1 in push order.
	NumTypes
)

// Type URLs of the resources serin serves.
const (
	ClusterTypeURL  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	EndpointTypeURL = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
	ListenerTypeURL = "type.googleapis.com/envoy.config.listener.v3.Listener"
	RouteTypeURL    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
)

var (
	typeURLs   = [NumTypes]string{ClusterTypeURL, EndpointTypeURL, ListenerTypeURL, RouteTypeURL}
	shortNames = [NumTypes]string{"cluster", "endpoint", "listener", "route"}
)

// TypeURL returns the type's URL.
func (t Type) TypeURL() string { return typeURLs[t] }

// String returns the short name: cluster, endpoint, listener or route.
func (t Type) String() string {
	if t < 0 || t >= NumTypes {
		return "unknown"
	}
	return shortNames[t]
}

// TypeOf maps a type URL to its type; ok is false for types serin does not serve.
func TypeOf(typeURL string) (t Type, ok bool) {
	for i, u := range typeURLs {
		if u == typeURL {
			return Type(i), true
		}
	}
	return 0, false
}

// Resource is the identity of one xDS resource: its type and name.
type Resource struct {
	Type Type
	Name string
}

func (r Resource) String() string { return r.Type.String() + "/" + r.Name }
