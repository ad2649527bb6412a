package canary

import (
	"fmt"
	"maps"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// The machine's manual operations and webhook gates.

// refusal says why op is not possible in s's phase (ErrConflict), or nil.
func refusal(s *state, op Operation) error {
	phase := s.status.Phase
	var ok bool
	switch op {
	case OpPromote, OpAbort:
		ok = !terminal(phase)
	case OpPause:
		ok = !terminal(phase) && phase != v1alpha1.PhasePaused && phase != v1alpha1.PhaseError
	case OpResume:
		ok = phase == v1alpha1.PhasePaused
	case OpRetry:
		ok = phase == v1alpha1.PhaseRolledBack || phase == v1alpha1.PhaseFailed || phase == v1alpha1.PhaseError
	case OpUndo:
		// After a rollback it changes no weight (unless the canary still
		// holds some), but an operator may always ask for the stable.
		ok = terminal(phase) || phase == v1alpha1.PhaseError
	default:
		return fmt.Errorf("unknown operation %q", op)
	}
	if !ok {
		return fmt.Errorf("%w: %s is %s", ErrConflict, op, phase)
	}
	return nil
}

// operate applies a manual operation, or refuses it.
func (m *machine) operate(ev operated) {
	s, at := &m.s, ev.at
	if err := refusal(s, ev.op); err != nil {
		m.emit(refused{err})
		return
	}
	if ev.op == OpUndo && ev.stableMissing != "" {
		m.emit(refused{fmt.Errorf("%w: undo: the stable Upstream %s is not in the store: routing to it would fail every request", ErrConflict, ev.stableMissing)})
		return
	}
	m.manual, m.actor = true, ev.who
	by := "by operator"
	if ev.who != "" {
		by += " (" + ev.who + ")"
	}
	if s.status.Phase == v1alpha1.PhaseError {
		s.status.Conditions = withoutCondition(s.status.Conditions, condUnreadable)
		s.message = ""
	}
	blueGreen := s.plan.strategy() == v1alpha1.StrategyBlueGreen
	switch phase := s.status.Phase; ev.op {
	case OpPromote:
		switch {
		case phase == v1alpha1.PhaseBaking || s.bakePaused():
			m.succeed(at, "bake ended: promoted "+by)
		case ev.full:
			m.complete(at, "promoted to 100% "+by)
		case phase == v1alpha1.PhaseError && blueGreen:
			// Never straight to 100%: the switch waits for its gates.
			m.decide(at, "Promoted", "promoted out of Error to the switch "+by, s.live)
			m.promoting(at, "promoted "+by)
		case phase == v1alpha1.PhaseError:
			// The saved step may be past the current steps (edited while
			// in Error): the last one at most.
			i := min(max(s.status.Step, 0), int32(len(s.plan.weights)-1))
			m.enterStep(at, i, "promoted "+by+" out of Error; the step's window starts again")
		case blueGreen:
			m.decide(at, "Promoted", "promoted to the switch "+by, s.live)
			m.promoting(at, "promoted "+by)
		default:
			m.decide(at, "Promoted", "promoted to the next step "+by, s.live)
			if phase == v1alpha1.PhasePending || phase == v1alpha1.PhaseMirroring {
				m.enterStep(at, 0, "promoted "+by)
			} else {
				m.advance(at)
			}
		}
	case OpPause:
		m.pause(at, "paused "+by, s.live)
	case OpResume:
		switch {
		case s.bakePaused():
			m.resumeBake(at, by)
		case s.plan.obj.Spec.Mirror != nil && (s.status.Step < 0 || blueGreen):
			m.enterMirror(at)
		default:
			m.enterStep(at, max(s.status.Step, 0), "resumed "+by+"; the step's window starts again")
		}
	case OpAbort:
		m.rollback(at, v1alpha1.PhaseRolledBack, "aborted "+by, s.live)
	case OpRetry:
		m.begin(at, "retry of "+s.status.Release+" "+by, ev.releases)
	case OpUndo:
		if (phase == v1alpha1.PhaseRolledBack || phase == v1alpha1.PhaseFailed) && s.status.Weight == 0 {
			// Already on the stable: recorded, nothing moves, no hooks.
			s.status.Phase = v1alpha1.PhaseRolledBack
			m.emit(m.routes())
			m.decide(at, string(v1alpha1.PhaseRolledBack), "undone "+by+": the stable already had 100%", nil)
			m.emit(persistStatus{s.status}, publishView{})
			break
		}
		m.rollback(at, v1alpha1.PhaseRolledBack, "undone "+by+": the stable has 100% again", nil)
	}
}

// gate is one gating webhook call for one step.
type gate struct {
	call *gateCall // the call asked; answers to any other are stale
	done bool
	ok   bool
	msg  string
}

// gateCall identifies one call of a gating webhook: keys repeat (a new
// release, a resumed step, a reset on leadership), calls do not.
type gateCall struct {
	key  string
	step int32
}

// gatesPass says whether every webhook of a gating type answered 2xx for
// the current step. It asks the ones not asked yet (the runner calls them
// off its loop: a slow hook holds only its own rollout) and asks failed
// ones again at the next check.
func (m *machine) gatesPass(typ v1alpha1.WebhookType) (bool, string) {
	s := &m.s
	pass, why := true, ""
	for _, h := range s.plan.obj.Spec.Webhooks {
		if h.Type != typ {
			continue
		}
		key := fmt.Sprintf("%s/%d/%s", typ, s.status.Step, h.Name)
		g, asked := s.gates[key]
		switch {
		case !asked:
			c := &gateCall{key: key, step: s.status.Step}
			m.setGate(key, gate{call: c})
			m.emit(callHook{hook: h, payload: m.payload(string(typ) + " gate"), gate: c})
			pass, why = false, fmt.Sprintf("waiting for %s webhook %s", typ, h.Name)
		case !g.done:
			pass, why = false, fmt.Sprintf("waiting for %s webhook %s", typ, h.Name)
		case !g.ok:
			m.deleteGate(key) // ask again next check
			pass, why = false, fmt.Sprintf("held by %s webhook %s: %s", typ, h.Name, g.msg)
		}
	}
	return pass, why
}

// gateAnswer records a gating answer and checks again at once.
func (m *machine) gateAnswer(ev gateAnswered) {
	s := &m.s
	g, ok := s.gates[ev.call.key]
	if !ok || g.call != ev.call || ev.call.step != s.status.Step {
		return // an answer to a call of an earlier gate with the same key
	}
	g.done, g.ok, g.msg = true, ev.ok, ev.msg
	m.setGate(ev.call.key, g)
	if !ev.ok {
		m.emit(logInfo{msg: "canary held by webhook", args: []any{"gate", ev.call.key, "answer", ev.msg}})
	}
	if s.nextCheck.IsZero() {
		return
	}
	m.emit(checkNow{ev.at})
}

// notify calls the non-gating webhooks of typ.
func (m *machine) notify(typ v1alpha1.WebhookType, reason string) {
	for _, h := range m.s.plan.obj.Spec.Webhooks {
		if h.Type == typ {
			m.emit(callHook{hook: h, payload: m.payload(reason)})
		}
	}
}

// payload is a webhook's payload for the current status.
func (m *machine) payload(reason string) WebhookPayload {
	st := &m.s.status
	return WebhookPayload{Phase: st.Phase, Release: st.Release, Step: st.Step, Weight: st.Weight, Reason: reason}
}

func (m *machine) resetGates() { m.s.gates, m.ownGates = nil, true }

func (m *machine) setGate(key string, g gate) {
	m.ownGateMap()
	if m.s.gates == nil {
		m.s.gates = map[string]gate{}
	}
	m.s.gates[key] = g
}

func (m *machine) deleteGate(key string) {
	m.ownGateMap()
	delete(m.s.gates, key)
}

func (m *machine) ownGateMap() {
	if !m.ownGates {
		m.s.gates, m.ownGates = maps.Clone(m.s.gates), true
	}
}
