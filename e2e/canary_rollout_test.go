package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

const walkSteps = "[{weight: 1}, {weight: 5}, {weight: 20}, {weight: 50}, {weight: 100}]"

// TestCanaryHealthyReleaseWalksEveryStep: real grpc-go xDS clients report
// load (LRS) to serin; a healthy v2 walks 1 -> 5 -> 20 -> 50 -> 100 and
// ends Succeeded, and the split the client observes at each step matches
// the step's weight.
func TestCanaryHealthyReleaseWalksEveryStep(t *testing.T) {
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	dir := rolloutDir(t, v1, v2, canaryYAML(walkSteps, `    interval: 1s
    minRequests: 20
    maxStepDuration: 1m
    maxErrorRate: 1
    compareWithStable: {confidence: 0.99}
`))
	s := startSerin(t, dir)
	live := startLiveClient(t, s, "default", "xds:///myapp", 400)

	type tally struct{ v2, n int }
	perStep := map[int32]*tally{}
	deadline := time.Now().Add(120 * time.Second)
	for {
		before := s.canary(t)
		if before.Phase == v1alpha1.PhaseSucceeded || before.Phase == v1alpha1.PhaseRolledBack {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no verdict after 120s: %+v", before)
		}
		w, n := live.collect(t, 300*time.Millisecond)
		after := s.canary(t)
		// Count only client windows wholly inside one step whose routes
		// have reached the client (the client's window is 250 ms).
		if before.Phase == v1alpha1.PhaseProgressing && after.Phase == before.Phase && after.Step == before.Step &&
			before.StepStarted != nil && time.Since(*before.StepStarted) > 1500*time.Millisecond {
			tl := perStep[before.Weight]
			if tl == nil {
				tl = &tally{}
				perStep[before.Weight] = tl
			}
			tl.v2 += w["v2"]
			tl.n += n
		}
	}
	v := s.canary(t)
	var walked []int32
	for _, d := range v.Decisions {
		if d.Verdict == "Advanced" {
			walked = append(walked, d.Weight)
		}
	}
	if v.Phase != v1alpha1.PhaseSucceeded || !slices.Equal(walked, []int32{1, 5, 20, 50, 100}) {
		t.Fatalf("phase %s after steps %v, want Succeeded after 1 5 20 50 100; decisions:\n%s", v.Phase, walked, decisionsText(v.Decisions))
	}
	for _, w := range []int32{1, 5, 20, 50, 100} {
		tl := perStep[w]
		if tl == nil || tl.n < 100 {
			t.Errorf("step %d%%: too few calls observed (%+v)", w, tl)
			continue
		}
		assertBinomial(t, fmt.Sprintf("v2 at step %d%%", w), tl.v2, tl.n, float64(w)/100)
	}
	r := runClient(t, s, "default", "xds:///myapp", 500)
	if r.Totals["v2"] != 500 {
		t.Fatalf("after success all calls go to v2, got %+v", r.Totals)
	}
}

func decisionsText(ds any) string { return fmt.Sprintf("%+v", ds) }

// TestCanaryBadReleaseRollsBackWithinASecond: v2 fails 5% of calls; the
// canary rolls back at the first step with enough samples, on the LRS
// report that crossed the limit, and every client ACKs the 100/0 routes
// less than a second after that report arrived.
func TestCanaryBadReleaseRollsBackWithinASecond(t *testing.T) {
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2", "--error-rate", "0.05")
	dir := rolloutDir(t, v1, v2, canaryYAML(walkSteps, `    interval: 1s
    minRequests: 40
    maxStepDuration: 1m
    maxErrorRate: 1
`))
	s := startSerin(t, dir)
	clients := []*liveClient{
		startLiveClient(t, s, "default", "xds:///myapp", 300),
		startLiveClient(t, s, "default", "xds:///myapp", 300),
	}
	acks := watchAcks(t, s, 5*time.Millisecond)
	v := s.waitPhase(t, 90*time.Second, v1alpha1.PhaseRolledBack, v1alpha1.PhaseSucceeded, v1alpha1.PhasePaused)
	if v.Phase != v1alpha1.PhaseRolledBack {
		t.Fatalf("phase %s, want RolledBack; decisions:\n%s", v.Phase, decisionsText(v.Decisions))
	}
	d := v.Decisions[len(v.Decisions)-1]
	t.Logf("rolled back at step %d (%d%%): %s", d.Step, v.Steps[d.Step], d.Reason)
	if d.CanaryRequests < 40 || d.CanaryErrors == 0 || d.CanaryErrorRate == "" {
		t.Fatalf("the rollback decision must carry enough samples and its numbers: %+v", d)
	}
	for _, prev := range v.Decisions[:len(v.Decisions)-1] {
		if prev.Verdict == "Pass" && prev.CanaryErrors > 0 {
			t.Fatalf("a step with canary errors over the limit passed: %+v", prev)
		}
	}
	// Let every client settle, then read when each first ACKed its final
	// route version.
	time.Sleep(1500 * time.Millisecond)
	final := routeVersions(t, s)
	if len(final) < 2 {
		t.Fatalf("want 2 connected clients, got %v", final)
	}
	worst := time.Duration(-1 << 62)
	for node, ver := range final {
		at, ok := acks.ackedAt(ver)[node]
		if !ok {
			t.Fatalf("node %s: no ACK of %s observed", node, ver)
		}
		lat := at.Sub(d.At)
		if lat < 0 {
			t.Fatalf("node %s switched to %s %v before the rollback decision", node, ver, -lat)
		}
		t.Logf("node %s ACKed route version %s %v after the report", node, ver, lat.Round(time.Millisecond))
		worst = max(worst, lat)
	}
	t.Logf("rollback latency (report that crossed the limit -> every client ACKed 100/0): %v", worst.Round(time.Millisecond))
	if worst >= time.Second || worst < 0 {
		t.Errorf("rollback took %v, want < 1s", worst)
	}
	for i, c := range clients {
		c.drain()
		w, n := c.collect(t, time.Second)
		if w["v2"] != 0 || n == 0 {
			t.Errorf("client %d after rollback: %d of %d calls to v2, want none", i, w["v2"], n)
		}
	}
}

// TestCanaryLowTrafficExtendsThenPauses: too few requests extends the
// step, then at maxStepDuration pauses; it never promotes or fails blindly.
func TestCanaryLowTrafficExtendsThenPauses(t *testing.T) {
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	dir := rolloutDir(t, v1, v2, canaryYAML(walkSteps, `    interval: 1s
    minRequests: 1000
    maxStepDuration: 5s
    maxErrorRate: 1
`))
	s := startSerin(t, dir)
	startLiveClient(t, s, "default", "xds:///myapp", 20)
	v := s.waitPhase(t, 30*time.Second, v1alpha1.PhasePaused, v1alpha1.PhaseSucceeded, v1alpha1.PhaseRolledBack, v1alpha1.PhaseFailed)
	if v.Phase != v1alpha1.PhasePaused || v.Weight != 1 || v.Step != 0 {
		t.Fatalf("phase %s step %d weight %d, want Paused at step 0 (1%%); decisions:\n%s", v.Phase, v.Step, v.Weight, decisionsText(v.Decisions))
	}
	var extended bool
	for _, d := range v.Decisions {
		switch d.Verdict {
		case "Extended":
			extended = true
		case "Pass", "Fail", "RolledBack", "Succeeded":
			t.Fatalf("low traffic must not be judged: %+v", d)
		}
	}
	last := v.Decisions[len(v.Decisions)-1]
	if !extended || last.At.Sub(*v.StepStarted) < 5*time.Second {
		t.Fatalf("want the step extended, then paused after 5s; decisions:\n%s", decisionsText(v.Decisions))
	}
	t.Logf("paused: %s", last.Reason)
	time.Sleep(1500 * time.Millisecond)
	if again := s.canary(t); again.Phase != v1alpha1.PhasePaused {
		t.Fatalf("a paused rollout moved on its own: %s", again.Phase)
	}
}

// TestCanaryRestartResumesTheStep: serin is killed mid-step and started
// again on the same --state-dir: the rollout continues at the same step,
// weight and step start time, and clients keep the split throughout.
func TestCanaryRestartResumesTheStep(t *testing.T) {
	s := heldRollout(t, walkSteps, "--state-dir", t.TempDir())
	s.post(t, "/api/v1/canaries/default/myapp/promote") // 5%
	s.post(t, "/api/v1/canaries/default/myapp/promote") // 20%
	before := s.canary(t)
	if before.Weight != 20 || before.Step != 2 {
		t.Fatalf("after two promotes: step %d weight %d", before.Step, before.Weight)
	}
	time.Sleep(1500 * time.Millisecond)

	s.crash()
	s.restart(t)
	after := s.canary(t)
	if after.Phase != v1alpha1.PhaseProgressing || after.Step != before.Step || after.Weight != before.Weight {
		t.Fatalf("after restart: %s step %d weight %d, want Progressing step %d weight %d", after.Phase, after.Step, after.Weight, before.Step, before.Weight)
	}
	if after.StepStarted == nil || !after.StepStarted.Equal(before.StepStarted.Truncate(time.Second)) {
		t.Fatalf("step start %v after restart, want %v (saved with second precision)", after.StepStarted, before.StepStarted)
	}
	if len(after.Decisions) < len(before.Decisions) {
		t.Fatalf("decisions lost: %d before, %d after", len(before.Decisions), len(after.Decisions))
	}
	r := runClient(t, s, "default", "xds:///myapp", 3000)
	assertBinomial(t, "v2 at 20% after restart", r.Totals["v2"], 3000, 0.20)
	var hist []struct {
		Number  int    `json:"number"`
		Release string `json:"release"`
	}
	s.getJSON(t, "/api/v1/canaries/default/myapp/history", &hist)
	if len(hist) != 1 || hist[0].Release != "default/myapp-v2" {
		t.Fatalf("history after restart: %+v", hist)
	}
}
