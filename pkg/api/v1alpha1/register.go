package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const (
	// GroupName is the API group of every serin kind.
	GroupName = "serin.dev"
	// Version is the only served version.
	Version = "v1alpha1"
)

// Kind names, as they appear in YAML and in reports.
const (
	KindUpstream       = "Upstream"
	KindUpstreamGroup  = "UpstreamGroup"
	KindVirtualService = "VirtualService"
	KindGateway        = "Gateway"
	KindCanary         = "Canary"
)

var (
	// SchemeGroupVersion is group version used to register these objects.
	SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: Version}
	// SchemeBuilder registers the serin kinds with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the serin kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// Resource takes an unqualified resource and returns a Group qualified GroupResource.
func Resource(resource string) schema.GroupResource {
	return SchemeGroupVersion.WithResource(resource).GroupResource()
}

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion,
		&Upstream{}, &UpstreamList{},
		&UpstreamGroup{}, &UpstreamGroupList{},
		&VirtualService{}, &VirtualServiceList{},
		&Gateway{}, &GatewayList{},
		&Canary{}, &CanaryList{},
	)
	metav1.AddToGroupVersion(scheme, SchemeGroupVersion)
	return nil
}

// New returns an empty object of a serin kind, or false for another kind.
func New(kind string) (metav1.Object, bool) {
	switch kind {
	case KindUpstream:
		return &Upstream{}, true
	case KindUpstreamGroup:
		return &UpstreamGroup{}, true
	case KindVirtualService:
		return &VirtualService{}, true
	case KindGateway:
		return &Gateway{}, true
	case KindCanary:
		return &Canary{}, true
	}
	return nil, false
}
