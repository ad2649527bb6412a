package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultFleet is the fleet of nodes whose node.cluster names no Gateway's fleet.
const DefaultFleet = "default"

// DefaultGatewayPort is the port of the HTTP listener that exists when no
// Gateway is configured.
const DefaultGatewayPort = 8080

// +genclient
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=gw,categories=serin
// +kubebuilder:printcolumn:name="Fleet",type=string,JSONPath=`.spec.fleet`
// +kubebuilder:printcolumn:name="Port",type=integer,JSONPath=`.spec.bindPort`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`

// Gateway is an Envoy listener served to one fleet of proxies.
type Gateway struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec GatewaySpec `json:"spec"`
	// +optional
	Status ResourceStatus `json:"status,omitempty"`
}

// GatewaySpec says where the listener binds, which fleet gets it, and which
// VirtualServices it serves.
type GatewaySpec struct {
	// BindAddress defaults to "::" (all addresses, IPv4 and IPv6).
	// +optional
	BindAddress string `json:"bindAddress,omitempty"`
	// BindPort defaults to 8080.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	BindPort uint32 `json:"bindPort,omitempty"`
	// Fleet is the node.cluster of the proxies that get this listener.
	// Default "default".
	// +optional
	Fleet string `json:"fleet,omitempty"`
	// VirtualServices served by this gateway; empty means all of them.
	// +optional
	VirtualServices []ResourceRef `json:"virtualServices,omitempty"`
}

// +kubebuilder:object:root=true

// GatewayList is a list of Gateways.
type GatewayList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Gateway `json:"items"`
}
