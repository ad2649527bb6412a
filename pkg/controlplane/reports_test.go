package controlplane

import (
	"strings"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/store"
	"github.com/serin-dev/serin/translator"
)

func TestReportsFoldNacksUntilTheyNoLongerStand(t *testing.T) {
	vs := ident.Ref{Kind: v1alpha1.KindVirtualService, Namespace: "default", Name: "myapp"}
	group := ident.Ref{Kind: v1alpha1.KindUpstreamGroup, Namespace: "default", Name: "g"}
	r := NewReports()
	r.SetTranslation([]translator.Report{
		{Ref: vs, State: v1alpha1.StateAccepted},
		{Ref: group, State: v1alpha1.StateWarning, Reason: "spec.destinations[1]: Upstream default/v3 not found"},
	}, store.New().Read())

	standing := map[string]bool{"envoy-1": true, "envoy-2": true}
	calls := 0
	r.SetLive(func() func(Nack) bool {
		calls++
		return func(n Nack) bool { return standing[n.Node] }
	})
	const rds = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
	r.RecordNack(Nack{Node: "envoy-1", TypeURL: rds, Version: "v7", Message: "duplicate domain", Time: time.Now()}, []ident.Ref{vs, group})
	r.RecordNack(Nack{Node: "envoy-2", TypeURL: rds, Version: "v7", Message: "duplicate domain", Time: time.Now()}, []ident.Ref{vs})

	list := r.List()
	if calls != 1 {
		t.Errorf("the live check was built %d times for one List, want once", calls)
	}
	byName := map[string]string{}
	for _, s := range list {
		byName[s.Name] = s.State + " " + s.Reason
	}
	if got := byName["myapp"]; !strings.HasPrefix(got, "Warning ") || !strings.Contains(got, "node envoy-1 rejected RouteConfiguration version v7: duplicate domain") || !strings.Contains(got, "envoy-2") {
		t.Errorf("myapp = %q, want Warning naming both nodes and the message", got)
	}
	if got := byName["g"]; !strings.Contains(got, "Upstream default/v3 not found; node envoy-1 rejected") {
		t.Errorf("g = %q, want its own warning then the NACK", got)
	}

	// envoy-1 moved on (ACKed a later version or left): its NACKs are
	// dropped and forgotten; envoy-2's stays.
	standing["envoy-1"] = false
	time.Sleep(liveTTL)
	if n := r.Nacks(vs); len(n) != 1 || n[0].Node != "envoy-2" {
		t.Fatalf("Nacks(myapp) = %+v, want only envoy-2's", n)
	}
	if n := r.Nacks(group); len(n) != 0 {
		t.Fatalf("Nacks(g) = %+v, want none", n)
	}
	if got, _ := r.Get(group); got.State != v1alpha1.StateWarning || strings.Contains(got.Reason, "rejected") {
		t.Errorf("g = %s %q, want its own Warning only", got.State, got.Reason)
	}
	standing["envoy-2"] = false
	time.Sleep(liveTTL)
	if got, _ := r.Get(vs); got.State != v1alpha1.StateAccepted {
		t.Errorf("myapp = %s %q, want Accepted once no NACK stands", got.State, got.Reason)
	}
	r.mu.RLock()
	left := len(r.nacks)
	r.mu.RUnlock()
	if left != 0 {
		t.Errorf("%d objects still hold NACK entries that no longer stand; the bookkeeping must not grow", left)
	}
}
