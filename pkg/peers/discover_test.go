package peers

import (
	"context"
	"slices"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

func TestStatic(t *testing.T) {
	d, err := Static([]string{" http://10.0.0.5:19000/ ", "", "https://[fd00::1]:19000"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := d(context.Background())
	if !slices.Equal(got, []string{"http://10.0.0.5:19000", "https://[fd00::1]:19000"}) {
		t.Fatalf("got %v", got)
	}
	for _, bad := range []string{"10.0.0.5:19000", "ftp://x", "http://"} {
		if _, err := Static([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestEndpointSlices(t *testing.T) {
	ptr := func(s string) *string { return &s }
	port := func(p int32) *int32 { return &p }
	ready := func(b bool) *bool { return &b }
	slice := func(name, svc string, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: "serin-system", Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports: []discoveryv1.EndpointPort{
				{Name: ptr("grpc-xds"), Port: port(18000)},
				{Name: ptr("http-admin"), Port: port(19000)},
			},
			Endpoints: eps,
		}
	}
	kc := kubefake.NewClientset(
		slice("serin-abc", "serin",
			discoveryv1.Endpoint{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ready(true)}},
			discoveryv1.Endpoint{Addresses: []string{"10.0.0.2"}},                                                                  // unknown means ready
			discoveryv1.Endpoint{Addresses: []string{"10.0.0.3"}, Conditions: discoveryv1.EndpointConditions{Ready: ready(false)}}, // not ready
		),
		slice("serin-def", "serin", discoveryv1.Endpoint{Addresses: []string{"10.0.0.4"}}),
		slice("other-xyz", "other", discoveryv1.Endpoint{Addresses: []string{"10.0.9.9"}}),
	)
	got, err := EndpointSlices(kc, "serin-system", "serin", AdminPortName)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"http://10.0.0.1:19000", "http://10.0.0.2:19000", "http://10.0.0.4:19000"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got, _ := EndpointSlices(kc, "serin-system", "serin", "metrics")(context.Background()); len(got) != 0 {
		t.Fatalf("no port by that name: got %v", got)
	}
}
