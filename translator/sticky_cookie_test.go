package translator

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// A sticky cookie is set by Envoy only while a hash load balancer picks
// the endpoint: the Canary says so for each of its Upstreams that does
// not balance by hash.
func TestStickyCookieNeedsHashLB(t *testing.T) {
	v1, v2 := staticUpstream("v1", 80), staticUpstream("v2", 81)
	v2.Spec.LoadBalancer = &v1alpha1.LoadBalancer{RingHash: &v1alpha1.RingHashLB{}}
	g := &v1alpha1.UpstreamGroup{ObjectMeta: metav1.ObjectMeta{Name: "g", Namespace: "default"}, Spec: v1alpha1.UpstreamGroupSpec{
		Destinations: []v1alpha1.WeightedDestination{
			{Destination: v1alpha1.Destination{Upstream: v1alpha1.ResourceRef{Name: "v1"}}, Weight: 90},
			{Destination: v1alpha1.Destination{Upstream: v1alpha1.ResourceRef{Name: "v2"}}, Weight: 10},
		}}}
	c := &v1alpha1.Canary{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "default"}, Spec: v1alpha1.CanarySpec{
		UpstreamGroup: v1alpha1.ResourceRef{Name: "g"}, Stable: v1alpha1.ResourceRef{Name: "v1"}, Canary: v1alpha1.ResourceRef{Name: "v2"},
		Steps:      []v1alpha1.CanaryStep{{Weight: 10}, {Weight: 100}},
		Stickiness: &v1alpha1.CanaryStickiness{Cookie: &v1alpha1.StickyCookie{Name: "serin-canary"}},
	}}
	c.Default()
	out := Translate(&Input{
		Upstreams:      Objects(v1, v2),
		UpstreamGroups: Objects(g),
		Canaries:       Objects(c),
	}, Options{})
	r := reportOf(t, out, v1alpha1.KindCanary, "c")
	if r.State != v1alpha1.StateWarning || !strings.Contains(r.Reason, "spec.stable: stickiness.cookie: Envoy sets the cookie only when the Upstream balances by hash") {
		t.Fatalf("report %s %q, want a Warning about spec.stable's round robin", r.State, r.Reason)
	}
	if strings.Contains(r.Reason, "spec.canary:") {
		t.Fatalf("the ring-hash canary Upstream is warned about: %q", r.Reason)
	}
	c.Spec.Stickiness = &v1alpha1.CanaryStickiness{Header: "x-user-id"}
	out = Translate(&Input{Upstreams: Objects(v1, v2), UpstreamGroups: Objects(g), Canaries: Objects(c)}, Options{})
	if r := reportOf(t, out, v1alpha1.KindCanary, "c"); r.State != v1alpha1.StateAccepted {
		t.Fatalf("header stickiness: %s %q, want Accepted", r.State, r.Reason)
	}
}
