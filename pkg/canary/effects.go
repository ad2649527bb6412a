package canary

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"

	"github.com/serin-dev/serin/pkg/store"
)

// execute carries out a transition's effects on r, in order, and returns
// the refusal of a manual operation, if any. r.st is already the state
// after the transition: effects that depend on the state at their moment
// carry it.
func (e *Engine) execute(ctx context.Context, r *rollout, fx []effect) error {
	var refusal error
	for _, f := range fx {
		switch f := f.(type) {
		case publishRoutes:
			st := &store.CanaryState{ID: r.id, GroupID: r.st.plan.groupID, Status: *f.status.DeepCopy(), Weights: f.weights, Mirror: f.mirror,
				Canary: f.canary, Stickiness: f.stickiness, Cohort: f.cohort}
			if err := e.cfg.Store.Update(func(tx *store.WriteTxn) error { return tx.PutCanaryState(st) }); err != nil {
				e.log.Error("write canary state", "canary", r.id, "err", err)
			}
		case persistStatus:
			if !e.leader() {
				break
			}
			if enc := encode(&f.status); enc != r.lastSaved {
				if err := e.cfg.Status.Save(ctx, r.key, &f.status); err != nil {
					e.log.Error("save canary status; retrying", "canary", r.id, "phase", f.status.Phase, "err", err)
					e.unsaved(r, f.status.DeepCopy(), nil)
				} else {
					r.lastSaved = enc
					e.unsaved(r, nil, nil)
				}
			}
		case saveRelease:
			if !e.leader() {
				break
			}
			if err := e.cfg.Releases.SaveRelease(r.key, f.release); err != nil {
				e.log.Error("save release history; retrying", "canary", r.id, "release", f.release.Number, "err", err)
				e.unsaved(r, r.unsaved, &f.release)
			} else if r.unsavedReleases != nil {
				delete(r.unsavedReleases, f.release.Number)
				e.unsaved(r, r.unsaved, nil)
			}
		case logInfo:
			e.log.Info(f.msg, append([]any{"canary", r.id}, f.args...)...)
		case callHook:
			e.callHook(r, f)
		case publishView:
			e.views.set(r.id, viewOf(r))
		case checkNow:
			e.check(ctx, r, f.at)
		case dropRoutes:
			if err := e.cfg.Store.Update(func(tx *store.WriteTxn) error { return tx.DeleteCanaryState(r.key) }); err != nil {
				e.log.Error("delete canary state", "canary", r.id, "err", err)
			}
		case forgetStatus:
			if d, ok := e.cfg.Status.(StatusDeleter); ok {
				if err := d.Delete(ctx, r.key); err != nil {
					e.log.Error("delete saved canary status", "canary", r.id, "err", err)
				}
			}
		case dropView:
			e.views.drop(r.id)
		case refused:
			refusal = f.err
		}
	}
	return refusal
}

// Backoff of the retried saves.
const (
	saveRetryMin = 500 * time.Millisecond
	saveRetryMax = 30 * time.Second
)

// unsaved records what r still has to save: st (nil: the status is saved)
// and rel (added to the releases to save), schedules the retry, and
// publishes what Ready reports.
func (e *Engine) unsaved(r *rollout, st *v1alpha1.CanaryStatus, rel *Release) {
	r.unsaved = st
	if rel != nil {
		if r.unsavedReleases == nil {
			r.unsavedReleases = map[int]Release{}
		}
		r.unsavedReleases[rel.Number] = *rel
	}
	if r.unsaved == nil && len(r.unsavedReleases) == 0 {
		r.saveRetryAt, r.saveBackoff = time.Time{}, 0
	} else if r.saveRetryAt.IsZero() {
		r.saveBackoff = saveRetryMin
		r.saveRetryAt = e.cfg.Now().Add(r.saveBackoff)
	}
	e.setUnsaved(r)
}

// retrySaves saves again what failed to save, each rollout on its own
// backoff (saveRetryMin doubling up to saveRetryMax).
func (e *Engine) retrySaves(ctx context.Context, now time.Time) {
	for _, r := range e.rollouts {
		if r.saveRetryAt.IsZero() || now.Before(r.saveRetryAt) {
			continue
		}
		ok := true
		if st := r.unsaved; st != nil {
			if err := e.cfg.Status.Save(ctx, r.key, st); err != nil {
				e.log.Error("save canary status (retry)", "canary", r.id, "phase", st.Phase, "err", err)
				ok = false
			} else {
				e.log.Info("canary status saved after a retry", "canary", r.id, "phase", st.Phase)
				r.lastSaved, r.unsaved = encode(st), nil
			}
		}
		for n, rel := range r.unsavedReleases {
			if err := e.cfg.Releases.SaveRelease(r.key, rel); err != nil {
				e.log.Error("save release history (retry)", "canary", r.id, "release", n, "err", err)
				ok = false
			} else {
				delete(r.unsavedReleases, n)
			}
		}
		if ok {
			r.saveRetryAt, r.saveBackoff = time.Time{}, 0
		} else {
			r.saveBackoff = min(2*r.saveBackoff, saveRetryMax)
			r.saveRetryAt = now.Add(r.saveBackoff)
		}
		e.setUnsaved(r)
	}
}

// setUnsaved publishes whether r has a rollback (or undo) that is not
// saved yet, for Ready.
func (e *Engine) setUnsaved(r *rollout) {
	e.unsavedMu.Lock()
	defer e.unsavedMu.Unlock()
	if st := r.unsaved; st != nil && (st.Phase == v1alpha1.PhaseRolledBack || st.Phase == v1alpha1.PhaseFailed) {
		e.unsavedRollbacks[r.id] = string(st.Phase)
	} else {
		delete(e.unsavedRollbacks, r.id)
	}
}

// clearUnsaved forgets every unsaved rollback: the rollouts are gone
// (leadership changed hands; the leader's saves are its own).
func (e *Engine) clearUnsaved() {
	e.unsavedMu.Lock()
	clear(e.unsavedRollbacks)
	e.unsavedMu.Unlock()
}

// Ready returns an error naming the Canaries whose rollback (or undo) is
// served but not saved yet: a restart now would resume from the older
// saved status. The engine retries the save with backoff; Ready is nil
// once every rollback is saved. Safe to call from any goroutine (e.g. a
// /readyz handler).
func (e *Engine) Ready() error {
	e.unsavedMu.Lock()
	defer e.unsavedMu.Unlock()
	if len(e.unsavedRollbacks) == 0 {
		return nil
	}
	ids := slices.Sorted(maps.Keys(e.unsavedRollbacks))
	return fmt.Errorf("canary rollback not saved yet (retrying): %s", strings.Join(ids, ", "))
}
