package canary

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/metrics"
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

// walkedToStep2 runs app on a FileStore until it is at step 2 (20%).
func walkedToStep2(t *testing.T) (*fixture, string) {
	t.Helper()
	dir := t.TempDir()
	fs, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, fs, fs, testCanary("app"))
	f.due()
	for f.view("app").Step < 2 {
		f.traffic("app", 30, 0, 300, 0, 500*time.Millisecond)
		f.due()
	}
	return f, dir
}

// A saved status that cannot be read: Error, with the weights of the
// readable copy, and nothing acts until an operator does.
func TestUnreadableStatusKeepsTheServedWeights(t *testing.T) {
	f, dir := walkedToStep2(t)
	if w := f.weights("app"); w["default/app-v2"] != 20 {
		t.Fatalf("weights %v, want 80/20", w)
	}
	main := filepath.Join(dir, "status", "default", "app.json")
	restart := func() {
		f.st = store.New()
		f.lrs = metrics.NewLRS(f.clk.Now)
		f.put(testCanary("app"))
		f.e = f.engine()
	}
	if err := os.WriteFile(main, []byte(`{"phase": "Progre`), 0o644); err != nil {
		t.Fatal(err)
	}
	restart()
	v := f.view("app")
	if v.Phase != v1alpha1.PhaseError || v.Weight != 20 || v.Step != 2 || !strings.Contains(v.Message, main) || !strings.Contains(v.Message, "unexpected end of JSON input") {
		t.Fatalf("corrupt status: %s step %d weight %d %q, want Error at step 2, 20%%, naming the file and the error", v.Phase, v.Step, v.Weight, v.Message)
	}
	if w := f.weights("app"); w["default/app-v1"] != 80 || w["default/app-v2"] != 20 {
		t.Fatalf("weights %v, want 80/20 kept", w)
	}
	if _, err := os.Stat(filepath.Join(dir, "status", "default", "app.json.corrupt")); err != nil {
		t.Fatalf("the damaged file is not kept aside: %v", err)
	}
	// Nothing acts: no check, no step, whatever the traffic.
	for range 5 {
		f.traffic("app", 300, 0, 3000, 0, 2*time.Second)
		f.due()
	}
	if v := f.view("app"); v.Phase != v1alpha1.PhaseError || v.Weight != 20 {
		t.Fatalf("Error acted: %s %d", v.Phase, v.Weight)
	}
	// A restart stays in Error with the same weights.
	restart()
	if v := f.view("app"); v.Phase != v1alpha1.PhaseError || v.Weight != 20 || !strings.Contains(v.Message, main) {
		t.Fatalf("after a restart in Error: %s %d %q", v.Phase, v.Weight, v.Message)
	}
	// An operator acts: undo goes to the stable.
	f.putUpstream("app-v1")
	if v, err := f.do("app", OpUndo, false, "ops"); err != nil || v.Phase != v1alpha1.PhaseRolledBack {
		t.Fatalf("undo from Error: %v %s", err, v.Phase)
	}
	if w := f.weights("app"); w["default/app-v1"] != 100 {
		t.Fatalf("weights after undo %v", w)
	}
}

// Neither copy readable: the stable at 100%, never the group's spec.
func TestUnreadableStatusWithoutACopyServesTheStable(t *testing.T) {
	f, dir := walkedToStep2(t)
	for _, n := range []string{"app.json", "app.json.prev"} {
		if err := os.WriteFile(filepath.Join(dir, "status", "default", n), []byte("\x00\x01garbage"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f.st = store.New()
	f.put(testCanary("app"))
	f.e = f.engine()
	v := f.view("app")
	if v.Phase != v1alpha1.PhaseError || v.Weight != 0 || !strings.Contains(v.Message, "stable at 100%") || !strings.Contains(v.Message, "app.json.prev") {
		t.Fatalf("both copies corrupt: %s weight %d %q", v.Phase, v.Weight, v.Message)
	}
	if w := f.weights("app"); w["default/app-v1"] != 100 || w["default/app-v2"] != 0 {
		t.Fatalf("weights %v, want the stable at 100%%", w)
	}
	// retry starts a new release.
	if v, err := f.do("app", OpRetry, false, "ops"); err != nil || v.Phase != v1alpha1.PhasePending {
		t.Fatalf("retry from Error: %v %s", err, v.Phase)
	}
}

// putUpstream adds an Upstream to the store (undo needs the stable's).
func (f *fixture) putUpstream(name string) {
	f.t.Helper()
	err := f.st.Update(func(tx *store.WriteTxn) error {
		return tx.Put("test", store.Entry{Obj: &v1alpha1.Upstream{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}})
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// failingSaves fails the next n status saves.
type failingSaves struct {
	*MemoryStore
	mu sync.Mutex
	n  int
}

func (f *failingSaves) failNext(n int) { f.mu.Lock(); f.n = n; f.mu.Unlock() }

func (f *failingSaves) Save(ctx context.Context, k ident.Key, st *v1alpha1.CanaryStatus) error {
	f.mu.Lock()
	fail := f.n > 0
	if fail {
		f.n--
	}
	f.mu.Unlock()
	if fail {
		return errors.New("etcd unavailable")
	}
	return f.MemoryStore.Save(ctx, k, st)
}

// A rollback whose save fails is retried with backoff until it is saved,
// Ready says so meanwhile, and a restart before it is saved does not
// resume the release it rolled back.
func TestRollbackSaveIsRetried(t *testing.T) {
	mem := NewMemoryStore()
	fs := &failingSaves{MemoryStore: mem}
	f := newFixture(t, fs, mem, testCanary("app"))
	k := ident.Key{Namespace: "default", Name: "app"}
	f.due()
	for f.view("app").Step < 2 {
		f.traffic("app", 30, 0, 300, 0, 500*time.Millisecond)
		f.due()
	}
	if err := f.e.Ready(); err != nil {
		t.Fatalf("ready before: %v", err)
	}
	fs.failNext(3)
	if v, err := f.do("app", OpAbort, false, "ops"); err != nil || v.Phase != v1alpha1.PhaseRolledBack {
		t.Fatalf("abort: %v %s", err, v.Phase)
	}
	if w := f.weights("app"); w["default/app-v1"] != 100 {
		t.Fatalf("the rollback is served whatever the save: %v", w)
	}
	saved := func() v1alpha1.CanaryPhase { st, _ := mem.Load(context.Background(), k); return st.Phase }
	if err := f.e.Ready(); err == nil || !strings.Contains(err.Error(), "default/app") || saved() != v1alpha1.PhaseProgressing {
		t.Fatalf("unsaved rollback: Ready %v, saved %s", err, saved())
	}

	// A restart now (before any retry): the release log's rollback wins
	// over the saved Progressing.
	restarted := &fixture{t: t, clk: f.clk, st: store.New(), state: mem, rel: mem}
	restarted.lrs = metrics.NewLRS(f.clk.Now)
	restarted.put(testCanary("app"))
	restarted.e = restarted.engine()
	if v := restarted.view("app"); v.Phase != v1alpha1.PhaseRolledBack || v.Weight != 0 {
		t.Fatalf("restart before the rollback was saved: %s %d%%, want RolledBack", v.Phase, v.Weight)
	}
	if w := restarted.weights("app"); w["default/app-v1"] != 100 {
		t.Fatalf("restart before the rollback was saved serves %v", w)
	}
	if saved() != v1alpha1.PhaseRolledBack {
		t.Fatalf("the restarted engine saves the rollback: %s", saved())
	}

	// The first engine retries with backoff: two more failures, then saved.
	mem.Save(context.Background(), k, &v1alpha1.CanaryStatus{Phase: v1alpha1.PhaseProgressing, Release: "default/app-v2"})
	var tries []time.Duration
	start := f.clk.Now()
	for i := 0; i < 100 && f.e.Ready() != nil; i++ {
		before := fs.n
		f.clk.Add(100 * time.Millisecond)
		f.due()
		if fs.n != before || f.e.Ready() == nil {
			tries = append(tries, f.clk.Now().Sub(start))
		}
	}
	if err := f.e.Ready(); err != nil || saved() != v1alpha1.PhaseRolledBack {
		t.Fatalf("after the retries: Ready %v, saved %s", err, saved())
	}
	// Retries at 0.5 s, then 1 s and 2 s later: 0.5, 1.5, 3.5 (to the tick).
	if len(tries) != 3 || tries[0] != 500*time.Millisecond || tries[1] != 1500*time.Millisecond || tries[2] != 3500*time.Millisecond {
		t.Fatalf("retries at %v, want 500ms 1.5s 3.5s", tries)
	}
}

// Several Canaries on one group: the oldest claim is driven, the others
// wait in Pending without an override until it is deleted.
func TestOneReleasePerGroup(t *testing.T) {
	older := testCanary("app", func(c *v1alpha1.Canary) { c.CreationTimestamp = metav1.NewTime(t0) })
	newer := testCanary("app2", func(c *v1alpha1.Canary) {
		c.CreationTimestamp = metav1.NewTime(t0.Add(time.Minute))
		c.Spec.UpstreamGroup.Name, c.Spec.Stable.Name, c.Spec.Canary.Name = "app-group", "app-v1", "app-v3"
	})
	mem := NewMemoryStore()
	f := newFixture(t, mem, mem, newer, older)
	f.due()
	if v := f.view("app"); v.Phase != v1alpha1.PhaseProgressing {
		t.Fatalf("the oldest claim: %s, want Progressing", v.Phase)
	}
	v := f.view("app2")
	if v.Phase != v1alpha1.PhasePending || v.Message != "UpstreamGroup default/app-group is released by Canary default/app" {
		t.Fatalf("the newer claim: %s %q", v.Phase, v.Message)
	}
	k2 := ident.Key{Namespace: "default", Name: "app2"}
	if _, ok := f.st.Read().CanaryState(k2); ok {
		t.Fatal("a waiting Canary must have no override")
	}
	if st, _ := mem.Load(context.Background(), k2); st == nil || st.Phase != v1alpha1.PhasePending || findCondition(st.Conditions, condWaiting) == nil {
		t.Fatalf("the waiting Canary's saved status: %+v", st)
	}
	// The holder goes: the next oldest takes over with a release of its own.
	if err := f.st.Update(func(tx *store.WriteTxn) error {
		return tx.Delete("Canary", ident.Key{Namespace: "default", Name: "app"})
	}); err != nil {
		t.Fatal(err)
	}
	f.e.sync(context.Background(), f.clk.Now())
	if _, ok := f.e.Get(ident.Key{Namespace: "default", Name: "app"}); ok {
		t.Fatal("the deleted holder is still shown")
	}
	v = f.view("app2")
	if v.Phase != v1alpha1.PhasePending || v.Message != "" || v.Release != "default/app-v3" || len(v.Decisions) != 1 {
		t.Fatalf("after the holder's deletion: %s %q %s %d decisions", v.Phase, v.Message, v.Release, len(v.Decisions))
	}
	if w := f.weights("app2"); w["default/app-v1"] != 100 || w["default/app-v3"] != 0 {
		t.Fatalf("the new holder's weights %v", w)
	}
	f.due()
	if v := f.view("app2"); v.Phase != v1alpha1.PhaseProgressing || v.Weight != 1 {
		t.Fatalf("the new holder runs: %s %d", v.Phase, v.Weight)
	}
}

// undo after Succeeded moves the traffic back to the stable, and a
// restart keeps it there; retry then starts a new release.
func TestUndoAfterSuccessSurvivesARestart(t *testing.T) {
	fs, err := NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, fs, fs, testCanary("app"))
	if v, err := f.do("app", OpPromote, true, "ops"); err != nil || v.Phase != v1alpha1.PhaseSucceeded || f.weights("app")["default/app-v2"] != 100 {
		t.Fatalf("promote full: %v %s", err, v.Phase)
	}
	if _, err := f.do("app", OpUndo, false, "ops"); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "default/app-v1") {
		t.Fatalf("undo without the stable Upstream: %v, want a conflict naming it", err)
	}
	f.putUpstream("app-v1")
	v, err := f.do("app", OpUndo, false, "10.1.2.3:4")
	if err != nil || v.Phase != v1alpha1.PhaseRolledBack || v.Weight != 0 {
		t.Fatalf("undo: %v %s %d", err, v.Phase, v.Weight)
	}
	if last := v.Decisions[len(v.Decisions)-1]; !strings.Contains(last.Reason, "undone by operator (10.1.2.3:4)") || !last.Manual || last.Actor != "10.1.2.3:4" {
		t.Fatalf("undo decision %+v", last)
	}
	if w := f.weights("app"); w["default/app-v1"] != 100 || w["default/app-v2"] != 0 {
		t.Fatalf("weights after undo %v", w)
	}
	f.st = store.New()
	f.put(testCanary("app"))
	f.e = f.engine()
	if v := f.view("app"); v.Phase != v1alpha1.PhaseRolledBack {
		t.Fatalf("after a restart: %s", v.Phase)
	}
	if w := f.weights("app"); w["default/app-v1"] != 100 || w["default/app-v2"] != 0 {
		t.Fatalf("weights after a restart %v, want the stable at 100%%", w)
	}
	hist, _ := fs.Releases(ident.Key{Namespace: "default", Name: "app"})
	if len(hist) != 1 || hist[0].Outcome != v1alpha1.PhaseRolledBack {
		t.Fatalf("release history %+v, want the release's outcome RolledBack", hist)
	}
	if v, err := f.do("app", OpRetry, false, "ops"); err != nil || v.Phase != v1alpha1.PhasePending {
		t.Fatalf("retry after undo: %v %s", err, v.Phase)
	}
	if hist, _ := fs.Releases(ident.Key{Namespace: "default", Name: "app"}); len(hist) != 2 {
		t.Fatalf("%d releases after the retry, want 2", len(hist))
	}
}

// A Canary named like another's copy ("app.prev") never writes that copy.
func TestFileStoreCopiesDoNotCollide(t *testing.T) {
	fs, err := NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	app, other := ident.Key{Namespace: "default", Name: "app"}, ident.Key{Namespace: "default", Name: "app.prev"}
	if err := fs.Save(ctx, app, &v1alpha1.CanaryStatus{Phase: v1alpha1.PhaseProgressing, Weight: 20}); err != nil {
		t.Fatal(err)
	}
	if err := fs.Save(ctx, other, &v1alpha1.CanaryStatus{Phase: v1alpha1.PhaseProgressing, Weight: 50}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fs.dir, "status", "default", "app.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = fs.Load(ctx, app)
	var ue *UnreadableStatusError
	if !errors.As(err, &ue) || ue.Previous == nil || ue.Previous.Weight != 20 {
		t.Fatalf("Load of a corrupt status: %v (copy %+v), want its own copy at 20%%", err, ue)
	}
}

// A saved status that parses but names a step or weight this canary
// cannot have (a hand edit, a patched status) is not believed: Error, the
// stable at 100%, and the engine keeps running.
func TestInsaneStatusIsNotBelieved(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   v1alpha1.CanaryStatus
	}{
		{"negative step", v1alpha1.CanaryStatus{Phase: v1alpha1.PhaseProgressing, Step: -5, Weight: 5}},
		{"step past the end", v1alpha1.CanaryStatus{Phase: v1alpha1.PhaseProgressing, Step: 99, Weight: 5}},
		{"weight over 100", v1alpha1.CanaryStatus{Phase: v1alpha1.PhaseProgressing, Step: 0, Weight: 400}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := NewMemoryStore()
			c := testCanary("app")
			p := newPlan(c, 0)
			st := tc.st
			st.Release = p.release
			if err := ms.Save(context.Background(), ident.Key{Namespace: "default", Name: "app"}, &st); err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, ms, ms, c)
			f.due()
			v := f.view("app")
			if v.Phase != v1alpha1.PhaseError {
				t.Fatalf("phase %s (%s), want Error", v.Phase, v.Message)
			}
			if w := f.weights("app"); w["default/app-v2"] != 0 {
				t.Fatalf("weights %v, want the stable at 100%%", w)
			}
		})
	}
}

// A key that is not a namespace/name never becomes a path.
func TestFileStoreRefusesPathsOutside(t *testing.T) {
	dir := t.TempDir()
	fs, err := NewFileStore(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []ident.Key{{Namespace: "default", Name: "../../escaped"}, {Namespace: "..", Name: "x"}, {Namespace: "default", Name: "a/b"}} {
		if err := fs.Save(context.Background(), k, &v1alpha1.CanaryStatus{}); err == nil {
			t.Errorf("Save(%q) wrote a file", k)
		}
		if err := fs.SaveRelease(k, Release{}); err == nil {
			t.Errorf("SaveRelease(%q) wrote a file", k)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("files outside the state dir: %v", entries)
	}
}
