package canary

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/metrics"
)

// Manual operations in every phase, refusals included.
func TestMachineOperations(t *testing.T) {
	p, pm := testPlan(), testPlan(mirror)
	op := func(o Operation) operated { return operated{at: at(5 * time.Second), op: o, who: "10.0.0.1:1234"} }
	full := operated{at: at(5 * time.Second), op: OpPromote, full: true, who: "10.0.0.1:1234"}
	retry := operated{at: at(5 * time.Second), op: OpRetry, releases: []Release{{Number: 1}, {Number: 2}}}
	conflict := func(o Operation, phase v1alpha1.CanaryPhase) []string {
		return []string{"refused: not possible in this phase: " + string(o) + " is " + string(phase)}
	}
	promoted := func(rest ...[]string) []string {
		return slices.Concat(append([][]string{fxDecide("Promoted")}, rest...)...)
	}
	promotedToEnd := promoted(fxDecide("Promoting"), []string{"persist Promoting/4"}, fxEnd(v1alpha1.PhaseSucceeded, 4, 100))
	run(t, []machineCase{
		{name: "promote Pending: step 0", from: in(p, v1alpha1.PhasePending, 0), ev: op(OpPromote),
			phase: v1alpha1.PhaseProgressing, step: 0, fx: promoted(fxStep(0, 1)), then: lastDecision("Advanced", "promoted by operator (10.0.0.1:1234)")},
		{name: "promote Mirroring: step 0", from: in(pm, v1alpha1.PhaseMirroring, -1), ev: op(OpPromote),
			phase: v1alpha1.PhaseProgressing, step: 0, fx: promoted(fxStep(0, 1))},
		{name: "promote Progressing: the next step", from: in(p, v1alpha1.PhaseProgressing, 1), ev: op(OpPromote),
			phase: v1alpha1.PhaseProgressing, step: 2, fx: promoted(fxStep(2, 20)), then: lastDecision("Advanced", "step 1 passed")},
		{name: "promote the last step: Succeeded", from: in(p, v1alpha1.PhaseProgressing, 4), ev: op(OpPromote),
			phase: v1alpha1.PhaseSucceeded, step: 4, fx: promotedToEnd},
		{name: "promote Promoting: checks the gates again", from: in(p, v1alpha1.PhasePromoting, 4), ev: op(OpPromote),
			phase: v1alpha1.PhaseSucceeded, step: 4, fx: promotedToEnd},
		{name: "promote Paused: the next step", from: in(p, v1alpha1.PhasePaused, 1), ev: op(OpPromote),
			phase: v1alpha1.PhaseProgressing, step: 2, fx: promoted(fxStep(2, 20))},
		{name: "promote full: Succeeded", from: in(p, v1alpha1.PhaseProgressing, 1), ev: full,
			phase: v1alpha1.PhaseSucceeded, step: 1, fx: fxEnd(v1alpha1.PhaseSucceeded, 1, 100), then: lastDecision("Succeeded", "promoted to 100% by operator (10.0.0.1:1234)")},
		{name: "promote full from Pending, post-rollout hooks called", from: in(testPlan(hooks(v1alpha1.WebhookPostRollout)), v1alpha1.PhasePending, 0), ev: full,
			phase: v1alpha1.PhaseSucceeded, step: 0, fx: slices.Concat(fxEnd(v1alpha1.PhaseSucceeded, 0, 100), []string{"hook post-rollout"})},
		{name: "promote Succeeded: refused", from: in(p, v1alpha1.PhaseSucceeded, 4), ev: op(OpPromote),
			phase: v1alpha1.PhaseSucceeded, step: 4, fx: conflict(OpPromote, v1alpha1.PhaseSucceeded)},
		{name: "promote full RolledBack: refused", from: in(p, v1alpha1.PhaseRolledBack, 2), ev: full,
			phase: v1alpha1.PhaseRolledBack, step: 2, fx: conflict(OpPromote, v1alpha1.PhaseRolledBack)},
		{name: "promote Failed: refused", from: in(p, v1alpha1.PhaseFailed, 2), ev: op(OpPromote),
			phase: v1alpha1.PhaseFailed, step: 2, fx: conflict(OpPromote, v1alpha1.PhaseFailed)},

		{name: "pause Progressing", from: in(p, v1alpha1.PhaseProgressing, 1), ev: operated{at: at(time.Second), op: OpPause},
			phase: v1alpha1.PhasePaused, step: 1, fx: fxPause(1, 5), then: all(lastDecision("Paused", "paused by operator"), nextCheckAt(at(2*time.Second)))},
		{name: "pause Pending", from: in(p, v1alpha1.PhasePending, 0), ev: op(OpPause), phase: v1alpha1.PhasePaused, step: 0, fx: fxPause(0, 0)},
		{name: "pause Mirroring", from: in(pm, v1alpha1.PhaseMirroring, -1), ev: op(OpPause), phase: v1alpha1.PhasePaused, step: -1, fx: fxPause(-1, 0)},
		{name: "pause Promoting", from: in(p, v1alpha1.PhasePromoting, 4), ev: op(OpPause), phase: v1alpha1.PhasePaused, step: 4, fx: fxPause(4, 100)},
		{name: "pause Paused: refused", from: in(p, v1alpha1.PhasePaused, 1), ev: op(OpPause),
			phase: v1alpha1.PhasePaused, step: 1, fx: conflict(OpPause, v1alpha1.PhasePaused)},
		{name: "pause Succeeded: refused", from: in(p, v1alpha1.PhaseSucceeded, 4), ev: op(OpPause),
			phase: v1alpha1.PhaseSucceeded, step: 4, fx: conflict(OpPause, v1alpha1.PhaseSucceeded)},

		{name: "resume Paused: the step with a fresh window", from: in(p, v1alpha1.PhasePaused, 1), ev: op(OpResume),
			phase: v1alpha1.PhaseProgressing, step: 1, fx: fxStep(1, 5),
			then: all(lastDecision("Advanced", "resumed by operator (10.0.0.1:1234); the step's window starts again"), nextCheckAt(at(5*time.Second+testSettle)),
				func(t *testing.T, s state) {
					if s.marked || !s.stepStart.Equal(at(5*time.Second)) {
						t.Errorf("window marked %v from %v, want a new unmarked window", s.marked, s.stepStart)
					}
				})},
		{name: "resume Paused while mirroring: Mirroring", from: in(pm, v1alpha1.PhasePaused, -1), ev: op(OpResume),
			phase: v1alpha1.PhaseMirroring, step: -1, fx: fxMirror()},
		{name: "resume Paused while mirroring, mirror since removed: step 0", from: in(p, v1alpha1.PhasePaused, -1), ev: op(OpResume),
			phase: v1alpha1.PhaseProgressing, step: 0, fx: fxStep(0, 1)},
		{name: "resume Progressing: refused", from: in(p, v1alpha1.PhaseProgressing, 1), ev: op(OpResume),
			phase: v1alpha1.PhaseProgressing, step: 1, fx: conflict(OpResume, v1alpha1.PhaseProgressing)},
		{name: "resume Succeeded: refused", from: in(p, v1alpha1.PhaseSucceeded, 4), ev: op(OpResume),
			phase: v1alpha1.PhaseSucceeded, step: 4, fx: conflict(OpResume, v1alpha1.PhaseSucceeded)},

		{name: "abort Progressing", from: in(p, v1alpha1.PhaseProgressing, 1), ev: op(OpAbort),
			phase: v1alpha1.PhaseRolledBack, step: 1, fx: fxEnd(v1alpha1.PhaseRolledBack, 1, 0), then: lastDecision("RolledBack", "aborted by operator")},
		{name: "abort Pending", from: in(p, v1alpha1.PhasePending, 0), ev: op(OpAbort), phase: v1alpha1.PhaseRolledBack, step: 0, fx: fxEnd(v1alpha1.PhaseRolledBack, 0, 0)},
		{name: "abort Paused, rollback hooks called", from: in(testPlan(hooks(v1alpha1.WebhookRollback)), v1alpha1.PhasePaused, 2), ev: op(OpAbort),
			phase: v1alpha1.PhaseRolledBack, step: 2, fx: slices.Concat(fxEnd(v1alpha1.PhaseRolledBack, 2, 0), []string{"hook rollback"})},
		{name: "abort Failed: refused", from: in(p, v1alpha1.PhaseFailed, 2), ev: op(OpAbort),
			phase: v1alpha1.PhaseFailed, step: 2, fx: conflict(OpAbort, v1alpha1.PhaseFailed)},

		{name: "retry RolledBack: a new release", from: in(p, v1alpha1.PhaseRolledBack, 2), ev: retry,
			phase: v1alpha1.PhasePending, step: 0, fx: fxBegin(),
			then: all(lastDecision("Started", "retry of default/app-v2 by operator"), nextCheckAt(at(5*time.Second)), func(t *testing.T, s state) {
				if s.release.Number != 3 || s.release.Ended != nil || len(s.decisions) != 1 {
					t.Errorf("release %d ended %v with %d decisions, want a fresh release 3", s.release.Number, s.release.Ended, len(s.decisions))
				}
			})},
		{name: "retry Failed: a new release", from: in(p, v1alpha1.PhaseFailed, 2), ev: retry, phase: v1alpha1.PhasePending, step: 0, fx: fxBegin()},
		{name: "retry Succeeded: refused", from: in(p, v1alpha1.PhaseSucceeded, 4), ev: retry,
			phase: v1alpha1.PhaseSucceeded, step: 4, fx: conflict(OpRetry, v1alpha1.PhaseSucceeded)},
		{name: "retry Paused: refused", from: in(p, v1alpha1.PhasePaused, 1), ev: retry,
			phase: v1alpha1.PhasePaused, step: 1, fx: conflict(OpRetry, v1alpha1.PhasePaused)},
		{name: "retry Progressing: refused", from: in(p, v1alpha1.PhaseProgressing, 1), ev: retry,
			phase: v1alpha1.PhaseProgressing, step: 1, fx: conflict(OpRetry, v1alpha1.PhaseProgressing)},
		{name: "an unknown operation: refused", from: in(p, v1alpha1.PhaseProgressing, 1), ev: op("explode"),
			phase: v1alpha1.PhaseProgressing, step: 1, fx: []string{`refused: unknown operation "explode"`}},
	})
	s, fx := transition(in(p, v1alpha1.PhasePaused, 1), op(OpPause))
	if r, ok := fx[0].(refused); !ok || !errors.Is(r.err, ErrConflict) || s.status.Phase != v1alpha1.PhasePaused {
		t.Errorf("a refusal must be an ErrConflict: %v", fx)
	}
}

// A gate's answer counts for the call that asked, and only for it.
func TestMachineGateAnswered(t *testing.T) {
	pre := testPlan(hooks(v1alpha1.WebhookPreRollout))
	key := "pre-rollout/0/pre-rollout"
	call := &gateCall{key: key}
	asked := func(s *state) { s.gates = map[string]gate{key: {call: call}} }
	answer := func(c *gateCall, ok bool) gateAnswered {
		return gateAnswered{at: at(2 * time.Second), call: c, ok: ok, msg: "403 change freeze"}
	}
	gateIs := func(done, ok bool) func(*testing.T, state) {
		return func(t *testing.T, s state) {
			if g := s.gates[key]; g.done != done || g.ok != ok || g.call != call {
				t.Errorf("gate %+v, want done %v ok %v", g, done, ok)
			}
		}
	}
	run(t, []machineCase{
		{name: "yes: recorded, checked at once", from: with(in(pre, v1alpha1.PhasePending, 0), asked), ev: answer(call, true),
			phase: v1alpha1.PhasePending, step: 0, fx: []string{"checkNow"}, then: gateIs(true, true)},
		{name: "no: recorded and logged, checked at once", from: with(in(pre, v1alpha1.PhasePending, 0), asked), ev: answer(call, false),
			phase: v1alpha1.PhasePending, step: 0, fx: []string{"log canary held by webhook", "checkNow"}, then: gateIs(true, false)},
		{name: "an earlier call with the same key: stale", from: with(in(pre, v1alpha1.PhasePending, 0), asked), ev: answer(&gateCall{key: key}, true),
			phase: v1alpha1.PhasePending, step: 0, fx: []string{}, then: gateIs(false, false)},
		{name: "a call of another step: stale", from: with(in(pre, v1alpha1.PhaseProgressing, 1), asked), ev: answer(call, true),
			phase: v1alpha1.PhaseProgressing, step: 1, fx: []string{}, then: gateIs(false, false)},
		{name: "a gate nobody asked: stale", from: in(pre, v1alpha1.PhasePending, 0), ev: answer(call, true),
			phase: v1alpha1.PhasePending, step: 0, fx: []string{}},
		{name: "no check scheduled: recorded only", from: with(with(in(pre, v1alpha1.PhasePaused, 0), asked), func(s *state) { s.nextCheck = time.Time{} }), ev: answer(call, true),
			phase: v1alpha1.PhasePaused, step: 0, fx: []string{}, then: gateIs(true, true)},
	})
}

// A Canary the engine starts running: resumed as saved, or a new release.
func TestMachineRestored(t *testing.T) {
	p := testPlan()
	now := at(time.Minute)
	saved := func(phase v1alpha1.CanaryPhase, release string, step, weight int32) *v1alpha1.CanaryStatus {
		return &v1alpha1.CanaryStatus{Phase: phase, Release: release, Step: step, Weight: weight, StepStartTime: ptrTime(t0),
			History: []v1alpha1.CanaryDecision{{Verdict: "Started"}, {Verdict: "Advanced", Step: step}}}
	}
	log := []Release{{Number: 1, Release: "default/app-v1"}, {Number: 2, Release: p.release}}
	marks := [2]metrics.Mark{{Time: now}, {Time: now}}
	release := func(n int) func(*testing.T, state) {
		return func(t *testing.T, s state) {
			if s.release.Number != n {
				t.Errorf("release %d, want %d", s.release.Number, n)
			}
		}
	}
	run(t, []machineCase{
		{name: "nothing saved: release 1", from: state{}, ev: restored{at: now, plan: p},
			phase: v1alpha1.PhasePending, step: 0, fx: fxBegin(), then: all(release(1), lastDecision("Started", "new release default/app-v2"), nextCheckAt(now))},
		{name: "another release saved: a new one after the log", from: state{},
			ev:    restored{at: now, plan: p, saved: saved(v1alpha1.PhaseProgressing, "default/app-v1", 2, 20), releases: log},
			phase: v1alpha1.PhasePending, step: 0, fx: fxBegin(), then: release(3)},
		{name: "a saved status without a phase: a new release", from: state{}, ev: restored{at: now, plan: p, saved: &v1alpha1.CanaryStatus{Release: p.release}},
			phase: v1alpha1.PhasePending, step: 0, fx: fxBegin()},
		{name: "this release saved Progressing: resumed at its step", from: state{},
			ev:    restored{at: now, plan: p, saved: saved(v1alpha1.PhaseProgressing, p.release, 2, 20), releases: log, marks: marks, marked: true},
			phase: v1alpha1.PhaseProgressing, step: 2, fx: []string{"log canary resumed", "routes 20", "view"},
			then: all(release(2), nextCheckAt(now.Add(time.Second)), func(t *testing.T, s state) {
				if !s.stepStart.Equal(t0) || !s.marked || s.marks != marks || len(s.decisions) != 2 || len(s.status.History) != 2 {
					t.Errorf("resumed %+v", s)
				}
			})},
		{name: "this release saved, not settled: marked later", from: state{},
			ev:    restored{at: now, plan: p, saved: saved(v1alpha1.PhaseMirroring, p.release, -1, 0), releases: log},
			phase: v1alpha1.PhaseMirroring, step: -1, fx: []string{"log canary resumed", "routes 0", "view"},
			then: func(t *testing.T, s state) {
				if s.marked {
					t.Error("marked without marks")
				}
			}},
		{name: "this release saved Paused: waits", from: state{},
			ev:    restored{at: now, plan: p, saved: saved(v1alpha1.PhasePaused, p.release, 1, 5), releases: log},
			phase: v1alpha1.PhasePaused, step: 1, fx: []string{"log canary resumed", "routes 5", "view"}, then: nextCheckAt(now.Add(time.Second))},
		{name: "this release saved, log ahead of it: no release record", from: state{},
			ev:    restored{at: now, plan: p, saved: saved(v1alpha1.PhaseProgressing, p.release, 1, 5), releases: log[:1]},
			phase: v1alpha1.PhaseProgressing, step: 1, fx: []string{"log canary resumed", "routes 5", "view"}, then: release(0)},
	})
}

// A changed spec, a follower's copy, a deletion.
func TestMachineSpecMirroredDeleted(t *testing.T) {
	p := testPlan()
	threeSteps := testPlan(func(c *v1alpha1.Canary) { c.Spec.Steps = c.Spec.Steps[:3] })
	v3 := testPlan(func(c *v1alpha1.Canary) { c.Spec.Canary.Name = "app-v3"; c.Generation = 2 })
	now := at(time.Minute)
	run(t, []machineCase{
		{name: "same release and steps: the view only", from: in(p, v1alpha1.PhaseProgressing, 2), ev: specChanged{at: now, plan: testPlan()},
			phase: v1alpha1.PhaseProgressing, step: 2, fx: []string{"view"}},
		{name: "fewer steps: the last", from: in(p, v1alpha1.PhaseProgressing, 4), ev: specChanged{at: now, plan: threeSteps},
			phase: v1alpha1.PhaseProgressing, step: 2, fx: slices.Concat(fxStep(2, 20), []string{"view"}), then: lastDecision("Advanced", "steps changed")},
		{name: "fewer steps, Paused past them: the last, still paused", from: in(p, v1alpha1.PhasePaused, 3), ev: specChanged{at: now, plan: threeSteps},
			phase: v1alpha1.PhasePaused, step: 2, fx: []string{"routes 20", "persist Paused/2", "view"}},
		{name: "another strategy: a new release, never the step mapped onto it", from: in(p, v1alpha1.PhaseProgressing, 2),
			ev:    specChanged{at: now, plan: testPlan(blueGreen), releases: []Release{{Number: 1, Release: p.release}}},
			phase: v1alpha1.PhasePending, step: 0, fx: slices.Concat(fxBegin(), []string{"view"})},
		{name: "fewer steps after the end: unchanged", from: in(p, v1alpha1.PhaseSucceeded, 4), ev: specChanged{at: now, plan: threeSteps},
			phase: v1alpha1.PhaseSucceeded, step: 4, fx: []string{"view"}},
		{name: "a new canary upstream: a new release", from: in(p, v1alpha1.PhaseProgressing, 2),
			ev:    specChanged{at: now, plan: v3, releases: []Release{{Number: 1, Release: p.release}}},
			phase: v1alpha1.PhasePending, step: 0, fx: slices.Concat(fxBegin(), []string{"view"}),
			then: all(lastDecision("Started", "new release default/app-v3 (spec.canary changed)"), func(t *testing.T, s state) {
				if s.release.Number != 2 || s.status.Release != "default/app-v3" || s.status.ObservedGeneration != 2 || s.plan != v3 {
					t.Errorf("release %d %s generation %d", s.release.Number, s.status.Release, s.status.ObservedGeneration)
				}
			})},
		{name: "a follower copies the leader's status", from: state{},
			ev:    mirrored{plan: p, status: &v1alpha1.CanaryStatus{Phase: v1alpha1.PhaseProgressing, Release: p.release, Step: 2, Weight: 20, StepStartTime: ptrTime(t0)}},
			phase: v1alpha1.PhaseProgressing, step: 2, fx: []string{"routes 20", "view"},
			then: all(nextCheckAt(time.Time{}), func(t *testing.T, s state) {
				if !s.stepStart.Equal(t0) {
					t.Errorf("step start %v", s.stepStart)
				}
			})},
		{name: "a follower copies a mirror", from: state{},
			ev:    mirrored{plan: testPlan(mirror), status: &v1alpha1.CanaryStatus{Phase: v1alpha1.PhaseMirroring, Release: p.release, Step: -1}},
			phase: v1alpha1.PhaseMirroring, step: -1, fx: []string{"routes 0 mirror 10", "view"}},
		{name: "deleted: everything goes", from: in(p, v1alpha1.PhaseProgressing, 2), ev: deleted{},
			phase: "", step: 0, fx: []string{"dropRoutes", "forgetStatus", "dropView", "log canary deleted: the group's own weights apply again"}},
	})
}

// Effects carry the status of their moment: a check that promotes and
// succeeds tells each webhook and each save the phase it was in then.
func TestMachineEffectsCarryTheirMoment(t *testing.T) {
	s, fx := transition(in(testPlan(hooks(v1alpha1.WebhookEvent)), v1alpha1.PhaseProgressing, 4), checkDue{at: at(5 * time.Second), verdict: passed})
	var hooks, saves []v1alpha1.CanaryPhase
	for _, f := range fx {
		switch f := f.(type) {
		case callHook:
			hooks = append(hooks, f.payload.Phase)
		case persistStatus:
			saves = append(saves, f.status.Phase)
		}
	}
	if s.status.Phase != v1alpha1.PhaseSucceeded ||
		!slices.Equal(hooks, []v1alpha1.CanaryPhase{v1alpha1.PhaseProgressing, v1alpha1.PhasePromoting, v1alpha1.PhaseSucceeded}) ||
		!slices.Equal(saves, []v1alpha1.CanaryPhase{v1alpha1.PhasePromoting, v1alpha1.PhaseSucceeded}) {
		t.Errorf("%s: event hooks saw %v, saves %v", s.status.Phase, hooks, saves)
	}
}

// Two transitions from one state do not write into each other's history,
// even where the slices have room to grow in place.
func TestMachineTransitionsDoNotShareHistory(t *testing.T) {
	s := in(testPlan(), v1alpha1.PhaseProgressing, 1)
	s.status.History = make([]v1alpha1.CanaryDecision, 1, 16)
	s.decisions = make([]DecisionView, 1, 16)
	s.release.Decisions = make([]v1alpha1.CanaryDecision, 1, 16)
	a, _ := transition(s, checkDue{at: at(5 * time.Second), verdict: softFail})
	b, _ := transition(s, operated{at: at(5 * time.Second), op: OpPause})
	last := func(x state) string {
		return x.status.History[len(x.status.History)-1].Verdict + "/" + x.decisions[len(x.decisions)-1].Verdict + "/" +
			x.release.Decisions[len(x.release.Decisions)-1].Verdict
	}
	if last(a) != "Fail/Fail/Fail" || last(b) != "Paused/Paused/Paused" {
		t.Errorf("histories mixed: %s and %s", last(a), last(b))
	}
}
