package canary

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

func bakeFor(d v1alpha1.Duration) func(*v1alpha1.Canary) {
	return func(c *v1alpha1.Canary) { c.Spec.Analysis.BakeTime = d }
}

func blueGreen(c *v1alpha1.Canary) {
	c.Spec.Strategy, c.Spec.Steps = v1alpha1.StrategyBlueGreen, nil
	mirror(c)
}

func abTest(c *v1alpha1.Canary) {
	c.Spec.Strategy, c.Spec.Steps = v1alpha1.StrategyABTest, nil
	c.Spec.ABTest = &v1alpha1.CanaryABTest{Headers: []v1alpha1.HeaderMatcher{{Name: "x-beta", Value: "1"}}, Duration: "5s"}
}

// baking is a rollout of p baking since t0 (its window marked).
func baking(p *plan, step int32) state {
	s := in(p, v1alpha1.PhaseProgressing, step)
	s.status.Phase, s.status.Weight = v1alpha1.PhaseBaking, 100
	return s
}

// bakePausedAt is a bake (from t0) paused at pausedAt.
func bakePausedAt(p *plan, step int32, pausedAt time.Time) state {
	s := baking(p, step)
	s.status.Phase = v1alpha1.PhasePaused
	s.status.Conditions = []metav1.Condition{{Type: condBakePaused, Status: metav1.ConditionTrue, Reason: "Paused", LastTransitionTime: metav1.NewTime(pausedAt)}}
	return s
}

func manualBy(who string) func(*testing.T, state) {
	return func(t *testing.T, s state) {
		t.Helper()
		for _, d := range s.status.History {
			if !d.Manual || d.Actor != who {
				t.Errorf("decision %s %q: manual %v actor %q, want manual by %q", d.Verdict, d.Reason, d.Manual, d.Actor, who)
			}
		}
		for _, d := range s.decisions {
			if !d.Manual || d.Actor != who {
				t.Errorf("view decision %s: manual %v actor %q", d.Verdict, d.Manual, d.Actor)
			}
		}
		for _, d := range s.release.Decisions {
			if !d.Manual || d.Actor != who {
				t.Errorf("release decision %s: manual %v actor %q", d.Verdict, d.Manual, d.Actor)
			}
		}
	}
}

func notManual(t *testing.T, s state) {
	t.Helper()
	for _, d := range s.status.History {
		if d.Manual || d.Actor != "" {
			t.Errorf("automatic decision %s recorded as manual (%q)", d.Verdict, d.Actor)
		}
	}
}

func conditionIs(typ string, present bool) func(*testing.T, state) {
	return func(t *testing.T, s state) {
		t.Helper()
		if (findCondition(s.status.Conditions, typ) != nil) != present {
			t.Errorf("conditions %+v: %s present %v, want %v", s.status.Conditions, typ, !present, present)
		}
	}
}

func stepStartAt(want time.Time) func(*testing.T, state) {
	return func(t *testing.T, s state) {
		t.Helper()
		if !s.stepStart.Equal(want) || !s.status.StepStartTime.Time.Equal(want) {
			t.Errorf("step start %v (status %v), want %v", s.stepStart, s.status.StepStartTime, want)
		}
	}
}

// Bake: at 100% the canary is still judged for analysis.bakeTime before
// the release succeeds.
func TestMachineBake(t *testing.T) {
	p := testPlan(bakeFor("10s"))
	confirm := testPlan(bakeFor("10s"), hooks(v1alpha1.WebhookConfirmPromotion))
	sec := time.Second
	due := func(d time.Duration, v *Verdict) checkDue { return checkDue{at: at(d), verdict: v} }
	op := func(o Operation, full bool) operated { return operated{at: at(5 * sec), op: o, full: full, who: "ops"} }
	fxBake := func(step int32) []string {
		return slices.Concat([]string{"routes 100"}, fxDecide("Baking"), []string{"persist Baking/" + itoa(step), "view"})
	}
	run(t, []machineCase{
		{name: "the last step passes: Baking, not Succeeded", from: in(p, v1alpha1.PhaseProgressing, 4), ev: due(sec, passed),
			phase: v1alpha1.PhaseBaking, step: 4, fx: slices.Concat(fxDecide("Pass"), fxDecide("Promoting"), []string{"persist Promoting/4"}, fxBake(4)),
			then: all(lastDecision("Baking", "baking for 10s"), nextCheckAt(at(sec+testSettle)), stepStartAt(at(sec)), notManual)},
		{name: "confirm-promotion gates come before the bake", from: in(confirm, v1alpha1.PhaseProgressing, 4), ev: due(sec, passed),
			phase: v1alpha1.PhasePromoting, step: 4, fx: slices.Concat(fxDecide("Pass"), fxDecide("Promoting"), []string{"persist Promoting/4", "gate confirm-promotion", "view"})},
		{name: "promote full: Baking", from: in(p, v1alpha1.PhaseProgressing, 1), ev: op(OpPromote, true),
			phase: v1alpha1.PhaseBaking, step: 1, fx: fxBake(1), then: all(lastDecision("Baking", "promoted to 100% by operator (ops)"), manualBy("ops"))},
		{name: "no bakeTime: Succeeded at once", from: in(testPlan(), v1alpha1.PhaseProgressing, 1), ev: op(OpPromote, true),
			phase: v1alpha1.PhaseSucceeded, step: 1, fx: fxEnd(v1alpha1.PhaseSucceeded, 1, 100)},
		{name: "a pass while baking: still baking", from: baking(p, 4), ev: due(5*sec, passed),
			phase: v1alpha1.PhaseBaking, step: 4, fx: []string{"view"}, then: message("baking: 5s of 10s")},
		{name: "too little traffic while baking: still baking", from: baking(p, 4), ev: due(5*sec, insufficient),
			phase: v1alpha1.PhaseBaking, step: 4, fx: []string{"view"}},
		{name: "bakeTime over without a failure: Succeeded", from: baking(p, 4), ev: due(10*sec, passed),
			phase: v1alpha1.PhaseSucceeded, step: 4, fx: fxEnd(v1alpha1.PhaseSucceeded, 4, 100), then: lastDecision("Succeeded", "baked 10s")},
		{name: "bakeTime over on little traffic: Succeeded", from: baking(p, 4), ev: due(11*sec, insufficient),
			phase: v1alpha1.PhaseSucceeded, step: 4, fx: fxEnd(v1alpha1.PhaseSucceeded, 4, 100)},
		{name: "a hard failure while baking: RolledBack", from: baking(p, 4), ev: due(5*sec, hardFail),
			phase: v1alpha1.PhaseRolledBack, step: 4, fx: fxEnd(v1alpha1.PhaseRolledBack, 4, 0), then: lastDecision("RolledBack", "bake: check failed")},
		{name: "a soft failure while baking: counted", from: baking(p, 4), ev: due(5*sec, softFail),
			phase: v1alpha1.PhaseBaking, step: 4, fx: slices.Concat(fxDecide("Fail"), []string{"persist Baking/4", "view"})},
		{name: "failureLimit while baking: RolledBack", from: with(baking(p, 4), func(s *state) { s.status.FailedChecks = 1 }), ev: due(5*sec, softFail),
			phase: v1alpha1.PhaseRolledBack, step: 4, fx: fxEnd(v1alpha1.PhaseRolledBack, 4, 0)},
		{name: "a failure at the end of the bake is not a success", from: with(baking(p, 4), func(s *state) { s.status.FailedChecks = 0 }), ev: due(10*sec, softFail),
			phase: v1alpha1.PhaseBaking, step: 4, fx: slices.Concat(fxDecide("Fail"), []string{"persist Baking/4", "view"})},
		{name: "a report over a hard limit while baking: RolledBack", from: baking(p, 4), ev: breached{at: at(2 * sec), verdict: hardFail},
			phase: v1alpha1.PhaseRolledBack, step: 4, fx: fxEnd(v1alpha1.PhaseRolledBack, 4, 0)},
		{name: "abort while baking: RolledBack", from: baking(p, 4), ev: op(OpAbort, false),
			phase: v1alpha1.PhaseRolledBack, step: 4, fx: fxEnd(v1alpha1.PhaseRolledBack, 4, 0), then: manualBy("ops")},
		{name: "promote while baking: Succeeded", from: baking(p, 4), ev: op(OpPromote, false),
			phase: v1alpha1.PhaseSucceeded, step: 4, fx: fxEnd(v1alpha1.PhaseSucceeded, 4, 100), then: lastDecision("Succeeded", "bake ended: promoted by operator (ops)")},
		{name: "promote full while baking: Succeeded", from: baking(p, 4), ev: op(OpPromote, true),
			phase: v1alpha1.PhaseSucceeded, step: 4, fx: fxEnd(v1alpha1.PhaseSucceeded, 4, 100)},
		{name: "pause while baking: the clock stops, still judged", from: baking(p, 4), ev: op(OpPause, false),
			phase: v1alpha1.PhasePaused, step: 4, fx: fxPause(4, 100), then: all(conditionIs(condBakePaused, true), nextCheckAt(at(6*sec)))},
		{name: "a paused bake still rolls back", from: bakePausedAt(p, 4, at(5*sec)), ev: due(6*sec, hardFail),
			phase: v1alpha1.PhaseRolledBack, step: 4, fx: fxEnd(v1alpha1.PhaseRolledBack, 4, 0), then: conditionIs(condBakePaused, false)},
		{name: "a paused bake does not end", from: bakePausedAt(p, 4, at(5*sec)), ev: due(time.Hour, passed),
			phase: v1alpha1.PhasePaused, step: 4, fx: []string{"view"}},
		{name: "resume a paused bake: its clock goes on where it stopped", from: bakePausedAt(p, 4, at(5*sec)), ev: operated{at: at(20 * sec), op: OpResume},
			phase: v1alpha1.PhaseBaking, step: 4, fx: fxBake(4),
			then: all(stepStartAt(at(15*sec)), conditionIs(condBakePaused, false), lastDecision("Baking", "5s left"), func(t *testing.T, s state) {
				if !s.marked {
					t.Error("a resumed bake keeps its window")
				}
			})},
		{name: "promote a paused bake: Succeeded", from: bakePausedAt(p, 4, at(5*sec)), ev: op(OpPromote, false),
			phase: v1alpha1.PhaseSucceeded, step: 4, fx: fxEnd(v1alpha1.PhaseSucceeded, 4, 100), then: conditionIs(condBakePaused, false)},
		{name: "abort a paused bake: RolledBack", from: bakePausedAt(p, 4, at(5*sec)), ev: op(OpAbort, false),
			phase: v1alpha1.PhaseRolledBack, step: 4, fx: fxEnd(v1alpha1.PhaseRolledBack, 4, 0)},
	})
}

// The blueGreen and abTest strategies on the same machine.
func TestMachineStrategies(t *testing.T) {
	bg, bgBake := testPlan(blueGreen), testPlan(blueGreen, bakeFor("10s"))
	bgConfirm := testPlan(blueGreen, hooks(v1alpha1.WebhookConfirmPromotion))
	ab := testPlan(abTest)
	sec := time.Second
	due := func(d time.Duration, v *Verdict) checkDue { return checkDue{at: at(d), verdict: v} }
	op := func(o Operation) operated { return operated{at: at(5 * sec), op: o, who: "ops"} }
	switched := func(step int32) []string { return fxEnd(v1alpha1.PhaseSucceeded, step, 100) }
	run(t, []machineCase{
		{name: "blueGreen Pending: Mirroring", from: in(bg, v1alpha1.PhasePending, 0), ev: due(sec, nil),
			phase: v1alpha1.PhaseMirroring, step: -1, fx: fxMirror()},
		{name: "blueGreen mirror passed: all traffic at once", from: in(bg, v1alpha1.PhaseMirroring, -1), ev: due(10*sec, passed),
			phase: v1alpha1.PhaseSucceeded, step: 0, fx: slices.Concat(fxDecide("Pass"), fxDecide("Promoting"), []string{"persist Promoting/-1"}, switched(0))},
		{name: "blueGreen mirror passed, with a bake: Baking", from: in(bgBake, v1alpha1.PhaseMirroring, -1), ev: due(10*sec, passed),
			phase: v1alpha1.PhaseBaking, step: 0, fx: slices.Concat(fxDecide("Pass"), fxDecide("Promoting"), []string{"persist Promoting/-1", "routes 100"}, fxDecide("Baking"), []string{"persist Baking/0", "view"})},
		{name: "blueGreen confirm-promotion gates before the switch, mirror kept", from: in(bgConfirm, v1alpha1.PhaseMirroring, -1), ev: due(10*sec, passed),
			phase: v1alpha1.PhasePromoting, step: -1, fx: slices.Concat(fxDecide("Pass"), fxDecide("Promoting"), []string{"persist Promoting/-1", "gate confirm-promotion", "view"}),
			then: func(t *testing.T, s state) {
				m := machine{s: s}
				if r := m.routes(); r.mirror == nil || r.weights["default/app-v2"] != 0 {
					t.Errorf("waiting for the gate: routes %+v, want the mirror and no live canary traffic", r)
				}
			}},
		{name: "blueGreen mirror failed: RolledBack", from: in(bg, v1alpha1.PhaseMirroring, -1), ev: due(10*sec, softFail),
			phase: v1alpha1.PhaseRolledBack, step: -1, fx: fxEnd(v1alpha1.PhaseRolledBack, -1, 0)},
		{name: "blueGreen mirror without shadow traffic: extended", from: in(bg, v1alpha1.PhaseMirroring, -1), ev: due(10*sec, insufficient),
			phase: v1alpha1.PhaseMirroring, step: -1, fx: slices.Concat(fxDecide("Extended"), []string{"persist Mirroring/-1", "view"})},
		{name: "blueGreen mirror without shadow traffic for maxStepDuration: Paused", from: in(bg, v1alpha1.PhaseMirroring, -1), ev: due(30*sec, insufficient),
			phase: v1alpha1.PhasePaused, step: -1, fx: fxPause(-1, 0)},
		{name: "blueGreen promote while mirroring: the switch", from: in(bg, v1alpha1.PhaseMirroring, -1), ev: op(OpPromote),
			phase: v1alpha1.PhaseSucceeded, step: 0, fx: slices.Concat(fxDecide("Promoted"), fxDecide("Promoting"), []string{"persist Promoting/-1"}, switched(0)), then: manualBy("ops")},
		{name: "blueGreen resume while Pending: the mirror, never the switch", from: with(in(bg, v1alpha1.PhasePaused, 0), func(s *state) { s.status.Weight = 0 }), ev: op(OpResume),
			phase: v1alpha1.PhaseMirroring, step: -1, fx: fxMirror()},
		{name: "blueGreen undo: stable again", from: in(bg, v1alpha1.PhaseSucceeded, 0), ev: op(OpUndo),
			phase: v1alpha1.PhaseRolledBack, step: 0, fx: fxEnd(v1alpha1.PhaseRolledBack, 0, 0)},

		{name: "abTest Pending: the cohort step at weight 0", from: in(ab, v1alpha1.PhasePending, 0), ev: due(sec, nil),
			phase: v1alpha1.PhaseProgressing, step: 0, fx: slices.Concat([]string{"routes 0 cohort"}, fxDecide("Advanced"), []string{"persist Progressing/0", "view"}),
			then: all(lastDecision("Advanced", "cohort step"), func(t *testing.T, s state) {
				if s.status.Weight != 0 {
					t.Errorf("cohort step weight %d, want 0", s.status.Weight)
				}
			})},
		{name: "abTest cohort passes before its duration: held", from: cohort(ab), ev: due(2*sec, passed),
			phase: v1alpha1.PhaseProgressing, step: 0, fx: []string{"view"}, then: message("holding the step")},
		{name: "abTest cohort passes after its duration: all traffic", from: cohort(ab), ev: due(5*sec, passed),
			phase: v1alpha1.PhaseSucceeded, step: 0, fx: slices.Concat(fxDecide("Pass"), fxDecide("Promoting"), []string{"persist Promoting/0"}, switched(0))},
		{name: "abTest cohort fails: RolledBack, no cohort", from: cohort(ab), ev: due(2*sec, hardFail),
			phase: v1alpha1.PhaseRolledBack, step: 0, fx: fxEnd(v1alpha1.PhaseRolledBack, 0, 0)},
		{name: "abTest paused at the cohort: the cohort stays", from: cohort(ab), ev: op(OpPause),
			phase: v1alpha1.PhasePaused, step: 0, fx: slices.Concat([]string{"routes 0 cohort"}, fxDecide("Paused"), []string{"persist Paused/0", "view"})},
		{name: "abTest paused before the cohort: no cohort", from: in(ab, v1alpha1.PhasePending, 0), ev: op(OpPause),
			phase: v1alpha1.PhasePaused, step: -1, fx: fxPause(-1, 0)},
		{name: "abTest resumed before the cohort: the cohort step", from: with(in(ab, v1alpha1.PhasePaused, -1), func(s *state) { s.status.Weight = 0 }), ev: op(OpResume),
			phase: v1alpha1.PhaseProgressing, step: 0, fx: slices.Concat([]string{"routes 0 cohort"}, fxDecide("Advanced"), []string{"persist Progressing/0", "view"})},
		{name: "abTest promote the cohort: all traffic", from: cohort(ab), ev: op(OpPromote),
			phase: v1alpha1.PhaseSucceeded, step: 0, fx: slices.Concat(fxDecide("Promoted"), fxDecide("Promoting"), []string{"persist Promoting/0"}, switched(0))},
	})
}

// cohort is an abTest at its cohort step.
func cohort(p *plan) state {
	s := in(p, v1alpha1.PhaseProgressing, 0)
	s.status.Weight = 0
	return s
}

// undo returns a finished release to the stable.
func TestMachineUndo(t *testing.T) {
	p := testPlan(hooks(v1alpha1.WebhookRollback))
	op := operated{at: at(5 * time.Second), op: OpUndo, who: "10.0.0.1:1234"}
	gone := op
	gone.stableMissing = "default/app-v1"
	retry := operated{at: at(6 * time.Second), op: OpRetry, who: "ops", releases: []Release{{Number: 1}}}
	run(t, []machineCase{
		{name: "Succeeded: the stable gets 100% again", from: in(p, v1alpha1.PhaseSucceeded, 4), ev: op,
			phase: v1alpha1.PhaseRolledBack, step: 4, fx: slices.Concat(fxEnd(v1alpha1.PhaseRolledBack, 4, 0), []string{"hook rollback"}),
			then: all(lastDecision("RolledBack", "undone by operator (10.0.0.1:1234)"), manualBy("10.0.0.1:1234"), func(t *testing.T, s state) {
				if s.status.Weight != 0 || s.release.Outcome != v1alpha1.PhaseRolledBack {
					t.Errorf("weight %d outcome %s", s.status.Weight, s.release.Outcome)
				}
			})},
		{name: "the stable is gone: refused", from: in(p, v1alpha1.PhaseSucceeded, 4), ev: gone,
			phase: v1alpha1.PhaseSucceeded, step: 4, fx: []string{"refused: not possible in this phase: undo: the stable Upstream default/app-v1 is not in the store: routing to it would fail every request"}},
		{name: "RolledBack, on the stable already: recorded, nothing moves, no hooks", from: in(p, v1alpha1.PhaseRolledBack, 2), ev: op,
			phase: v1alpha1.PhaseRolledBack, step: 2, fx: slices.Concat([]string{"routes 0"}, fxDecide("RolledBack"), []string{"persist RolledBack/2", "view"}),
			then: all(lastDecision("RolledBack", "undone by operator (10.0.0.1:1234): the stable already had 100%"), lastManual("10.0.0.1:1234"))},
		{name: "Failed, on the stable already: RolledBack", from: in(p, v1alpha1.PhaseFailed, 2), ev: op,
			phase: v1alpha1.PhaseRolledBack, step: 2, fx: slices.Concat([]string{"routes 0"}, fxDecide("RolledBack"), []string{"persist RolledBack/2", "view"})},
		{name: "Failed with canary weight: undone", from: with(in(p, v1alpha1.PhaseFailed, 2), func(s *state) { s.status.Weight = 20 }), ev: op,
			phase: v1alpha1.PhaseRolledBack, step: 2, fx: slices.Concat(fxEnd(v1alpha1.PhaseRolledBack, 2, 0), []string{"hook rollback"})},
		{name: "Progressing: refused (abort)", from: in(p, v1alpha1.PhaseProgressing, 2), ev: op,
			phase: v1alpha1.PhaseProgressing, step: 2, fx: []string{"refused: not possible in this phase: undo is Progressing"}},
		{name: "retry after undo: a new release", from: with(in(p, v1alpha1.PhaseRolledBack, 4), func(s *state) {}), ev: retry,
			phase: v1alpha1.PhasePending, step: 0, fx: fxBegin(), then: manualBy("ops")},
	})
}

func itoa(i int32) string { return strconv.Itoa(int(i)) }

// A saved status that cannot be read: Error, serving the copy's weights
// (or the stable), acting on nothing but an operator.
func TestMachineError(t *testing.T) {
	p := testPlan()
	now := at(time.Minute)
	prev := &v1alpha1.CanaryStatus{Phase: v1alpha1.PhaseProgressing, Release: p.release, Step: 2, Weight: 20, StepStartTime: ptrTime(t0),
		History: []v1alpha1.CanaryDecision{{Verdict: "Started"}, {Verdict: "Advanced", Step: 2, Weight: 20}}}
	unreadable := func(prev *v1alpha1.CanaryStatus, perr error) restored {
		return restored{at: now, plan: p, releases: []Release{{Number: 4, Release: p.release}},
			unreadable: &UnreadableStatusError{Path: "/s/app.json", Err: errors.New("unexpected end of JSON input"), Previous: prev, PreviousPath: "/s/app.json.prev", PreviousErr: perr}}
	}
	other := prev.DeepCopy()
	other.Release = "default/app-v0"
	succeeded := prev.DeepCopy()
	succeeded.Phase = v1alpha1.PhaseSucceeded
	weight := func(w int32) func(*testing.T, state) {
		return func(t *testing.T, s state) {
			t.Helper()
			if s.status.Weight != w {
				t.Errorf("weight %d, want %d", s.status.Weight, w)
			}
		}
	}
	inError := func() state {
		s, _ := transition(state{}, unreadable(prev, nil))
		return s
	}
	pastSteps := prev.DeepCopy()
	pastSteps.Step = 9
	bgError := func() state {
		pbg := testPlan(blueGreen)
		mirroring := &v1alpha1.CanaryStatus{Phase: v1alpha1.PhaseMirroring, Release: pbg.release, Step: -1, StepStartTime: ptrTime(t0)}
		s, _ := transition(state{}, restored{at: now, plan: pbg, releases: []Release{{Number: 4, Release: pbg.release}},
			unreadable: &UnreadableStatusError{Path: "/s/app.json", Err: errors.New("bad"), Previous: mirroring, PreviousPath: "/s/app.json.prev"}})
		return s
	}
	errorAt := func(step int32) state {
		s := inError()
		s.status.Step = step // as if the steps were cut while in Error
		return s
	}
	op := func(o Operation, full bool) operated {
		return operated{at: now.Add(time.Second), op: o, full: full, who: "ops", releases: []Release{{Number: 4}}}
	}
	fxError := func(weight int32, step int32) []string {
		return slices.Concat([]string{"routes " + itoa(weight)}, fxDecide("Error"), []string{"persist Error/" + itoa(step), "view"})
	}
	run(t, []machineCase{
		{name: "the copy is readable: its weights, Error", from: state{}, ev: unreadable(prev, nil),
			phase: v1alpha1.PhaseError, step: 2, fx: fxError(20, 2),
			then: all(weight(20), message("cannot read the saved status /s/app.json: unexpected end of JSON input; serving what the copy /s/app.json.prev says"),
				nextCheckAt(time.Time{}), conditionIs(condUnreadable, true), func(t *testing.T, s state) {
					if s.release.Number != 4 || len(s.status.History) != 3 {
						t.Errorf("release %d, %d decisions", s.release.Number, len(s.status.History))
					}
				})},
		{name: "the copy Succeeded: 100% kept", from: state{}, ev: unreadable(succeeded, nil),
			phase: v1alpha1.PhaseError, step: 2, fx: fxError(100, 2), then: weight(100)},
		{name: "no copy: the stable at 100%", from: state{}, ev: unreadable(nil, errors.New("invalid character")),
			phase: v1alpha1.PhaseError, step: -1, fx: fxError(0, -1), then: all(weight(0), message("no readable copy (invalid character): serving the stable at 100%"))},
		{name: "the copy is another release's: the stable at 100%", from: state{}, ev: unreadable(other, nil),
			phase: v1alpha1.PhaseError, step: -1, fx: fxError(0, -1), then: message("another release's")},
		{name: "a saved Error resumes as Error", from: state{}, ev: restored{at: now.Add(time.Hour), plan: p, saved: savedOf(inError())},
			phase: v1alpha1.PhaseError, step: 2, fx: []string{"log canary resumed", "routes 20", "view"},
			then: all(nextCheckAt(time.Time{}), message("/s/app.json"))},
		{name: "checks wait", from: inError(), ev: checkDue{at: now.Add(time.Hour), verdict: passed},
			phase: v1alpha1.PhaseError, step: 2, fx: []string{"view"}, then: weight(20)},
		{name: "reports do not act", from: inError(), ev: breached{at: now.Add(time.Hour), verdict: hardFail},
			phase: v1alpha1.PhaseError, step: 2, fx: []string{}},
		{name: "abort: RolledBack", from: inError(), ev: op(OpAbort, false),
			phase: v1alpha1.PhaseRolledBack, step: 2, fx: fxEnd(v1alpha1.PhaseRolledBack, 2, 0), then: conditionIs(condUnreadable, false)},
		{name: "undo: RolledBack", from: inError(), ev: op(OpUndo, false),
			phase: v1alpha1.PhaseRolledBack, step: 2, fx: fxEnd(v1alpha1.PhaseRolledBack, 2, 0)},
		{name: "retry: a new release", from: inError(), ev: op(OpRetry, false),
			phase: v1alpha1.PhasePending, step: 0, fx: fxBegin()},
		{name: "promote: the step again, a fresh window", from: inError(), ev: op(OpPromote, false),
			phase: v1alpha1.PhaseProgressing, step: 2, fx: fxStep(2, 20), then: all(conditionIs(condUnreadable, false), lastManual("ops"))},
		{name: "a copy past the steps is no copy: the stable at 100%", from: state{}, ev: unreadable(pastSteps, nil),
			phase: v1alpha1.PhaseError, step: -1, fx: fxError(0, -1), then: all(weight(0), message("step 9"))},
		{name: "blueGreen promoted out of Error: through Promoting (its gates; none here), not a step at 100%", from: bgError(),
			ev: op(OpPromote, false), phase: v1alpha1.PhaseSucceeded, step: 0,
			fx: []string{"release", "decide Promoted", "release", "decide Promoting", "persist Promoting/-1", "routes 100", "release", "decide Succeeded", "release ended Succeeded", "persist Succeeded/0", "view"}},
		{name: "promote after the steps shrank in Error: the last step, no panic", from: errorAt(9), ev: op(OpPromote, false),
			phase: v1alpha1.PhaseProgressing, step: int32(len(p.weights) - 1), fx: fxStep(int32(len(p.weights)-1), p.weights[len(p.weights)-1])},
		{name: "promote full: Succeeded", from: inError(), ev: op(OpPromote, true),
			phase: v1alpha1.PhaseSucceeded, step: 2, fx: fxEnd(v1alpha1.PhaseSucceeded, 2, 100)},
		{name: "pause: refused", from: inError(), ev: op(OpPause, false),
			phase: v1alpha1.PhaseError, step: 2, fx: []string{"refused: not possible in this phase: pause is Error"}},
		{name: "resume: refused", from: inError(), ev: op(OpResume, false),
			phase: v1alpha1.PhaseError, step: 2, fx: []string{"refused: not possible in this phase: resume is Error"}},
	})
}

func savedOf(s state) *v1alpha1.CanaryStatus { return s.status.DeepCopy() }

func lastManual(who string) func(*testing.T, state) {
	return func(t *testing.T, s state) {
		t.Helper()
		h := s.status.History
		if len(h) == 0 || !h[len(h)-1].Manual || h[len(h)-1].Actor != who {
			t.Errorf("last decision %+v, want manual by %q", h[len(h)-1], who)
		}
	}
}

// Fewer steps move a walking rollout to the last one, never one that is
// past its steps or waiting for an operator in Error.
func TestMachineFewerStepsPastTheSteps(t *testing.T) {
	p := testPlan(bakeFor("10s"))
	three := testPlan(bakeFor("10s"), func(c *v1alpha1.Canary) { c.Spec.Steps = c.Spec.Steps[:3] })
	ev := specChanged{at: at(time.Minute), plan: three}
	errored := with(in(p, v1alpha1.PhaseProgressing, 4), func(s *state) { s.status.Phase = v1alpha1.PhaseError })
	run(t, []machineCase{
		{name: "Baking: unchanged", from: baking(p, 4), ev: ev, phase: v1alpha1.PhaseBaking, step: 4, fx: []string{"view"}},
		{name: "a paused bake: unchanged", from: bakePausedAt(p, 4, at(5*time.Second)), ev: ev, phase: v1alpha1.PhasePaused, step: 4, fx: []string{"view"}},
		{name: "Error: unchanged", from: errored, ev: ev, phase: v1alpha1.PhaseError, step: 4, fx: []string{"view"}},
	})
}

// The release log's rollback wins over an older saved status (its save
// failed before a restart), and only that.
func TestMachineRestoredLoggedRollback(t *testing.T) {
	p := testPlan()
	now := at(time.Minute)
	adv := v1alpha1.CanaryDecision{Time: metav1.NewTime(t0), Step: 2, Weight: 20, Verdict: "Advanced", Reason: "step 2"}
	back := v1alpha1.CanaryDecision{Time: metav1.NewTime(t0.Add(time.Second)), Step: 2, Verdict: "RolledBack", Reason: "aborted by operator", Manual: true, Actor: "ops"}
	ended := t0.Add(time.Second)
	log := []Release{{Number: 3, Release: p.release, Ended: &ended, Outcome: v1alpha1.PhaseRolledBack, Decisions: []v1alpha1.CanaryDecision{adv, back}}}
	saved := &v1alpha1.CanaryStatus{Phase: v1alpha1.PhaseProgressing, Release: p.release, Step: 2, Weight: 20, StepStartTime: ptrTime(t0),
		History: []v1alpha1.CanaryDecision{adv}}
	retried := &v1alpha1.CanaryStatus{Phase: v1alpha1.PhasePending, Release: p.release, StepStartTime: ptrTime(ended),
		History: []v1alpha1.CanaryDecision{{Time: metav1.NewTime(ended), Verdict: "Started", Reason: "retry"}}}
	succeeded := saved.DeepCopy()
	succeeded.Phase, succeeded.Weight = v1alpha1.PhaseSucceeded, 100
	run(t, []machineCase{
		{name: "saved Progressing, logged RolledBack: RolledBack", from: state{}, ev: restored{at: now, plan: p, saved: saved, releases: log},
			phase: v1alpha1.PhaseRolledBack, step: 2,
			fx:   []string{"log the release log records a rollback the saved status missed: rolled back", "routes 0", "persist RolledBack/2", "view"},
			then: all(lastDecision("RolledBack", "aborted by operator"), lastManual("ops"), nextCheckAt(time.Time{}))},
		{name: "saved Succeeded, logged undo: RolledBack", from: state{}, ev: restored{at: now, plan: p, saved: succeeded, releases: log},
			phase: v1alpha1.PhaseRolledBack, step: 2, fx: []string{"log the release log records a rollback the saved status missed: rolled back", "routes 0", "persist RolledBack/2", "view"}},
		{name: "a retried release saved, its log entry not: resumed as saved", from: state{}, ev: restored{at: now, plan: p, saved: retried, releases: log},
			phase: v1alpha1.PhasePending, step: 0, fx: []string{"log canary resumed", "routes 0", "view"}},
	})
}
