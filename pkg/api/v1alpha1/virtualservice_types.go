package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +genclient
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=vs,categories=serin
// +kubebuilder:printcolumn:name="Domains",type=string,JSONPath=`.spec.virtualHost.domains`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// VirtualService holds the routes for a set of domains.
type VirtualService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec VirtualServiceSpec `json:"spec"`
	// +optional
	Status ResourceStatus `json:"status,omitempty"`
}

// VirtualServiceSpec is one virtual host.
type VirtualServiceSpec struct {
	VirtualHost VirtualHost `json:"virtualHost"`
}

// VirtualHost is a set of domains and the ordered routes that serve them.
type VirtualHost struct {
	// Domains the host answers for. "*" and "*.example.com" wildcards are
	// allowed; every domain without a wildcard is also served to proxyless
	// gRPC clients as xds:///<domain>.
	// +kubebuilder:validation:MinItems=1
	Domains []string `json:"domains"`
	// Routes are matched in order; the first match wins.
	// +optional
	Routes []Route `json:"routes,omitempty"`
}

// Route sends matching requests to a destination.
type Route struct {
	// Name is optional and used in stats and reports.
	// +optional
	Name string `json:"name,omitempty"`
	// Matchers are ORed; an empty list matches everything (prefix /).
	// +optional
	Matchers []Matcher `json:"matchers,omitempty"`
	// +optional
	RouteAction *RouteAction `json:"routeAction,omitempty"`
	// +optional
	Options *RouteOptions `json:"options,omitempty"`
}

// Matcher matches a request by path (one of prefix, exact, regex), headers,
// query parameters and method. All of its parts must match.
type Matcher struct {
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// +optional
	Exact string `json:"exact,omitempty"`
	// Regex is an RE2 expression that must match the whole path.
	// +optional
	Regex string `json:"regex,omitempty"`
	// CaseSensitive defaults to true.
	// +optional
	CaseSensitive *bool `json:"caseSensitive,omitempty"`
	// +optional
	Headers []HeaderMatcher `json:"headers,omitempty"`
	// +optional
	QueryParameters []QueryParameterMatcher `json:"queryParameters,omitempty"`
	// Methods match the :method header; any of them matches.
	// +optional
	Methods []string `json:"methods,omitempty"`
}

// HeaderMatcher matches a header. With no value, the header must be present.
type HeaderMatcher struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +optional
	Value string `json:"value,omitempty"`
	// Regex treats Value as an RE2 expression.
	// +optional
	Regex bool `json:"regex,omitempty"`
	// InvertMatch matches requests where the header does not match.
	// +optional
	InvertMatch bool `json:"invertMatch,omitempty"`
}

// QueryParameterMatcher matches a query parameter. With no value, the
// parameter must be present.
type QueryParameterMatcher struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +optional
	Value string `json:"value,omitempty"`
	// +optional
	Regex bool `json:"regex,omitempty"`
}

// RouteAction picks the destination: exactly one of single, multi and
// upstreamGroup is set.
type RouteAction struct {
	// +optional
	Single *Destination `json:"single,omitempty"`
	// +optional
	Multi *MultiDestination `json:"multi,omitempty"`
	// +optional
	UpstreamGroup *ResourceRef `json:"upstreamGroup,omitempty"`
}

// MultiDestination is an inline weighted split.
type MultiDestination struct {
	// +kubebuilder:validation:MinItems=1
	Destinations []WeightedDestination `json:"destinations"`
}

// RouteOptions tune how a route forwards.
type RouteOptions struct {
	// Timeout for the whole request, retries included. "0s" disables it.
	// +optional
	Timeout Duration `json:"timeout,omitempty"`
	// +optional
	Retries *RetryPolicy `json:"retries,omitempty"`
	// PrefixRewrite replaces the matched prefix before forwarding.
	// +optional
	PrefixRewrite *string `json:"prefixRewrite,omitempty"`
	// Shadowing mirrors a share of requests to another upstream (Gloo's single mirror).
	// +optional
	Shadowing *Mirror `json:"shadowing,omitempty"`
	// Mirrors mirror shares of requests to several upstreams.
	// +optional
	Mirrors []Mirror `json:"mirrors,omitempty"`
	// HashPolicies choose the key for ringHash upstreams.
	// +optional
	HashPolicies []HashPolicy `json:"hashPolicies,omitempty"`
}

// RetryPolicy retries failed requests.
type RetryPolicy struct {
	// RetryOn uses Envoy's conditions, e.g. "5xx,reset,connect-failure".
	// +optional
	RetryOn string `json:"retryOn,omitempty"`
	// +optional
	NumRetries *uint32 `json:"numRetries,omitempty"`
	// +optional
	PerTryTimeout Duration `json:"perTryTimeout,omitempty"`
}

// Mirror sends a copy of a share of requests to an upstream and ignores the
// answers.
type Mirror struct {
	Upstream ResourceRef `json:"upstream"`
	// Percentage of requests mirrored, 0 to 100, up to four decimals.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Percentage float64 `json:"percentage"`
}

// HashPolicy is one source of the consistent-hash key.
type HashPolicy struct {
	// +optional
	Header string `json:"header,omitempty"`
	// +optional
	Cookie string `json:"cookie,omitempty"`
	// +optional
	SourceIp bool `json:"sourceIp,omitempty"`
	// Terminal stops at this policy when it yields a key.
	// +optional
	Terminal bool `json:"terminal,omitempty"`
}

// +kubebuilder:object:root=true

// VirtualServiceList is a list of VirtualServices.
type VirtualServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VirtualService `json:"items"`
}
