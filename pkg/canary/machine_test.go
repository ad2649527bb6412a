package canary

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// The machine's tests feed one event to a state and compare the next
// phase and step and the effects, in order, rendered by describe.

var t0 = time.Unix(1_700_000_000, 0)

const testSettle = 1100 * time.Millisecond

func at(d time.Duration) time.Time { return t0.Add(d) }

// testPlan is testCanary("app")'s plan: steps 1 5 20 50 100, interval 1s,
// minRequests 50, maxStepDuration 30s, failureLimit 2.
func testPlan(mutate ...func(*v1alpha1.Canary)) *plan {
	return newPlan(testCanary("app", mutate...), testSettle)
}

// in is a rollout of p in phase at step, as the engine leaves it: the
// window began at t0 and is marked, a check is due at t0+1s unless the
// phase waits for an operator (a paused rollout is still checked).
func in(p *plan, phase v1alpha1.CanaryPhase, step int32) state {
	var w int32
	switch {
	case phase == v1alpha1.PhaseSucceeded || phase == v1alpha1.PhaseBaking:
		w = 100
	case phase == v1alpha1.PhaseProgressing || phase == v1alpha1.PhasePaused || phase == v1alpha1.PhasePromoting:
		if step >= 0 {
			w = p.weights[step]
		}
	}
	s := state{plan: p,
		status:    v1alpha1.CanaryStatus{Phase: phase, Release: p.release, Step: step, Weight: w, StepStartTime: ptrTime(t0)},
		stepStart: t0, marked: true, nextCheck: at(p.interval),
		release: Release{Number: 1, Release: p.release, Started: t0, Decisions: []v1alpha1.CanaryDecision{}},
	}
	if terminal(phase) || phase == v1alpha1.PhaseError {
		s.nextCheck = time.Time{}
	}
	return s
}

func with(s state, f func(*state)) state { f(&s); return s }

func verdict(r Result, hard bool) *Verdict {
	return &Verdict{Result: r, Hard: hard, Reason: "the " + strings.ToLower(string(r)) + " reason",
		Canary: Side{Requests: 100, Errors: 2}, Stable: Side{Requests: 1000, Errors: 1}}
}

var (
	passed       = verdict(Pass, false)
	softFail     = verdict(Fail, false)
	hardFail     = verdict(Fail, true)
	insufficient = verdict(Insufficient, false)
)

// hooks adds a webhook of each type, named after it.
func hooks(types ...v1alpha1.WebhookType) func(*v1alpha1.Canary) {
	return func(c *v1alpha1.Canary) {
		for _, t := range types {
			c.Spec.Webhooks = append(c.Spec.Webhooks, v1alpha1.CanaryWebhook{Name: string(t), Type: t, URL: "http://127.0.0.1:1/" + string(t)})
		}
	}
}

func mirror(c *v1alpha1.Canary) {
	c.Spec.Mirror = &v1alpha1.CanaryMirror{Percentage: 10, Duration: "10s"}
}

// describe renders effects for comparison.
func describe(fx []effect) []string {
	out := []string{}
	for _, f := range fx {
		var d string
		switch f := f.(type) {
		case publishRoutes:
			d = fmt.Sprintf("routes %d", f.weights["default/app-v2"])
			if f.weights["default/app-v1"]+f.weights["default/app-v2"] != 100 {
				d += " (not 100 in all)"
			}
			if f.mirror != nil {
				d += fmt.Sprintf(" mirror %g", f.mirror.Percentage)
			}
			if f.cohort != nil {
				d += " cohort"
			}
		case persistStatus:
			d = fmt.Sprintf("persist %s/%d", f.status.Phase, f.status.Step)
		case saveRelease:
			d = "release"
			if f.release.Ended != nil {
				d += " ended " + string(f.release.Outcome)
			}
		case logInfo:
			d = "log " + f.msg
			if f.msg == "canary decision" {
				d = fmt.Sprintf("decide %v", f.args[7])
			}
		case callHook:
			d = "hook " + f.hook.Name
			if f.gate != nil {
				d = "gate " + f.hook.Name
			}
		case publishView:
			d = "view"
		case checkNow:
			d = "checkNow"
		case dropRoutes:
			d = "dropRoutes"
		case forgetStatus:
			d = "forgetStatus"
		case dropView:
			d = "dropView"
		case refused:
			d = "refused: " + f.err.Error()
		default:
			d = fmt.Sprintf("%T", f)
		}
		out = append(out, d)
	}
	return out
}

// The effects of the machine's usual moves.
func fxDecide(verdict string) []string { return []string{"release", "decide " + verdict} }

func fxBegin() []string {
	return slices.Concat(fxDecide("Started"), []string{"routes 0", "persist Pending/0", "view"})
}

func fxStep(step, weight int32) []string {
	return slices.Concat([]string{fmt.Sprintf("routes %d", weight)}, fxDecide("Advanced"), []string{fmt.Sprintf("persist Progressing/%d", step), "view"})
}

func fxMirror() []string {
	return slices.Concat([]string{"routes 0 mirror 10"}, fxDecide("Mirroring"), []string{"persist Mirroring/-1", "view"})
}

func fxEnd(phase v1alpha1.CanaryPhase, step, weight int32) []string {
	return slices.Concat([]string{fmt.Sprintf("routes %d", weight)}, fxDecide(string(phase)),
		[]string{"release ended " + string(phase), fmt.Sprintf("persist %s/%d", phase, step), "view"})
}

func fxPause(step, weight int32) []string {
	return slices.Concat([]string{fmt.Sprintf("routes %d", weight)}, fxDecide("Paused"), []string{fmt.Sprintf("persist Paused/%d", step), "view"})
}

type machineCase struct {
	name  string
	from  state
	ev    event
	phase v1alpha1.CanaryPhase
	step  int32
	fx    []string
	// then checks more of the next state, when set.
	then func(t *testing.T, s state)
}

// run feeds each case's event and checks the outcome, and that the state
// it was given is left as it was.
func run(t *testing.T, cases []machineCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := clone(c.from)
			s, fx := transition(c.from, c.ev)
			if !reflect.DeepEqual(c.from, before) {
				t.Errorf("transition changed the state it was given")
			}
			if s.status.Phase != c.phase || s.status.Step != c.step {
				t.Errorf("next: %s step %d, want %s step %d (message %q)", s.status.Phase, s.status.Step, c.phase, c.step, s.message)
			}
			if got := describe(fx); !slices.Equal(got, c.fx) {
				t.Errorf("effects\n got %q\nwant %q", got, c.fx)
			}
			if c.then != nil {
				c.then(t, s)
			}
		})
	}
}

// clone deep-copies what transition could write into.
func clone(s state) state {
	s.status = *s.status.DeepCopy()
	s.gates = maps.Clone(s.gates)
	s.decisions = slices.Clone(s.decisions)
	s.release.Decisions = slices.Clone(s.release.Decisions)
	return s
}

func nextCheckAt(want time.Time) func(*testing.T, state) {
	return func(t *testing.T, s state) {
		t.Helper()
		if !s.nextCheck.Equal(want) {
			t.Errorf("next check %v, want %v", s.nextCheck, want)
		}
	}
}

func message(want string) func(*testing.T, state) {
	return func(t *testing.T, s state) {
		t.Helper()
		if !strings.Contains(s.message, want) {
			t.Errorf("message %q, want it to contain %q", s.message, want)
		}
	}
}

func lastDecision(verdict, reason string) func(*testing.T, state) {
	return func(t *testing.T, s state) {
		t.Helper()
		h := s.status.History
		if len(h) == 0 || h[len(h)-1].Verdict != verdict || !strings.Contains(h[len(h)-1].Reason, reason) {
			t.Errorf("history %+v, want a last %s decision containing %q", h, verdict, reason)
		}
	}
}

func all(fs ...func(*testing.T, state)) func(*testing.T, state) {
	return func(t *testing.T, s state) {
		t.Helper()
		for _, f := range fs {
			f(t, s)
		}
	}
}
