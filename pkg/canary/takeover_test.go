package canary

import (
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// A replica that takes over (or restarts) has been ingesting LRS all
// along: its provider holds earlier steps, an earlier release's errors and
// stable traffic from long before. The resumed step must count from the
// takeover, not from the provider's first data.
func TestTakeoverCountsFromTheTakeover(t *testing.T) {
	mem := NewMemoryStore()
	f := newFixture(t, mem, mem, testCanary("app"))
	f.due()
	for f.view("app").Step < 2 {
		f.traffic("app", 30, 0, 300, 0, 500*time.Millisecond)
		f.due()
	}
	before := f.view("app")
	// Old failures this replica's provider saw (e.g. an earlier release).
	f.traffic("app", 40, 10, 400, 0, 100*time.Millisecond)
	f.clk.Add(3 * time.Second)

	// The old leader is gone; this replica (same provider, same saved
	// status) takes over.
	f.e = f.engine()
	if v := f.view("app"); v.Phase != v1alpha1.PhaseProgressing || v.Step != before.Step {
		t.Fatalf("after takeover %s step %d, want Progressing step %d", v.Phase, v.Step, before.Step)
	}
	if v := f.view("app"); !v.StepStarted.Equal(*before.StepStarted) {
		t.Fatalf("step start %v, want the saved %v (maxStepDuration and pause count from it)", v.StepStarted, before.StepStarted)
	}
	f.clk.Add(1500 * time.Millisecond)
	f.due()
	v := f.view("app")
	if v.Phase != v1alpha1.PhaseProgressing || v.Step != before.Step {
		t.Fatalf("judged on data from before the takeover: %s step %d; decisions %+v", v.Phase, v.Step, v.Decisions)
	}
	if v.Live == nil || v.Live.Canary.Requests != 0 {
		t.Fatalf("live window %+v, want nothing counted before new reports", v.Live)
	}
	f.traffic("app", 60, 0, 600, 0, 500*time.Millisecond)
	f.clk.Add(time.Second)
	f.due()
	if v := f.view("app"); v.Step != before.Step+1 {
		t.Fatalf("step %d after a healthy window since the takeover, want %d; live %+v", v.Step, before.Step+1, v.Live)
	}
}
