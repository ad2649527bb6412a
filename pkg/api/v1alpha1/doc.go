// Package v1alpha1 holds serin's API: Upstream, UpstreamGroup,
// VirtualService, Gateway and Canary in the group serin.dev.
//
// Field names follow Gloo Edge's (gloo.solo.io/v1, gateway.solo.io/v1) so
// that users can bring their YAML; the file source loads those apiVersions as
// aliases of this one.
//
// +kubebuilder:object:generate=true
// +groupName=serin.dev
package v1alpha1
