package canary

import (
	"context"
	"errors"
	"fmt"

	"github.com/serin-dev/serin/pkg/ident"
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
	// OpUndo returns a finished release (Succeeded) to the stable at
	// 100%: the phase becomes RolledBack. Refused when the stable
	// Upstream is gone from the store.
	OpUndo Operation = "undo"
)

// Errors of Do.
var (
	ErrNotFound = errors.New("no such canary")
	ErrConflict = errors.New("not possible in this phase")
	ErrStopped  = errors.New("the canary engine is not running")
	ErrFollower = errors.New("this serin is not the leader")
)

type op struct {
	key   ident.Key
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
func (e *Engine) Do(ctx context.Context, key ident.Key, what Operation, full bool, who string) (View, error) {
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

// operate feeds a manual operation to its rollout's machine. A retry
// that the phase allows reads the release log first, and fails without
// it: a release is never numbered without knowing the previous ones.
func (e *Engine) operate(ctx context.Context, o op) opReply {
	if !e.leader() {
		return opReply{err: ErrFollower}
	}
	r := e.rollouts[o.key.String()]
	if r == nil {
		return opReply{err: fmt.Errorf("%w: %s", ErrNotFound, o.key)}
	}
	ev := operated{at: e.cfg.Now(), op: o.what, full: o.full, who: o.who}
	if o.what == OpRetry && refusal(&r.st, OpRetry) == nil {
		list, err := e.cfg.Releases.Releases(r.key)
		if err != nil {
			return opReply{view: viewOf(r), err: fmt.Errorf("read the release history of %s: %w", r.id, err)}
		}
		ev.releases = list
	}
	if o.what == OpUndo {
		st := r.st.plan.stableT
		if _, ok := e.cfg.Store.Read().Upstream(ident.Key{Namespace: st.Namespace, Name: st.Upstream}); !ok {
			ev.stableMissing = st.Namespace + "/" + st.Upstream
		}
	}
	if err := e.feed(ctx, r, ev); err != nil {
		if !errors.Is(err, ErrConflict) {
			return opReply{err: err} // an unknown operation
		}
		return opReply{view: viewOf(r), err: err}
	}
	return opReply{view: viewOf(r)}
}
