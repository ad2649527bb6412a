package canary

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/metrics"
	"github.com/serin-dev/serin/pkg/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

func i64(v int64) *int64     { return &v }
func f64(v float64) *float64 { return &v }
func i32(v int32) *int32     { return &v }

func testCanary(name string, mutate ...func(*v1alpha1.Canary)) *v1alpha1.Canary {
	c := &v1alpha1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Generation: 1},
		Spec: v1alpha1.CanarySpec{
			UpstreamGroup: v1alpha1.ResourceRef{Name: name + "-group"},
			Stable:        v1alpha1.ResourceRef{Name: name + "-v1"},
			Canary:        v1alpha1.ResourceRef{Name: name + "-v2"},
			Steps:         []v1alpha1.CanaryStep{{Weight: 1}, {Weight: 5}, {Weight: 20}, {Weight: 50}, {Weight: 100}},
			Analysis: v1alpha1.CanaryAnalysis{
				Interval: "1s", MinRequests: i64(50), MaxStepDuration: "30s", MaxErrorRate: f64(1),
				CompareWithStable: &v1alpha1.CompareWithStable{Confidence: f64(0.99)},
			},
		},
	}
	for _, m := range mutate {
		m(c)
	}
	c.Default()
	return c
}

type fixture struct {
	t     *testing.T
	clk   *clock
	st    *store.Store
	lrs   *metrics.LRS
	e     *Engine
	state StatusStore
	rel   ReleaseLog
}

func newFixture(t *testing.T, state StatusStore, rel ReleaseLog, canaries ...*v1alpha1.Canary) *fixture {
	t.Helper()
	f := &fixture{t: t, clk: &clock{t: time.Unix(1_700_000_000, 0)}, st: store.New(), state: state, rel: rel}
	f.lrs = metrics.NewLRS(f.clk.Now)
	f.put(canaries...)
	f.e = f.engine()
	return f
}

func (f *fixture) engine() *Engine {
	e, err := New(Config{Store: f.st, Providers: map[string]metrics.Provider{"lrs": f.lrs}, Status: f.state, Releases: f.rel, Now: f.clk.Now,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := e.Restore(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	return e
}

func (f *fixture) put(cs ...*v1alpha1.Canary) {
	err := f.st.Update(func(tx *store.WriteTxn) error {
		for _, c := range cs {
			if err := tx.Put("test", store.Entry{Obj: c}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// traffic sends n calls split by the canary's current weight, with the
// given error counts, as one LRS report per cluster, then lets time pass.
func (f *fixture) traffic(name string, canaryN, canaryErr, stableN, stableErr uint64, d time.Duration) {
	now := f.clk.Add(d)
	if canaryN > 0 {
		f.lrs.Observe(name+"-v2_default", canaryN-canaryErr, canaryErr, now)
	}
	if stableN > 0 {
		f.lrs.Observe(name+"-v1_default", stableN-stableErr, stableErr, now)
	}
}

func (f *fixture) due() { f.e.due(context.Background(), f.clk.Now()) }
func (f *fixture) view(name string) View {
	v, _ := f.e.Get(ident.Key{Namespace: "default", Name: name})
	return v
}
func (f *fixture) weights(name string) map[string]uint32 {
	st, ok := f.st.Read().CanaryState(ident.Key{Namespace: "default", Name: name})
	if !ok {
		f.t.Fatalf("no canary state for %s", name)
	}
	return st.Weights
}

func TestHealthyReleaseWalksEveryStep(t *testing.T) {
	f := newFixture(t, nil, nil, testCanary("app"))
	if v := f.view("app"); v.Phase != v1alpha1.PhasePending {
		t.Fatalf("phase %s, want Pending", v.Phase)
	}
	if w := f.weights("app"); w["default/app-v1"] != 100 || w["default/app-v2"] != 0 {
		t.Fatalf("pending weights %v, want stable 100", w)
	}
	f.due() // no gates: step 0
	var walked []int32
	for i := 0; i < 200 && f.view("app").Phase == v1alpha1.PhaseProgressing; i++ {
		v := f.view("app")
		if len(walked) == 0 || walked[len(walked)-1] != v.Weight {
			walked = append(walked, v.Weight)
			if w := f.weights("app"); w["default/app-v2"] != uint32(v.Weight) || w["default/app-v1"] != uint32(100-v.Weight) {
				t.Fatalf("step %d: store weights %v, want %d/%d", v.Step, w, 100-v.Weight, v.Weight)
			}
		}
		f.traffic("app", 30, 0, 300, 1, 500*time.Millisecond)
		f.due()
	}
	v := f.view("app")
	if v.Phase != v1alpha1.PhaseSucceeded || fmt.Sprint(walked) != "[1 5 20 50 100]" {
		t.Fatalf("phase %s after walking %v, want Succeeded after [1 5 20 50 100]; decisions %+v", v.Phase, walked, v.Decisions)
	}
	if w := f.weights("app"); w["default/app-v2"] != 100 {
		t.Fatalf("succeeded weights %v", w)
	}
	hist, _ := f.e.History(ident.Key{Namespace: "default", Name: "app"})
	if len(hist) != 1 || hist[0].Outcome != v1alpha1.PhaseSucceeded || len(hist[0].Decisions) < 6 {
		t.Fatalf("release history %+v", hist)
	}
	for _, d := range hist[0].Decisions {
		if d.Verdict == "Pass" && (d.CanaryRequests < 50 || d.CanaryErrorRate == "") {
			t.Fatalf("a pass must carry its numbers: %+v", d)
		}
	}
}

func TestHardBreachRollsBackOnTheReport(t *testing.T) {
	f := newFixture(t, nil, nil, testCanary("app"))
	f.due()
	f.clk.Add(2 * time.Second)
	f.due() // settle passed: the window is marked
	f.traffic("app", 40, 3, 4000, 4, 100*time.Millisecond)
	f.e.onClusterReport(context.Background(), "lrs", "app-v2_default", f.clk.Now())
	if v := f.view("app"); v.Phase != v1alpha1.PhaseProgressing {
		t.Fatalf("rolled back with 40 < minRequests samples: %s", v.Phase)
	}
	at := f.clk.Add(100 * time.Millisecond)
	f.lrs.Observe("app-v2_default", 17, 3, at) // 60 requests, 6 errors: 10% > 1%
	f.e.onClusterReport(context.Background(), "lrs", "app-v2_default", at)
	v := f.view("app")
	if v.Phase != v1alpha1.PhaseRolledBack {
		t.Fatalf("phase %s, want RolledBack on the report", v.Phase)
	}
	last := v.Decisions[len(v.Decisions)-1]
	if !last.At.Equal(at) || last.CanaryRequests != 60 || last.CanaryErrors != 6 || last.CanaryErrorRate != "10.00" {
		t.Fatalf("rollback decision %+v, want the report's time and numbers", last)
	}
	if w := f.weights("app"); w["default/app-v1"] != 100 || w["default/app-v2"] != 0 {
		t.Fatalf("weights after rollback %v", w)
	}
}

func TestLowTrafficExtendsThenPauses(t *testing.T) {
	f := newFixture(t, nil, nil, testCanary("app"), testCanary("strict", func(c *v1alpha1.Canary) {
		c.Spec.Analysis.OnInsufficientTraffic = v1alpha1.InsufficientTrafficFail
	}))
	f.due()
	for i := 0; i < 35; i++ {
		f.traffic("app", 1, 0, 100, 0, time.Second)
		f.traffic("strict", 1, 0, 100, 0, 0)
		f.due()
		if p := f.view("app").Phase; i < 28 && p != v1alpha1.PhaseProgressing {
			t.Fatalf("after %ds: %s, want the step extended", i+1, p)
		}
	}
	v := f.view("app")
	if v.Phase != v1alpha1.PhasePaused || v.Weight != 1 {
		t.Fatalf("phase %s weight %d, want Paused at 1%%", v.Phase, v.Weight)
	}
	if s := f.view("strict"); s.Phase != v1alpha1.PhaseFailed {
		t.Fatalf("onInsufficientTraffic Fail: %s", s.Phase)
	}
	var extended bool
	for _, d := range v.Decisions {
		extended = extended || d.Verdict == "Extended"
	}
	if !extended {
		t.Fatalf("no Extended decision: %+v", v.Decisions)
	}
	// Resume: a fresh window for the same step.
	ctx := context.Background()
	go f.e.Run(ctx)
	if _, err := f.e.Do(ctx, ident.Key{Namespace: "default", Name: "app"}, OpResume, false, "test"); err != nil {
		t.Fatal(err)
	}
	if v := f.view("app"); v.Phase != v1alpha1.PhaseProgressing || v.Step != 0 {
		t.Fatalf("after resume: %s step %d", v.Phase, v.Step)
	}
}

func TestRestartResumesTheStep(t *testing.T) {
	fs, err := NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, fs, fs, testCanary("app"))
	f.due()
	for f.view("app").Step < 2 {
		f.traffic("app", 30, 0, 300, 0, 500*time.Millisecond)
		f.due()
	}
	before := f.view("app")
	f.clk.Add(3 * time.Second)
	// A new process: new store (the source reloads the Canary), new
	// provider, same state dir.
	f.st = store.New()
	f.lrs = metrics.NewLRS(f.clk.Now)
	f.put(testCanary("app"))
	f.e = f.engine()
	after := f.view("app")
	if after.Phase != v1alpha1.PhaseProgressing || after.Step != before.Step || after.Weight != before.Weight {
		t.Fatalf("after restart %s step %d weight %d, want step %d weight %d", after.Phase, after.Step, after.Weight, before.Step, before.Weight)
	}
	if !after.StepStarted.Equal(before.StepStarted.Truncate(time.Second)) {
		t.Fatalf("step start %v, want %v", after.StepStarted, before.StepStarted)
	}
	if w := f.weights("app"); w["default/app-v2"] != uint32(before.Weight) {
		t.Fatalf("restored weights %v", w)
	}
	// A changed spec.canary is a new release.
	f.put(testCanary("app", func(c *v1alpha1.Canary) { c.Spec.Canary.Name = "app-v3"; c.Generation = 2 }))
	f.e.sync(context.Background(), f.clk.Now())
	if v := f.view("app"); v.Phase != v1alpha1.PhasePending || v.Release != "default/app-v3" {
		t.Fatalf("new release: %s %s", v.Phase, v.Release)
	}
	hist, _ := fs.Releases(ident.Key{Namespace: "default", Name: "app"})
	if len(hist) != 2 || hist[1].Number != 2 {
		t.Fatalf("history has %d releases", len(hist))
	}
}

func TestManualOperations(t *testing.T) {
	f := newFixture(t, nil, nil, testCanary("app"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.e.Run(ctx)
	k := ident.Key{Namespace: "default", Name: "app"}
	do := func(o Operation, full bool) View {
		v, err := f.e.Do(ctx, k, o, full, "test")
		if err != nil {
			t.Fatalf("%s: %v", o, err)
		}
		return v
	}
	if v := do(OpPromote, false); v.Phase != v1alpha1.PhaseProgressing || v.Weight != 1 {
		t.Fatalf("promote from Pending: %s %d", v.Phase, v.Weight)
	}
	if v := do(OpPromote, false); v.Weight != 5 {
		t.Fatalf("promote: weight %d, want 5", v.Weight)
	}
	if v := do(OpPause, false); v.Phase != v1alpha1.PhasePaused {
		t.Fatalf("pause: %s", v.Phase)
	}
	if _, err := f.e.Do(ctx, k, OpRetry, false, ""); err == nil {
		t.Fatal("retry of a paused rollout must conflict")
	}
	if v := do(OpAbort, false); v.Phase != v1alpha1.PhaseRolledBack || f.weights("app")["default/app-v1"] != 100 {
		t.Fatalf("abort: %s", v.Phase)
	}
	if v := do(OpRetry, false); v.Phase != v1alpha1.PhasePending {
		t.Fatalf("retry: %s", v.Phase)
	}
	if v := do(OpPromote, true); v.Phase != v1alpha1.PhaseSucceeded || f.weights("app")["default/app-v2"] != 100 {
		t.Fatalf("full promote: %s", v.Phase)
	}
	if _, err := f.e.Do(ctx, ident.Key{Namespace: "default", Name: "nope"}, OpPause, false, ""); err == nil {
		t.Fatal("unknown canary must fail")
	}
}

func TestWebhookGatesHoldTheRollout(t *testing.T) {
	var mu sync.Mutex
	allow := false
	var got []WebhookPayload
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p WebhookPayload
		json.NewDecoder(r.Body).Decode(&p)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, p)
		if p.Type == v1alpha1.WebhookPreRollout && !allow {
			http.Error(w, "change freeze", http.StatusForbidden)
		}
	}))
	defer srv.Close()
	f := newFixture(t, nil, nil, testCanary("app", func(c *v1alpha1.Canary) {
		c.Spec.Webhooks = []v1alpha1.CanaryWebhook{
			{Name: "freeze", Type: v1alpha1.WebhookPreRollout, URL: srv.URL},
			{Name: "pager", Type: v1alpha1.WebhookRollback, URL: srv.URL, Timeout: "1s"},
		}
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.e.Run(ctx)
	wait := func(what string, cond func() bool) {
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (view %+v)", what, f.view("app"))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	wait("the gate to hold", func() bool { return f.view("app").Message != "" && f.view("app").Message[:4] == "held" })
	mu.Lock()
	allow = true
	mu.Unlock()
	f.clk.Add(2 * time.Second)
	wait("the gate to open", func() bool { return f.view("app").Phase == v1alpha1.PhaseProgressing })
	if _, err := f.e.Do(ctx, ident.Key{Namespace: "default", Name: "app"}, OpAbort, false, ""); err != nil {
		t.Fatal(err)
	}
	wait("the rollback webhook", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range got {
			if p.Type == v1alpha1.WebhookRollback && p.Phase == v1alpha1.PhaseRolledBack {
				return true
			}
		}
		return false
	})
}
