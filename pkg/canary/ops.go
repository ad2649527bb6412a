package canary

import (
	"context"
	"errors"
	"fmt"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/store"
)

// Operation is a manual action on a Canary.
type Operation string

const (
	// OpPromote moves to the next step without judging; with Full, to
	// 100% at once.
	OpPromote Operation = "promote"
	OpPause   Operation = "pause"
	// OpResume continues a paused rollout with a fresh window for its step.
	OpResume Operation = "resume"
	// OpAbort rolls back.
	OpAbort Operation = "abort"
	// OpRetry starts a rolled-back or failed release again from the start.
	OpRetry Operation = "retry"
)

// Errors of Do.
var (
	ErrNotFound = errors.New("no such canary")
	ErrConflict = errors.New("not possible in this phase")
	ErrStopped  = errors.New("the canary engine is not running")
	ErrFollower = errors.New("this serin is not the leader")
)

type op struct {
	key   store.Key
	what  Operation
	full  bool
	who   string
	reply chan opReply
}

type opReply struct {
	view View
	err  error
}

// Do applies a manual operation on the engine's loop. who is recorded in
// the decision (e.g. the admin client's address).
func (e *Engine) Do(ctx context.Context, key store.Key, what Operation, full bool, who string) (View, error) {
	o := op{key: key, what: what, full: full, who: who, reply: make(chan opReply, 1)}
	select {
	case e.ops <- o:
	case <-ctx.Done():
		return View{}, ErrStopped
	}
	select {
	case r := <-o.reply:
		return r.view, r.err
	case <-ctx.Done():
		return View{}, ctx.Err()
	}
}

func (e *Engine) apply(ctx context.Context, o op) opReply {
	if !e.leader() {
		return opReply{err: ErrFollower}
	}
	r := e.rollouts[o.key.String()]
	if r == nil {
		return opReply{err: fmt.Errorf("%w: %s", ErrNotFound, o.key)}
	}
	now := e.cfg.Now()
	by := "by operator"
	if o.who != "" {
		by += " (" + o.who + ")"
	}
	phase := r.status.Phase
	conflict := func() opReply {
		return opReply{view: e.viewOf(r), err: fmt.Errorf("%w: %s is %s", ErrConflict, o.what, phase)}
	}
	switch o.what {
	case OpPromote:
		if terminal(phase) {
			return conflict()
		}
		if o.full {
			e.succeed(ctx, r, now, "promoted to 100% "+by)
			break
		}
		e.decide(ctx, r, now, "Promoted", "promoted to the next step "+by, r.live)
		if phase == v1alpha1.PhasePending || phase == v1alpha1.PhaseMirroring {
			e.enterStep(ctx, r, now, 0, "promoted "+by)
		} else {
			e.advance(ctx, r, now)
		}
	case OpPause:
		if terminal(phase) || phase == v1alpha1.PhasePaused {
			return conflict()
		}
		e.pause(ctx, r, now, "paused "+by, r.live)
	case OpResume:
		if phase != v1alpha1.PhasePaused {
			return conflict()
		}
		if r.status.Step < 0 && r.obj.Spec.Mirror != nil {
			e.enterMirror(ctx, r, now)
		} else {
			e.enterStep(ctx, r, now, max(r.status.Step, 0), "resumed "+by+"; the step's window starts again")
		}
	case OpAbort:
		if terminal(phase) {
			return conflict()
		}
		e.rollback(ctx, r, now, v1alpha1.PhaseRolledBack, "aborted "+by, r.live)
	case OpRetry:
		if phase != v1alpha1.PhaseRolledBack && phase != v1alpha1.PhaseFailed {
			return conflict()
		}
		if err := e.start(ctx, r, now, "retry of "+r.status.Release+" "+by); err != nil {
			return opReply{view: e.viewOf(r), err: err}
		}
	default:
		return opReply{err: fmt.Errorf("unknown operation %q", o.what)}
	}
	return opReply{view: e.viewOf(r)}
}
