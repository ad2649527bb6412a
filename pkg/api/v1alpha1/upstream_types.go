package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +genclient
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=us,categories=serin
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.kube.serviceName`,description="Kubernetes service, empty for static"
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Upstream is one backend service: a set of endpoints and how to talk to them.
type Upstream struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec UpstreamSpec `json:"spec"`
	// +optional
	Status ResourceStatus `json:"status,omitempty"`
}

// UpstreamSpec describes where an upstream's endpoints come from and the
// connection policy towards them. Exactly one of Static and Kube is set.
type UpstreamSpec struct {
	// Static lists fixed hosts.
	// +optional
	Static *StaticUpstream `json:"static,omitempty"`
	// Kube resolves endpoints from a Kubernetes Service's EndpointSlices.
	// +optional
	Kube *KubeUpstream `json:"kube,omitempty"`

	// UseHttp2 speaks HTTP/2 to the endpoints; gRPC backends need it.
	// +optional
	UseHttp2 *bool `json:"useHttp2,omitempty"`
	// ConnectTimeout bounds TCP connection setup. Default 5s.
	// +optional
	ConnectTimeout Duration `json:"connectTimeout,omitempty"`
	// +optional
	HealthChecks []HealthCheck `json:"healthChecks,omitempty"`
	// +optional
	OutlierDetection *OutlierDetection `json:"outlierDetection,omitempty"`
	// +optional
	CircuitBreakers *CircuitBreakers `json:"circuitBreakers,omitempty"`
	// +optional
	LoadBalancer *LoadBalancer `json:"loadBalancer,omitempty"`
	// +optional
	SslConfig *SslConfig `json:"sslConfig,omitempty"`
}

// StaticUpstream is a fixed list of hosts.
type StaticUpstream struct {
	// +kubebuilder:validation:MinItems=1
	Hosts []Host `json:"hosts"`
	// UseTls is Gloo's shorthand for an sslConfig with no options.
	// +optional
	UseTls *bool `json:"useTls,omitempty"`
}

// Host is one static endpoint.
type Host struct {
	// Addr is an IP address or a DNS name.
	// +kubebuilder:validation:MinLength=1
	Addr string `json:"addr"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port uint32 `json:"port"`
	// Weight is the host's load-balancing weight within its locality. Default 1.
	// +optional
	// +kubebuilder:validation:Minimum=1
	Weight *uint32 `json:"weight,omitempty"`
	// LoadBalancingWeight is Gloo's name for Weight.
	// +optional
	LoadBalancingWeight *uint32 `json:"loadBalancingWeight,omitempty"`
	// Zone is the host's locality zone; hosts are grouped by zone.
	// +optional
	Zone string `json:"zone,omitempty"`
	// SniAddr overrides the SNI sent to this host.
	// +optional
	SniAddr string `json:"sniAddr,omitempty"`
}

// KubeUpstream names a Kubernetes Service whose ready endpoints serve this upstream.
type KubeUpstream struct {
	// +kubebuilder:validation:MinLength=1
	ServiceName string `json:"serviceName"`
	// +optional
	ServiceNamespace string `json:"serviceNamespace,omitempty"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	ServicePort uint32 `json:"servicePort"`
	// Selector narrows the service's endpoints to pods with these labels
	// (e.g. version: v2), so two upstreams can share one Service.
	// +optional
	Selector map[string]string `json:"selector,omitempty"`
}

// HealthCheck is an active health check with Envoy's semantics.
type HealthCheck struct {
	// +optional
	Timeout Duration `json:"timeout,omitempty"`
	// +optional
	Interval Duration `json:"interval,omitempty"`
	// +optional
	UnhealthyThreshold *uint32 `json:"unhealthyThreshold,omitempty"`
	// +optional
	HealthyThreshold *uint32 `json:"healthyThreshold,omitempty"`
	// +optional
	HttpHealthCheck *HttpHealthCheck `json:"httpHealthCheck,omitempty"`
	// +optional
	TcpHealthCheck *TcpHealthCheck `json:"tcpHealthCheck,omitempty"`
	// +optional
	GrpcHealthCheck *GrpcHealthCheck `json:"grpcHealthCheck,omitempty"`
}

// HttpHealthCheck probes a path; 200 is healthy.
type HttpHealthCheck struct {
	// +kubebuilder:validation:MinLength=1
	Path string `json:"path"`
	// +optional
	Host string `json:"host,omitempty"`
}

// TcpHealthCheck only connects.
type TcpHealthCheck struct{}

// GrpcHealthCheck calls grpc.health.v1.Health/Check.
type GrpcHealthCheck struct {
	// +optional
	ServiceName string `json:"serviceName,omitempty"`
	// +optional
	Authority string `json:"authority,omitempty"`
}

// OutlierDetection ejects endpoints that fail passively.
type OutlierDetection struct {
	// +optional
	Consecutive5xx *uint32 `json:"consecutive5xx,omitempty"`
	// +optional
	ConsecutiveGatewayFailure *uint32 `json:"consecutiveGatewayFailure,omitempty"`
	// +optional
	Interval Duration `json:"interval,omitempty"`
	// +optional
	BaseEjectionTime Duration `json:"baseEjectionTime,omitempty"`
	// +optional
	// +kubebuilder:validation:Maximum=100
	MaxEjectionPercent *uint32 `json:"maxEjectionPercent,omitempty"`
}

// CircuitBreakers bound what this proxy sends to the upstream at once.
type CircuitBreakers struct {
	// +optional
	MaxConnections *uint32 `json:"maxConnections,omitempty"`
	// +optional
	MaxPendingRequests *uint32 `json:"maxPendingRequests,omitempty"`
	// +optional
	MaxRequests *uint32 `json:"maxRequests,omitempty"`
	// +optional
	MaxRetries *uint32 `json:"maxRetries,omitempty"`
}

// LoadBalancer picks the load-balancing policy; at most one field is set.
// Empty means round robin.
type LoadBalancer struct {
	// +optional
	RoundRobin *RoundRobinLB `json:"roundRobin,omitempty"`
	// +optional
	LeastRequest *LeastRequestLB `json:"leastRequest,omitempty"`
	// +optional
	Random *RandomLB `json:"random,omitempty"`
	// +optional
	RingHash *RingHashLB `json:"ringHash,omitempty"`
}

// RoundRobinLB has no options.
type RoundRobinLB struct{}

// RandomLB has no options.
type RandomLB struct{}

// LeastRequestLB picks the least loaded of ChoiceCount random endpoints.
type LeastRequestLB struct {
	// +optional
	// +kubebuilder:validation:Minimum=2
	ChoiceCount *uint32 `json:"choiceCount,omitempty"`
}

// RingHashLB is consistent hashing; routes choose the hash key with hashPolicies.
type RingHashLB struct {
	// +optional
	MinimumRingSize *uint64 `json:"minimumRingSize,omitempty"`
	// +optional
	MaximumRingSize *uint64 `json:"maximumRingSize,omitempty"`
}

// SslConfig makes the proxy originate TLS to the upstream.
type SslConfig struct {
	// Sni is the server name sent in the TLS handshake.
	// +optional
	Sni string `json:"sni,omitempty"`
	// RootCa is a PEM bundle that verifies the upstream's certificate.
	// +optional
	RootCa string `json:"rootCa,omitempty"`
	// RootCaFile is a path, on the proxy, to a PEM bundle.
	// +optional
	RootCaFile string `json:"rootCaFile,omitempty"`
	// VerifySubjectAltName lists SANs of which the certificate must carry one.
	// +optional
	VerifySubjectAltName []string `json:"verifySubjectAltName,omitempty"`
	// AlpnProtocols offered in the handshake, e.g. [h2, http/1.1].
	// +optional
	AlpnProtocols []string `json:"alpnProtocols,omitempty"`
	// AllowRenegotiation permits TLS renegotiation (off by default).
	// +optional
	AllowRenegotiation bool `json:"allowRenegotiation,omitempty"`
}

// +kubebuilder:object:root=true

// UpstreamList is a list of Upstreams.
type UpstreamList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Upstream `json:"items"`
}
