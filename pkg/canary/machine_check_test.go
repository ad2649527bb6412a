package canary

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/metrics"
)

// Checks falling due, in every phase.
func TestMachineCheckDue(t *testing.T) {
	p := testPlan()
	pm := testPlan(mirror)
	pre := testPlan(hooks(v1alpha1.WebhookPreRollout))
	preKey := "pre-rollout/0/pre-rollout"
	preGate := func(g gate) func(*state) {
		return func(s *state) { g.call = &gateCall{key: preKey}; s.gates = map[string]gate{preKey: g} }
	}
	suspended := testPlan(func(c *v1alpha1.Canary) { c.Spec.Suspend = true })
	due := func(d time.Duration, v *Verdict) checkDue { return checkDue{at: at(d), verdict: v} }
	sec := time.Second
	failed := func(n int32) func(*state) { return func(s *state) { s.status.FailedChecks = n } }
	run(t, []machineCase{
		// Pending: the pre-rollout gates, then the mirror or step 0.
		{name: "Pending without gates: step 0", from: in(p, v1alpha1.PhasePending, 0), ev: due(sec, nil),
			phase: v1alpha1.PhaseProgressing, step: 0, fx: fxStep(0, 1),
			then: all(nextCheckAt(at(sec+testSettle)), lastDecision("Advanced", "pre-rollout checks passed"))},
		{name: "Pending with a mirror: Mirroring", from: in(pm, v1alpha1.PhasePending, 0), ev: due(sec, nil),
			phase: v1alpha1.PhaseMirroring, step: -1, fx: fxMirror(), then: lastDecision("Mirroring", "mirroring 10% of requests to the canary for 10s")},
		{name: "Pending asks its pre-rollout gate", from: in(pre, v1alpha1.PhasePending, 0), ev: due(sec, nil),
			phase: v1alpha1.PhasePending, step: 0, fx: []string{"gate pre-rollout", "view"},
			then: all(message("waiting for pre-rollout webhook pre-rollout"), func(t *testing.T, s state) {
				if g, ok := s.gates[preKey]; !ok || g.done || g.call == nil || g.call.key != preKey {
					t.Errorf("gates %+v, want %s asked", s.gates, preKey)
				}
			})},
		{name: "Pending waits for its gate's answer", from: with(in(pre, v1alpha1.PhasePending, 0), preGate(gate{})), ev: due(sec, nil),
			phase: v1alpha1.PhasePending, step: 0, fx: []string{"view"}, then: message("waiting for pre-rollout webhook pre-rollout")},
		{name: "Pending held by its gate, asked again next check", from: with(in(pre, v1alpha1.PhasePending, 0), preGate(gate{done: true, msg: "403 change freeze"})),
			ev: due(sec, nil), phase: v1alpha1.PhasePending, step: 0, fx: []string{"view"},
			then: all(message("held by pre-rollout webhook pre-rollout: 403 change freeze"), func(t *testing.T, s state) {
				if _, ok := s.gates[preKey]; ok {
					t.Error("a refused gate must be asked again")
				}
			})},
		{name: "Pending with its gate open: step 0", from: with(in(pre, v1alpha1.PhasePending, 0), preGate(gate{done: true, ok: true})), ev: due(sec, nil),
			phase: v1alpha1.PhaseProgressing, step: 0, fx: fxStep(0, 1)},
		{name: "suspended Pending holds", from: in(suspended, v1alpha1.PhasePending, 0), ev: due(sec, nil),
			phase: v1alpha1.PhasePending, step: 0, fx: []string{"view"}, then: all(message("suspended (spec.suspend)"), nextCheckAt(at(2*sec)))},
		{name: "suspended Progressing holds, verdict or not", from: in(suspended, v1alpha1.PhaseProgressing, 1), ev: due(sec, hardFail),
			phase: v1alpha1.PhaseProgressing, step: 1, fx: []string{"view"}, then: message("suspended (spec.suspend)")},

		// Mirroring: a hard failure rolls back at once; the rest waits for
		// the end of the phase.
		{name: "Mirroring without a baseline only reschedules", from: in(pm, v1alpha1.PhaseMirroring, -1), ev: due(sec, nil),
			phase: v1alpha1.PhaseMirroring, step: -1, fx: []string{}, then: nextCheckAt(at(2 * sec))},
		{name: "Mirroring cannot measure", from: in(pm, v1alpha1.PhaseMirroring, -1), ev: checkDue{at: at(sec), err: errors.New("boom")},
			phase: v1alpha1.PhaseMirroring, step: -1, fx: []string{"view"}, then: message("cannot measure: boom")},
		{name: "Mirroring hard failure: RolledBack", from: in(pm, v1alpha1.PhaseMirroring, -1), ev: due(2*sec, hardFail),
			phase: v1alpha1.PhaseRolledBack, step: -1, fx: fxEnd(v1alpha1.PhaseRolledBack, -1, 0), then: lastDecision("RolledBack", "mirror: the fail reason")},
		{name: "Mirroring soft failure waits for the end", from: in(pm, v1alpha1.PhaseMirroring, -1), ev: due(2*sec, softFail),
			phase: v1alpha1.PhaseMirroring, step: -1, fx: []string{"view"}, then: func(t *testing.T, s state) {
				if s.live != softFail || !s.liveAt.Equal(at(2*sec)) {
					t.Errorf("live %v at %v", s.live, s.liveAt)
				}
			}},
		{name: "Mirroring over, failed: RolledBack", from: in(pm, v1alpha1.PhaseMirroring, -1), ev: due(10*sec, softFail),
			phase: v1alpha1.PhaseRolledBack, step: -1, fx: fxEnd(v1alpha1.PhaseRolledBack, -1, 0)},
		{name: "Mirroring over without shadow traffic: step 0 judges", from: in(pm, v1alpha1.PhaseMirroring, -1), ev: due(10*sec, insufficient),
			phase: v1alpha1.PhaseProgressing, step: 0, fx: slices.Concat(fxDecide("Insufficient"), fxStep(0, 1))},
		{name: "Mirroring over, passed: step 0", from: in(pm, v1alpha1.PhaseMirroring, -1), ev: due(10*sec, passed),
			phase: v1alpha1.PhaseProgressing, step: 0, fx: slices.Concat(fxDecide("Pass"), fxStep(0, 1)), then: lastDecision("Advanced", "mirror phase passed")},

		// Progressing: the guard rails of a live step.
		{name: "Progressing without a baseline only reschedules", from: in(p, v1alpha1.PhaseProgressing, 1), ev: due(sec, nil),
			phase: v1alpha1.PhaseProgressing, step: 1, fx: []string{}, then: nextCheckAt(at(2 * sec))},
		{name: "Progressing cannot measure", from: in(p, v1alpha1.PhaseProgressing, 1), ev: checkDue{at: at(sec), err: errors.New("boom")},
			phase: v1alpha1.PhaseProgressing, step: 1, fx: []string{"view"}, then: message("cannot measure: boom")},
		{name: "too little traffic extends the step", from: in(p, v1alpha1.PhaseProgressing, 1), ev: due(5*sec, insufficient),
			phase: v1alpha1.PhaseProgressing, step: 1, fx: slices.Concat(fxDecide("Extended"), []string{"persist Progressing/1", "view"}),
			then: lastDecision("Extended", "step extended: the insufficient reason")},
		{name: "a step extended again records nothing new",
			from: with(in(p, v1alpha1.PhaseProgressing, 1), func(s *state) {
				s.status.History = []v1alpha1.CanaryDecision{{Verdict: "Extended", Step: 1}}
			}),
			ev: due(6*sec, insufficient), phase: v1alpha1.PhaseProgressing, step: 1, fx: []string{"view"}},
		{name: "no traffic for maxStepDuration pauses", from: in(p, v1alpha1.PhaseProgressing, 1), ev: due(30*sec, insufficient),
			phase: v1alpha1.PhasePaused, step: 1, fx: fxPause(1, 5),
			then: all(lastDecision("Paused", "step 1 never saw enough traffic in 30s (maxStepDuration)"), nextCheckAt(at(31*sec)))},
		{name: "no traffic for maxStepDuration fails with onInsufficientTraffic Fail",
			from: in(testPlan(func(c *v1alpha1.Canary) { c.Spec.Analysis.OnInsufficientTraffic = v1alpha1.InsufficientTrafficFail }), v1alpha1.PhaseProgressing, 1),
			ev:   due(30*sec, insufficient), phase: v1alpha1.PhaseFailed, step: 1, fx: fxEnd(v1alpha1.PhaseFailed, 1, 0)},
		{name: "a first soft failure is counted", from: in(p, v1alpha1.PhaseProgressing, 1), ev: due(5*sec, softFail),
			phase: v1alpha1.PhaseProgressing, step: 1, fx: slices.Concat(fxDecide("Fail"), []string{"persist Progressing/1", "view"}),
			then: all(lastDecision("Fail", "check failed (1 of 2): the fail reason"), func(t *testing.T, s state) {
				if s.status.FailedChecks != 1 {
					t.Errorf("failed checks %d", s.status.FailedChecks)
				}
			})},
		{name: "failureLimit failures roll back", from: with(in(p, v1alpha1.PhaseProgressing, 1), failed(1)), ev: due(5*sec, softFail),
			phase: v1alpha1.PhaseRolledBack, step: 1, fx: fxEnd(v1alpha1.PhaseRolledBack, 1, 0), then: lastDecision("RolledBack", "check failed (2 of 2)")},
		{name: "a hard failure rolls back at once", from: in(p, v1alpha1.PhaseProgressing, 1), ev: due(5*sec, hardFail),
			phase: v1alpha1.PhaseRolledBack, step: 1, fx: fxEnd(v1alpha1.PhaseRolledBack, 1, 0), then: lastDecision("RolledBack", "check failed (1 of 2)")},
		{name: "failureLimit 1 rolls back on the first failure",
			from: in(testPlan(func(c *v1alpha1.Canary) { c.Spec.Analysis.FailureLimit = i32(1) }), v1alpha1.PhaseProgressing, 1),
			ev:   due(5*sec, softFail), phase: v1alpha1.PhaseRolledBack, step: 1, fx: fxEnd(v1alpha1.PhaseRolledBack, 1, 0)},
		{name: "a pass holds for the step's pause",
			from: with(in(testPlan(func(c *v1alpha1.Canary) { c.Spec.Steps[1].Pause = "1m" }), v1alpha1.PhaseProgressing, 1), failed(1)),
			ev:   due(5*sec, passed), phase: v1alpha1.PhaseProgressing, step: 1, fx: []string{"view"},
			then: all(message("passing; holding the step for its pause of 1m0s"), func(t *testing.T, s state) {
				if s.status.FailedChecks != 0 {
					t.Errorf("a pass must reset the failed checks: %d", s.status.FailedChecks)
				}
			})},
		{name: "a pass asks the step gate", from: in(testPlan(hooks(v1alpha1.WebhookStep)), v1alpha1.PhaseProgressing, 1), ev: due(5*sec, passed),
			phase: v1alpha1.PhaseProgressing, step: 1, fx: []string{"gate step", "view"}, then: message("waiting for step webhook step")},
		{name: "a pass takes the next step", from: with(in(p, v1alpha1.PhaseProgressing, 1), failed(1)), ev: due(5*sec, passed),
			phase: v1alpha1.PhaseProgressing, step: 2, fx: slices.Concat(fxDecide("Pass"), fxStep(2, 20)),
			then: all(nextCheckAt(at(5*sec+testSettle)), lastDecision("Advanced", "step 1 passed"))},
		{name: "the last step's pass promotes and succeeds", from: in(p, v1alpha1.PhaseProgressing, 4), ev: due(5*sec, passed),
			phase: v1alpha1.PhaseSucceeded, step: 4,
			fx:   slices.Concat(fxDecide("Pass"), fxDecide("Promoting"), []string{"persist Promoting/4"}, fxEnd(v1alpha1.PhaseSucceeded, 4, 100)),
			then: all(lastDecision("Succeeded", "promotion confirmed"), nextCheckAt(time.Time{}))},
		{name: "the last step's pass waits for confirm-promotion", from: in(testPlan(hooks(v1alpha1.WebhookConfirmPromotion)), v1alpha1.PhaseProgressing, 4),
			ev: due(5*sec, passed), phase: v1alpha1.PhasePromoting, step: 4,
			fx:   slices.Concat(fxDecide("Pass"), fxDecide("Promoting"), []string{"persist Promoting/4", "gate confirm-promotion", "view"}),
			then: message("waiting for confirm-promotion webhook confirm-promotion")},
		{name: "Promoting, confirmed: Succeeded, post-rollout hooks called",
			from: with(in(testPlan(hooks(v1alpha1.WebhookConfirmPromotion, v1alpha1.WebhookPostRollout)), v1alpha1.PhasePromoting, 4), func(s *state) {
				key := "confirm-promotion/4/confirm-promotion"
				s.gates = map[string]gate{key: {call: &gateCall{key: key, step: 4}, done: true, ok: true}}
			}),
			ev: due(5*sec, nil), phase: v1alpha1.PhaseSucceeded, step: 4, fx: slices.Concat(fxEnd(v1alpha1.PhaseSucceeded, 4, 100), []string{"hook post-rollout"})},
		{name: "event and rollback hooks hear a rollback", from: in(testPlan(hooks(v1alpha1.WebhookEvent, v1alpha1.WebhookRollback)), v1alpha1.PhaseProgressing, 1),
			ev: due(5*sec, hardFail), phase: v1alpha1.PhaseRolledBack, step: 1,
			fx: []string{"routes 0", "release", "decide RolledBack", "hook event", "release ended RolledBack", "persist RolledBack/1", "view", "hook rollback"}},

		// Paused and terminal phases wait for an operator.
		// Paused: stepping forward is frozen, the protection is not.
		{name: "Paused passes: stays, still judged", from: in(p, v1alpha1.PhasePaused, 1), ev: due(sec, passed),
			phase: v1alpha1.PhasePaused, step: 1, fx: []string{"view"}, then: all(nextCheckAt(at(2*sec)), message("paused: still judged"))},
		{name: "Paused without a baseline only reschedules", from: in(p, v1alpha1.PhasePaused, 1), ev: due(sec, nil),
			phase: v1alpha1.PhasePaused, step: 1, fx: []string{}, then: nextCheckAt(at(2 * sec))},
		{name: "Paused long without traffic: stays paused", from: in(p, v1alpha1.PhasePaused, 1), ev: due(time.Hour, insufficient),
			phase: v1alpha1.PhasePaused, step: 1, fx: []string{"view"}},
		{name: "Paused hard failure: RolledBack", from: in(p, v1alpha1.PhasePaused, 1), ev: due(sec, hardFail),
			phase: v1alpha1.PhaseRolledBack, step: 1, fx: fxEnd(v1alpha1.PhaseRolledBack, 1, 0), then: lastDecision("RolledBack", "paused, still judged: check failed (1 of 2)")},
		{name: "Paused soft failure: counted", from: in(p, v1alpha1.PhasePaused, 1), ev: due(sec, softFail),
			phase: v1alpha1.PhasePaused, step: 1, fx: slices.Concat(fxDecide("Fail"), []string{"persist Paused/1", "view"}),
			then: func(t *testing.T, s state) {
				if s.status.FailedChecks != 1 {
					t.Errorf("failed checks %d, want 1", s.status.FailedChecks)
				}
			}},
		{name: "Paused, failureLimit reached: RolledBack", from: with(in(p, v1alpha1.PhasePaused, 1), failed(1)), ev: due(sec, softFail),
			phase: v1alpha1.PhaseRolledBack, step: 1, fx: fxEnd(v1alpha1.PhaseRolledBack, 1, 0), then: lastDecision("RolledBack", "check failed (2 of 2)")},
		{name: "Succeeded waits", from: in(p, v1alpha1.PhaseSucceeded, 4), ev: due(sec, nil), phase: v1alpha1.PhaseSucceeded, step: 4, fx: []string{"view"}},
		{name: "RolledBack waits", from: in(p, v1alpha1.PhaseRolledBack, 2), ev: due(sec, nil), phase: v1alpha1.PhaseRolledBack, step: 2, fx: []string{"view"}},
		{name: "Failed waits", from: in(p, v1alpha1.PhaseFailed, 2), ev: due(sec, nil), phase: v1alpha1.PhaseFailed, step: 2, fx: []string{"view"}},
	})
}

// Reports over a hard limit roll back a judging rollout, and only one.
func TestMachineBreached(t *testing.T) {
	p, pm := testPlan(), testPlan(mirror)
	ev := breached{at: at(1500 * time.Millisecond), verdict: hardFail}
	unmarked := func(s *state) { s.marked = false }
	run(t, []machineCase{
		{name: "Progressing rolls back on the report", from: in(p, v1alpha1.PhaseProgressing, 1), ev: ev,
			phase: v1alpha1.PhaseRolledBack, step: 1, fx: fxEnd(v1alpha1.PhaseRolledBack, 1, 0),
			then: all(lastDecision("RolledBack", "hard limit crossed: the fail reason"), func(t *testing.T, s state) {
				if d := s.decisions[len(s.decisions)-1]; !d.At.Equal(ev.at) || d.CanaryRequests != 100 || d.CanaryErrorRate != "2.00" {
					t.Errorf("decision %+v, want the report's time and numbers", d)
				}
			})},
		{name: "Mirroring rolls back on the report", from: in(pm, v1alpha1.PhaseMirroring, -1), ev: ev,
			phase: v1alpha1.PhaseRolledBack, step: -1, fx: fxEnd(v1alpha1.PhaseRolledBack, -1, 0)},
		{name: "Pending ignores reports", from: in(p, v1alpha1.PhasePending, 0), ev: ev, phase: v1alpha1.PhasePending, step: 0, fx: []string{}},
		{name: "Promoting ignores reports", from: in(p, v1alpha1.PhasePromoting, 4), ev: ev, phase: v1alpha1.PhasePromoting, step: 4, fx: []string{}},
		{name: "Paused rolls back on the report", from: in(p, v1alpha1.PhasePaused, 1), ev: ev,
			phase: v1alpha1.PhaseRolledBack, step: 1, fx: fxEnd(v1alpha1.PhaseRolledBack, 1, 0)},
		{name: "RolledBack ignores reports", from: in(p, v1alpha1.PhaseRolledBack, 1), ev: ev, phase: v1alpha1.PhaseRolledBack, step: 1, fx: []string{}},
		{name: "suspended ignores reports", from: in(testPlan(func(c *v1alpha1.Canary) { c.Spec.Suspend = true }), v1alpha1.PhaseProgressing, 1), ev: ev,
			phase: v1alpha1.PhaseProgressing, step: 1, fx: []string{}},
		{name: "a window without a baseline ignores reports", from: with(in(p, v1alpha1.PhaseProgressing, 1), unmarked), ev: ev,
			phase: v1alpha1.PhaseProgressing, step: 1, fx: []string{}},
		{name: "a soft failure is not a breach", from: in(p, v1alpha1.PhaseProgressing, 1), ev: breached{at: ev.at, verdict: softFail},
			phase: v1alpha1.PhaseProgressing, step: 1, fx: []string{}},
	})
}

// A step's window gets its baseline once, and its first check an interval
// later.
func TestMachineWindowMarked(t *testing.T) {
	p := testPlan()
	marks := [2]metrics.Mark{{Time: at(2 * time.Second)}, {Time: at(2 * time.Second)}}
	ev := windowMarked{at: at(2 * time.Second), marks: marks}
	run(t, []machineCase{
		{name: "an unmarked window is marked", from: with(in(p, v1alpha1.PhaseProgressing, 1), func(s *state) { s.marked = false }), ev: ev,
			phase: v1alpha1.PhaseProgressing, step: 1, fx: []string{}, then: all(nextCheckAt(at(3*time.Second)), func(t *testing.T, s state) {
				if !s.marked || s.marks != marks {
					t.Errorf("marked %v marks %v", s.marked, s.marks)
				}
			})},
		{name: "a marked window keeps its baseline", from: in(p, v1alpha1.PhaseProgressing, 1), ev: ev,
			phase: v1alpha1.PhaseProgressing, step: 1, fx: []string{}, then: nextCheckAt(at(time.Second))},
	})
}
