package controlplane

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/store"
	"github.com/serin-dev/serin/translator"
)

// The NACKs that stand against an object (the xDS server says which:
// xds.Server.StandingNacks) turn it Warning, naming every node and the
// message, after its own reason; once none stands it is what translation
// made it.
func TestReportsFoldNacksUntilTheyNoLongerStand(t *testing.T) {
	vs := ident.Ref{Kind: v1alpha1.KindVirtualService, Namespace: "default", Name: "myapp"}
	group := ident.Ref{Kind: v1alpha1.KindUpstreamGroup, Namespace: "default", Name: "g"}
	r := NewReports()
	r.SetTranslation([]translator.Report{
		{Ref: vs, State: v1alpha1.StateAccepted},
		{Ref: group, State: v1alpha1.StateWarning, Reason: "spec.destinations[1]: Upstream default/v3 not found"},
	}, store.New().Read())

	const rds = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
	nack := func(node string) v1alpha1.NackStatus {
		return v1alpha1.NackStatus{Node: node, TypeURL: rds, Version: "v7", Message: "duplicate domain", Time: metav1.Now()}
	}
	standing := map[ident.Ref][]v1alpha1.NackStatus{
		vs:    {nack("envoy-2"), nack("envoy-1")},
		group: {nack("envoy-1")},
	}
	r.SetNacks(func(o ident.Ref) []v1alpha1.NackStatus { return standing[o] })

	byName := map[string]string{}
	for _, s := range r.List() {
		byName[s.Name] = s.State + " " + s.Reason
	}
	if got := byName["myapp"]; !strings.HasPrefix(got, "Warning node envoy-1 rejected RouteConfiguration version v7: duplicate domain; node envoy-2") {
		t.Errorf("myapp = %q, want Warning naming both nodes (in node order) and the message", got)
	}
	if got := byName["g"]; !strings.Contains(got, "Upstream default/v3 not found; node envoy-1 rejected") {
		t.Errorf("g = %q, want its own warning then the NACK", got)
	}
	if n := r.Nacks(vs); len(n) != 2 || n[0].Node != "envoy-2" {
		t.Errorf("Nacks(myapp) = %+v, want both, as the source orders them", n)
	}
	if standing[vs][0].Node != "envoy-2" {
		t.Error("folding reordered the source's slice")
	}

	// envoy-1 moved on (was sent a later version, or left): only
	// envoy-2's stands.
	standing[vs], standing[group] = standing[vs][:1], nil
	if n := r.Nacks(vs); len(n) != 1 || n[0].Node != "envoy-2" {
		t.Fatalf("Nacks(myapp) = %+v, want only envoy-2's", n)
	}
	if n := r.Nacks(group); len(n) != 0 {
		t.Fatalf("Nacks(g) = %+v, want none", n)
	}
	if got, _ := r.Get(group); got.State != v1alpha1.StateWarning || strings.Contains(got.Reason, "rejected") {
		t.Errorf("g = %s %q, want its own Warning only", got.State, got.Reason)
	}
	delete(standing, vs)
	if got, _ := r.Get(vs); got.State != v1alpha1.StateAccepted {
		t.Errorf("myapp = %s %q, want Accepted once no NACK stands", got.State, got.Reason)
	}
}
