package translator

import (
	"time"

	"github.com/serin-dev/serin/pkg/ident"
)

// The IR is the seam between the API objects and Envoy: plain values with
// every reference resolved, every default applied and every bad part already
// reported and removed. BuildIR produces it; Emit turns it into protos
// without looking at the input again. Tests can build an IR by hand.
//
// The IR also reads and writes as YAML (EncodeIR, DecodeIR; the json tags
// below name the fields, lowerCamelCase like the API): `serin translate
// -o ir` prints it, and testdata/<case>.ir.yaml holds each golden case's.
// See ir_yaml.go for durations, enums and shared virtual hosts, and
// ir_validate.go for the invariants (IR.Validate).

// IR is the whole translated configuration, by fleet.
type IR struct {
	// Fleets sorted by name; the default fleet is always present.
	Fleets []*Fleet `json:"fleets"`
}

// Fleet is what one group of nodes (node.cluster == Name) is served.
type Fleet struct {
	Name string `json:"name"`
	// Listeners are the socket listeners of the fleet's Gateways, sorted by name.
	Listeners []*Listener `json:"listeners,omitempty"`
	// VirtualHosts are the fleet's virtual hosts, one per served
	// VirtualService, sorted by name. Each plain domain of theirs becomes an
	// API listener.
	VirtualHosts []*VirtualHost `json:"virtualHosts,omitempty"`
	// Clusters are the clusters the fleet's routes use, sorted by name.
	Clusters []*Cluster `json:"clusters,omitempty"`
}

// Listener is a socket listener whose routes come over RDS in a
// RouteConfiguration of the same name.
type Listener struct {
	Name    string    `json:"name"`
	Address string    `json:"address"`
	Port    uint32    `json:"port"`
	Gateway ident.Ref `json:"gateway"`
	// VirtualHosts in name order; they point into Fleet.VirtualHosts.
	// YAML lists them by name (virtualHosts: [names]); see Listener.MarshalJSON.
	VirtualHosts []*VirtualHost `json:"-"`
}

// VirtualHost is one VirtualService as served in one fleet.
type VirtualHost struct {
	// Name is "<name>_<namespace>" of the VirtualService.
	Name string `json:"name"`
	// Domains left after duplicates across the fleet were dropped.
	Domains []string `json:"domains"`
	Routes  []*Route `json:"routes,omitempty"`
	// APIListeners are the domains without a wildcard: each gets an API
	// listener and a RouteConfiguration of that name holding this host.
	APIListeners []string `json:"apiListeners,omitempty"`
	// Origins are the VirtualService (first) and the UpstreamGroups its
	// routes use, sorted.
	Origins []ident.Ref `json:"origins"`
}

// Route is one VirtualService route. Each of its matches becomes one Envoy
// route with the same action.
type Route struct {
	Name    string  `json:"name,omitempty"`
	Matches []Match `json:"matches"`

	// The action: Direct when set, else Clusters (a single cluster when
	// Weighted is false, weighted_clusters when true).
	Direct   *DirectResponse   `json:"direct,omitempty"`
	Clusters []WeightedCluster `json:"clusters,omitempty"`
	Weighted bool              `json:"weighted,omitempty"`
	// UseHashPolicy picks the weighted cluster by the request's hash
	// (HashPolicies) instead of at random: Envoy takes hash % total weight
	// and walks the clusters in order. A sticky canary lists the canary
	// first, so that a hash in the canary's range stays there as its
	// weight grows (the total stays the same).
	UseHashPolicy bool `json:"useHashPolicy,omitempty"`

	Timeout       *time.Duration `json:"timeout,omitempty"`
	Retry         *Retry         `json:"retry,omitempty"`
	PrefixRewrite *string        `json:"prefixRewrite,omitempty"`
	Mirrors       []Mirror       `json:"mirrors,omitempty"`
	HashPolicies  []HashPolicy   `json:"hashPolicies,omitempty"`
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
	PathKind      PathKind      `json:"pathKind"`
	Path          string        `json:"path"`
	CaseSensitive *bool         `json:"caseSensitive,omitempty"`
	Headers       []HeaderMatch `json:"headers,omitempty"`
	Query         []QueryMatch  `json:"query,omitempty"`
	// Methods are upper-case HTTP methods; any of them matches.
	Methods []string `json:"methods,omitempty"`
}

// HeaderMatch matches one header: presence when Value is empty.
type HeaderMatch struct {
	Name   string `json:"name"`
	Value  string `json:"value,omitempty"`
	Regex  bool   `json:"regex,omitempty"`
	Invert bool   `json:"invert,omitempty"`
}

// QueryMatch matches one query parameter: presence when Value is empty.
type QueryMatch struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
	Regex bool   `json:"regex,omitempty"`
}

// DirectResponse answers without an upstream.
type DirectResponse struct {
	Status uint32 `json:"status"`
	Body   string `json:"body,omitempty"`
}

// WeightedCluster is one cluster of a split.
type WeightedCluster struct {
	Name   string `json:"name"`
	Weight uint32 `json:"weight"`
}

// Mirror copies a share of requests to a cluster.
type Mirror struct {
	Cluster string `json:"cluster"`
	// PerMillion is the share of requests, out of 1,000,000.
	PerMillion uint32 `json:"perMillion"`
}

// Retry is a route's retry policy.
type Retry struct {
	RetryOn       string        `json:"retryOn,omitempty"`
	NumRetries    *uint32       `json:"numRetries,omitempty"`
	PerTryTimeout time.Duration `json:"perTryTimeout,omitempty"` // 0: unset
}

// HashPolicy is one consistent-hash key source; exactly one of Header,
// Cookie and SourceIP is set.
type HashPolicy struct {
	Header string `json:"header,omitempty"`
	Cookie string `json:"cookie,omitempty"`
	// CookieTTL, when set, makes Envoy set the cookie (with this TTL and
	// CookiePath) on a request that has none; 0 makes a session cookie.
	CookieTTL  *time.Duration `json:"cookieTTL,omitempty"`
	CookiePath string         `json:"cookiePath,omitempty"`
	SourceIP   bool           `json:"sourceIP,omitempty"`
	Terminal   bool           `json:"terminal,omitempty"`
}

// Cluster is one Upstream as an EDS cluster plus its load assignment.
type Cluster struct {
	// Name is "<name>_<namespace>" of the Upstream.
	Name           string            `json:"name"`
	Upstream       ident.Ref         `json:"upstream"`
	ConnectTimeout time.Duration     `json:"connectTimeout,omitempty"`
	HTTP2          bool              `json:"http2,omitempty"`
	HealthChecks   []HealthCheck     `json:"healthChecks,omitempty"`
	Outlier        *OutlierDetection `json:"outlier,omitempty"`
	Breakers       *CircuitBreakers  `json:"breakers,omitempty"`
	LB             LoadBalancer      `json:"lb"`
	TLS            *TLS              `json:"tls,omitempty"`
	LoadReporting  bool              `json:"loadReporting,omitempty"`
	// Localities sorted by region and zone, each with its endpoints sorted.
	Localities []Locality `json:"localities,omitempty"`
}

// Locality is a zone of endpoints.
type Locality struct {
	Region string `json:"region"`
	Zone   string `json:"zone,omitempty"`
	// Weight is the locality's load-balancing weight (the sum of its
	// endpoints' weights).
	Weight    uint32       `json:"weight"`
	Endpoints []LbEndpoint `json:"endpoints"`
}

// LbEndpoint is one address.
type LbEndpoint struct {
	Address string `json:"address"`
	Port    uint32 `json:"port"`
	Weight  uint32 `json:"weight"`
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
	Kind      HealthCheckKind `json:"kind"`
	Timeout   time.Duration   `json:"timeout"`
	Interval  time.Duration   `json:"interval"`
	Unhealthy uint32          `json:"unhealthy"`
	Healthy   uint32          `json:"healthy"`
	// HTTP
	Path string `json:"path,omitempty"`
	Host string `json:"host,omitempty"`
	// gRPC
	ServiceName string `json:"serviceName,omitempty"`
	Authority   string `json:"authority,omitempty"`
}

// OutlierDetection is passive ejection; nil fields are Envoy's defaults.
type OutlierDetection struct {
	Consecutive5xx            *uint32       `json:"consecutive5xx,omitempty"`
	ConsecutiveGatewayFailure *uint32       `json:"consecutiveGatewayFailure,omitempty"`
	Interval                  time.Duration `json:"interval,omitempty"`         // 0: unset
	BaseEjectionTime          time.Duration `json:"baseEjectionTime,omitempty"` // 0: unset
	MaxEjectionPercent        *uint32       `json:"maxEjectionPercent,omitempty"`
}

// CircuitBreakers are the default-priority thresholds.
type CircuitBreakers struct {
	MaxConnections     *uint32 `json:"maxConnections,omitempty"`
	MaxPendingRequests *uint32 `json:"maxPendingRequests,omitempty"`
	MaxRequests        *uint32 `json:"maxRequests,omitempty"`
	MaxRetries         *uint32 `json:"maxRetries,omitempty"`
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
	Policy          LBPolicy `json:"policy"`
	ChoiceCount     *uint32  `json:"choiceCount,omitempty"`
	MinimumRingSize *uint64  `json:"minimumRingSize,omitempty"`
	MaximumRingSize *uint64  `json:"maximumRingSize,omitempty"`
}

// TLS is upstream TLS origination.
type TLS struct {
	SNI                string   `json:"sni,omitempty"`
	RootCA             string   `json:"rootCA,omitempty"`
	RootCAFile         string   `json:"rootCAFile,omitempty"`
	SubjectAltNames    []string `json:"subjectAltNames,omitempty"`
	ALPN               []string `json:"alpn,omitempty"`
	AllowRenegotiation bool     `json:"allowRenegotiation,omitempty"`
}
