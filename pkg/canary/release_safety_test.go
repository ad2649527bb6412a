package canary

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/store"
)

// A pause freezes stepping forward, never the protection: a paused canary
// that fails is rolled back without anyone resuming it.
func TestPausedCanaryStillRollsBack(t *testing.T) {
	f := newFixture(t, nil, nil, testCanary("app"))
	k := ident.Key{Namespace: "default", Name: "app"}
	f.due() // step 0: 1%
	f.clk.Add(2 * time.Second)
	f.due() // settled: the window is marked
	if v, err := f.do("app", OpPause, false, "10.0.0.9:555"); err != nil || v.Phase != v1alpha1.PhasePaused || v.Weight != 1 {
		t.Fatalf("pause: %v %s %d", err, v.Phase, v.Weight)
	}
	f.traffic("app", 100, 10, 10000, 10, time.Second) // 10% canary errors
	f.due()
	v := f.view("app")
	if v.Phase != v1alpha1.PhaseRolledBack {
		t.Fatalf("paused and failing 10%%: %s, want RolledBack", v.Phase)
	}
	if w := f.weights("app"); w["default/app-v1"] != 100 || w["default/app-v2"] != 0 {
		t.Fatalf("weights %v, want stable 100", w)
	}
	var pause, rollback *DecisionView
	for i := range v.Decisions {
		switch v.Decisions[i].Verdict {
		case "Paused":
			pause = &v.Decisions[i]
		case "RolledBack":
			rollback = &v.Decisions[i]
		}
	}
	if pause == nil || !pause.Manual || pause.Actor != "10.0.0.9:555" {
		t.Fatalf("the pause must be recorded as manual by its actor: %+v", pause)
	}
	if rollback == nil || rollback.Manual || rollback.Actor != "" {
		t.Fatalf("the automatic rollback must not be manual: %+v", rollback)
	}
	hist, _ := f.e.History(k)
	if n := len(hist); n != 1 || !slices.ContainsFunc(hist[0].Decisions, func(d v1alpha1.CanaryDecision) bool { return d.Manual && d.Verdict == "Paused" }) {
		t.Fatalf("release history without the manual pause: %+v", hist)
	}
}

// do applies an operation as the engine's loop would, on the test's
// goroutine (no Run).
func (f *fixture) do(name string, o Operation, full bool, who string) (View, error) {
	r := f.e.operate(context.Background(), op{key: ident.Key{Namespace: "default", Name: name}, what: o, full: full, who: who})
	return r.view, r.err
}

// The store state carries what the translator needs: the canary, the
// stickiness, and the abTest cohort while the cohort step runs.
func TestCanaryStateCarriesCohortAndStickiness(t *testing.T) {
	f := newFixture(t, nil, nil, testCanary("app", abTest, func(c *v1alpha1.Canary) {
		c.Spec.Stickiness = &v1alpha1.CanaryStickiness{Header: "x-user"}
	}))
	state := func() *store.CanaryState {
		st, ok := f.st.Read().CanaryState(ident.Key{Namespace: "default", Name: "app"})
		if !ok {
			t.Fatal("no canary state")
		}
		return st
	}
	if st := state(); st.Canary != "default/app-v2" || st.Stickiness == nil || st.Stickiness.Header != "x-user" || st.Cohort != nil {
		t.Fatalf("Pending: canary %q stickiness %+v cohort %+v", st.Canary, st.Stickiness, st.Cohort)
	}
	f.due() // the cohort step
	st := state()
	if st.Cohort == nil || len(st.Cohort.Headers) != 1 || st.Weights["default/app-v1"] != 100 || st.Weights["default/app-v2"] != 0 || st.Status.Weight != 0 {
		t.Fatalf("cohort step: cohort %+v weights %v status weight %d", st.Cohort, st.Weights, st.Status.Weight)
	}
	for f.view("app").Phase == v1alpha1.PhaseProgressing {
		f.traffic("app", 30, 0, 300, 0, 500*time.Millisecond)
		f.due()
	}
	st = state()
	if v := f.view("app"); v.Phase != v1alpha1.PhaseSucceeded || st.Cohort != nil || st.Weights["default/app-v2"] != 100 || st.Canary != "default/app-v2" || st.Stickiness == nil {
		t.Fatalf("after the cohort: %s, cohort %+v weights %v", v.Phase, st.Cohort, st.Weights)
	}
}
