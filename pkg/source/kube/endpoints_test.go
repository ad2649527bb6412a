package kube

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/store"
)

type fakeLookup struct {
	svcs map[string]*corev1.Service
	slcs map[string][]*discoveryv1.EndpointSlice
	pods map[string]map[string]string
}

func (f fakeLookup) service(ns, name string) *corev1.Service { return f.svcs[ns+"/"+name] }
func (f fakeLookup) slices(ns, name string) []*discoveryv1.EndpointSlice {
	return f.slcs[ns+"/"+name]
}
func (f fakeLookup) podLabels(ns, name string) (map[string]string, bool) {
	l, ok := f.pods[ns+"/"+name]
	return l, ok
}

func testService(ns, name string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{Ports: ports}}
}

func endpoint(addr, zone, pod string, ready bool) discoveryv1.Endpoint {
	ep := discoveryv1.Endpoint{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready)}}
	if zone != "" {
		ep.Zone = ptr.To(zone)
	}
	if pod != "" {
		ep.TargetRef = &corev1.ObjectReference{Kind: "Pod", Name: pod}
	}
	return ep
}

func slice(name string, typ discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name}, AddressType: typ, Ports: ports, Endpoints: eps}
}

func kubeUpstream(port uint32, sel map[string]string) *v1alpha1.Upstream {
	return &v1alpha1.Upstream{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec:       v1alpha1.UpstreamSpec{Kube: &v1alpha1.KubeUpstream{ServiceName: "web", ServiceNamespace: "apps", ServicePort: port, Selector: sel}},
	}
}

func TestResolveEndpoints(t *testing.T) {
	httpPort := []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}, {Name: ptr.To("metrics"), Port: ptr.To[int32](9090)}}
	l := fakeLookup{
		svcs: map[string]*corev1.Service{"apps/web": testService("apps", "web",
			corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromString("http")},
			corev1.ServicePort{Name: "metrics", Port: 9090})},
		slcs: map[string][]*discoveryv1.EndpointSlice{"apps/web": {
			slice("web-a", discoveryv1.AddressTypeIPv4, httpPort,
				endpoint("10.0.0.2", "zone-b", "web-v2-x", true),
				endpoint("10.0.0.1", "zone-a", "web-v1-x", true),
				endpoint("10.0.0.9", "zone-a", "web-v1-y", false), // not ready
			),
			// An overlapping slice during a handover repeats an endpoint.
			slice("web-b", discoveryv1.AddressTypeIPv4, httpPort, endpoint("10.0.0.1", "zone-a", "web-v1-x", true)),
			slice("web-fqdn", discoveryv1.AddressTypeFQDN, httpPort, endpoint("web.example.com", "", "", true)),
		}},
		pods: map[string]map[string]string{
			"apps/web-v1-x": {"app": "web", "version": "v1"},
			"apps/web-v2-x": {"app": "web", "version": "v2"},
		},
	}
	terminating := endpoint("10.0.0.7", "", "", true)
	terminating.Conditions.Terminating = ptr.To(true)
	l.slcs["apps/web"][0].Endpoints = append(l.slcs["apps/web"][0].Endpoints, terminating)

	for _, tc := range []struct {
		name string
		up   *v1alpha1.Upstream
		want []store.EndpointAddr
	}{
		{"service port maps to the slice port by name", kubeUpstream(80, nil), []store.EndpointAddr{
			{Address: "10.0.0.1", Port: 8080, Zone: "zone-a"},
			{Address: "10.0.0.2", Port: 8080, Zone: "zone-b"},
		}},
		{"second port", kubeUpstream(9090, nil), []store.EndpointAddr{
			{Address: "10.0.0.1", Port: 9090, Zone: "zone-a"},
			{Address: "10.0.0.2", Port: 9090, Zone: "zone-b"},
		}},
		{"selector keeps matching pods", kubeUpstream(80, map[string]string{"version": "v2"}), []store.EndpointAddr{
			{Address: "10.0.0.2", Port: 8080, Zone: "zone-b"},
		}},
		{"selector matching nothing", kubeUpstream(80, map[string]string{"version": "v3"}), []store.EndpointAddr{}},
		{"port the service lacks", kubeUpstream(81, nil), []store.EndpointAddr{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := resolveEndpoints(l, tc.up)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	missing := kubeUpstream(80, nil)
	missing.Spec.Kube.ServiceName = "nope"
	if got := resolveEndpoints(l, missing); got == nil || len(got) != 0 {
		t.Fatalf("missing service: %v", got)
	}
}
