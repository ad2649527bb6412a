package translator

import (
	"time"

	"github.com/serin-dev/serin/pkg/ident"
)

// The IR is the seam between the API objects and Envoy: plain values with
// every reference resolved, every default applied and every bad part already
// reported and removed. BuildIR produces it; Emit turns it into protos
// without looking at the input again. Tests can build an IR by hand.

// IR is the whole translated configuration, by fleet.
type IR struct {
	// Fleets sorted by name; the default fleet is always present.
	Fleets []*Fleet
}

// Fleet is what one group of nodes (node.cluster == Name) is served.
type Fleet struct {
	Name string
	// Listeners are the socket listeners of the fleet's Gateways, sorted by name.
	Listeners []*Listener
	// VirtualHosts are the fleet's virtual hosts, one per served
	// VirtualService, sorted by name. Each plain domain of theirs becomes an
	// API listener.
	VirtualHosts []*VirtualHost
	// Clusters are the clusters the fleet's routes use, sorted by name.
	Clusters []*Cluster
}

// Listener is a socket listener whose routes come over RDS in a
// RouteConfiguration of the same name.
type Listener struct {
	Name    string
	Address string
	Port    uint32
	Gateway ident.Ref
	// VirtualHosts in name order; they point into Fleet.VirtualHosts.
	VirtualHosts []*VirtualHost
}

// VirtualHost is one VirtualService as served in one fleet.
type VirtualHost struct {
	// Name is "<name>_<namespace>" of the VirtualService.
	Name string
	// Domains left after duplicates across the fleet were dropped.
	Domains []string
	Routes  []*Route
	// APIListeners are the domains without a wildcard: each gets an API
	// listener and a RouteConfiguration of that name holding this host.
	APIListeners []string
	// Origins are the VirtualService (first) and the UpstreamGroups its
	// routes use, sorted.
	Origins []ident.Ref
}

// Route is one VirtualService route. Each of its matches becomes one Envoy
// route with the same action.
type Route struct {
	Name    string
	Matches []Match

	// The action: Direct when set, else Clusters (a single cluster when
	// Weighted is false, weighted_clusters when true).
	Direct   *DirectResponse
	Clusters []WeightedCluster
	Weighted bool

	Timeout       *time.Duration
	Retry         *Retry
	PrefixRewrite *string
	Mirrors       []Mirror
	HashPolicies  []HashPolicy
}

// PathKind says how Match.Path is compared.
type PathKind uint8

const (
	PathPrefix PathKind = iota
	PathExact
	PathRegex
)

// Match is one request matcher.
type Match struct {
	PathKind      PathKind
	Path          string
	CaseSensitive *bool
	Headers       []HeaderMatch
	Query         []QueryMatch
	// Methods are upper-case HTTP methods; any of them matches.
	Methods []string
}

// HeaderMatch matches one header: presence when Value is empty.
type HeaderMatch struct {
	Name   string
	Value  string
	Regex  bool
	Invert bool
}

// QueryMatch matches one query parameter: presence when Value is empty.
type QueryMatch struct {
	Name  string
	Value string
	Regex bool
}

// DirectResponse answers without an upstream.
type DirectResponse struct {
	Status uint32
	Body   string
}

// WeightedCluster is one cluster of a split.
type WeightedCluster struct {
	Name   string
	Weight uint32
}

// Mirror copies a share of requests to a cluster.
type Mirror struct {
	Cluster string
	// PerMillion is the share of requests, out of 1,000,000.
	PerMillion uint32
}

// Retry is a route's retry policy.
type Retry struct {
	RetryOn       string
	NumRetries    *uint32
	PerTryTimeout time.Duration // 0: unset
}

// HashPolicy is one consistent-hash key source; exactly one of Header,
// Cookie and SourceIP is set.
type HashPolicy struct {
	Header   string
	Cookie   string
	SourceIP bool
	Terminal bool
}

// Cluster is one Upstream as an EDS cluster plus its load assignment.
type Cluster struct {
	// Name is "<name>_<namespace>" of the Upstream.
	Name           string
	Upstream       ident.Ref
	ConnectTimeout time.Duration
	HTTP2          bool
	HealthChecks   []HealthCheck
	Outlier        *OutlierDetection
	Breakers       *CircuitBreakers
	LB             LoadBalancer
	TLS            *TLS
	LoadReporting  bool
	// Localities sorted by region and zone, each with its endpoints sorted.
	Localities []Locality
}

// Locality is a zone of endpoints.
type Locality struct {
	Region, Zone string
	// Weight is the locality's load-balancing weight (the sum of its
	// endpoints' weights).
	Weight    uint32
	Endpoints []LbEndpoint
}

// LbEndpoint is one address.
type LbEndpoint struct {
	Address string
	Port    uint32
	Weight  uint32
}

// HealthCheckKind picks the health checker.
type HealthCheckKind uint8

const (
	HealthCheckHTTP HealthCheckKind = iota
	HealthCheckTCP
	HealthCheckGRPC
)

// HealthCheck is an active health check, defaults applied.
type HealthCheck struct {
	Kind               HealthCheckKind
	Timeout, Interval  time.Duration
	Unhealthy, Healthy uint32
	// HTTP
	Path, Host string
	// gRPC
	ServiceName, Authority string
}

// OutlierDetection is passive ejection; nil fields are Envoy's defaults.
type OutlierDetection struct {
	Consecutive5xx            *uint32
	ConsecutiveGatewayFailure *uint32
	Interval                  time.Duration // 0: unset
	BaseEjectionTime          time.Duration // 0: unset
	MaxEjectionPercent        *uint32
}

// CircuitBreakers are the default-priority thresholds.
type CircuitBreakers struct {
	MaxConnections, MaxPendingRequests, MaxRequests, MaxRetries *uint32
}

// LBPolicy is the load-balancing algorithm.
type LBPolicy uint8

const (
	LBRoundRobin LBPolicy = iota
	LBLeastRequest
	LBRandom
	LBRingHash
)

// LoadBalancer is the policy and its options.
type LoadBalancer struct {
	Policy                           LBPolicy
	ChoiceCount                      *uint32
	MinimumRingSize, MaximumRingSize *uint64
}

// TLS is upstream TLS origination.
type TLS struct {
	SNI                string
	RootCA             string
	RootCAFile         string
	SubjectAltNames    []string
	ALPN               []string
	AllowRenegotiation bool
}
