package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +genclient
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ug,categories=serin
// +kubebuilder:printcolumn:name="First",type=string,JSONPath=`.spec.destinations[0].destination.upstream.name`
// +kubebuilder:printcolumn:name="Weight",type=integer,JSONPath=`.spec.destinations[0].weight`
// +kubebuilder:printcolumn:name="Second",type=string,JSONPath=`.spec.destinations[1].destination.upstream.name`
// +kubebuilder:printcolumn:name="Weight",type=integer,JSONPath=`.spec.destinations[1].weight`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`

// UpstreamGroup splits requests between upstreams by weight.
type UpstreamGroup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec UpstreamGroupSpec `json:"spec"`
	// +optional
	Status ResourceStatus `json:"status,omitempty"`
}

// UpstreamGroupSpec is the weighted list of destinations.
type UpstreamGroupSpec struct {
	// +kubebuilder:validation:MinItems=1
	Destinations []WeightedDestination `json:"destinations"`
}

// WeightedDestination is one destination and its share. Shares are relative:
// 90 and 10 send 90% and 10% of requests.
type WeightedDestination struct {
	Destination Destination `json:"destination"`
	// +kubebuilder:validation:Minimum=0
	Weight int64 `json:"weight"`
}

// Destination names an upstream.
type Destination struct {
	Upstream ResourceRef `json:"upstream"`
}

// +kubebuilder:object:root=true

// UpstreamGroupList is a list of UpstreamGroups.
type UpstreamGroupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []UpstreamGroup `json:"items"`
}
