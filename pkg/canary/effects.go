package canary

import (
	"context"

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
					e.log.Error("save canary status", "canary", r.id, "err", err)
				} else {
					r.lastSaved = enc
				}
			}
		case saveRelease:
			if !e.leader() {
				break
			}
			if err := e.cfg.Releases.SaveRelease(r.key, f.release); err != nil {
				e.log.Error("save release history", "canary", r.id, "err", err)
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
