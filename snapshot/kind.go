package snapshot

// Kind is one of the four xDS resource types serin serves. The numeric order
// is the push order: CDS -> EDS -> LDS -> RDS, so a node learns about a
// cluster (and its endpoints) before any listener or route can name it.
type Kind int

const (
	KindCluster Kind = iota
	KindEndpoint
	KindListener
	KindRoute
	// NumKinds is the number of kinds; kinds are 0..NumKinds-1 in push order.
	NumKinds
)

// Type URLs of the resources serin serves.
const (
	ClusterType  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	EndpointType = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
	ListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener"
	RouteType    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
)

var typeURLs = [NumKinds]string{ClusterType, EndpointType, ListenerType, RouteType}

// shortNames match the prefixes of translator.Resources.Origins keys.
var shortNames = [NumKinds]string{"cluster", "endpoint", "listener", "route"}

// TypeURL returns the kind's type URL.
func (k Kind) TypeURL() string { return typeURLs[k] }

// String returns the short name: cluster, endpoint, listener or route.
func (k Kind) String() string {
	if k < 0 || k >= NumKinds {
		return "unknown"
	}
	return shortNames[k]
}

// KindOf maps a type URL to its kind; ok is false for types serin does not serve.
func KindOf(typeURL string) (k Kind, ok bool) {
	for i, u := range typeURLs {
		if u == typeURL {
			return Kind(i), true
		}
	}
	return 0, false
}
