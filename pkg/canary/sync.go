package canary

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/metrics"
	"github.com/serin-dev/serin/pkg/store"
)

// Following the store: which Canaries the engine runs, and what a
// follower serves.

// sync adopts new Canaries, follows changed ones and forgets deleted ones.
func (e *Engine) sync(ctx context.Context, now time.Time) {
	txn := e.cfg.Store.Read()
	seen := make(map[string]bool, len(e.rollouts))
	holders := e.holders(txn.Canaries())
	for _, c := range txn.Canaries() {
		key := ident.Key{Namespace: c.Namespace, Name: c.Name}
		if key.Namespace == "" {
			key.Namespace = v1alpha1.DefaultNamespace
		}
		id := key.String()
		seen[id] = true
		r := e.rollouts[id]
		if h := holders[groupOf(c)]; h != nil && h != c {
			e.wait(ctx, r, c, h, now)
			continue
		}
		delete(e.waiting, id)
		if r != nil && r.src == c {
			continue
		}
		if errs := c.DeepCopy().Validate(); len(errs) > 0 {
			// The translator reports it; a running rollout keeps going
			// on the last valid spec.
			continue
		}
		if r == nil {
			if at, ok := e.retryAt[id]; ok && now.Before(at) {
				continue
			}
			r = &rollout{key: key, id: id, src: c}
			if err := e.adopt(ctx, r, now); err != nil {
				e.retryLater(id, now, err)
				continue
			}
			delete(e.retryAt, id)
			e.rollouts[id] = r
			e.byCluster.set(r, true)
			continue
		}
		ev := specChanged{at: now, plan: newPlan(c, e.cfg.Settle)}
		if ev.plan.release != r.st.plan.release {
			// A new release is never numbered without the previous ones.
			list, err := e.cfg.Releases.Releases(r.key)
			if err != nil {
				// The old release is over either way; its state stays
				// served until the new one can start (adopt, next sync).
				e.byCluster.set(r, false)
				delete(e.rollouts, id)
				r.unsaved, r.unsavedReleases = nil, nil
				e.setUnsaved(r)
				e.retryLater(id, now, fmt.Errorf("read the release history of %s: %w", r.id, err))
				continue
			}
			ev.releases = list
		}
		e.byCluster.set(r, false)
		r.src = c
		e.feed(ctx, r, ev)
		e.byCluster.set(r, true)
	}
	for id, r := range e.rollouts {
		if !seen[id] {
			e.forget(ctx, r)
		}
	}
	for id := range e.retryAt {
		if !seen[id] {
			delete(e.retryAt, id)
		}
	}
	for id := range e.waiting {
		if !seen[id] {
			delete(e.waiting, id)
		}
	}
	for id := range e.valid {
		if !seen[id] {
			delete(e.valid, id)
		}
	}
	e.dropDeleted(seen)
}

// groupOf is the id (namespace/name) of the UpstreamGroup c releases.
func groupOf(c *v1alpha1.Canary) string {
	ns := c.Namespace
	if ns == "" {
		ns = v1alpha1.DefaultNamespace
	}
	return c.Spec.UpstreamGroup.In(ns).String()
}

// holders returns, per UpstreamGroup, the Canary that releases it: the
// oldest claim (v1alpha1.OlderClaim) among those the engine could run
// (valid, or running on an earlier valid spec). One release at a time per
// group: the others wait until it is deleted.
func (e *Engine) holders(cs []*v1alpha1.Canary) map[string]*v1alpha1.Canary {
	out := map[string]*v1alpha1.Canary{}
	for _, c := range cs {
		if e.rollouts[canaryID(c)] == nil && !e.validates(c) {
			continue
		}
		g := groupOf(c)
		if h := out[g]; h == nil || v1alpha1.OlderClaim(c, h) {
			out[g] = c
		}
	}
	return out
}

// validates says whether c is valid, remembering the answer per object
// (sync runs on every change and tick).
func (e *Engine) validates(c *v1alpha1.Canary) bool {
	id := canaryID(c)
	if v, ok := e.valid[id]; ok && v.src == c {
		return v.ok
	}
	ok := len(c.DeepCopy().Validate()) == 0
	e.valid[id] = validity{src: c, ok: ok}
	return ok
}

type validity struct {
	src *v1alpha1.Canary
	ok  bool
}

// wait keeps c, which is not its group's holder h, from acting: no
// override (a running rollout of it is stopped, its saved status kept),
// phase Pending with the reason in its view and saved status.
func (e *Engine) wait(ctx context.Context, r *rollout, c, h *v1alpha1.Canary, now time.Time) {
	id := canaryID(c)
	msg := fmt.Sprintf("UpstreamGroup %s is released by Canary %s", groupOf(c), canaryID(h))
	e.stopForHolder(r, id, h)
	if errs := c.DeepCopy().Validate(); len(errs) > 0 {
		return // the translator reports it; nothing to show or save
	}
	if at, ok := e.retryAt[id]; e.waiting[id] == msg || ok && now.Before(at) {
		return
	}
	e.showWaiting(ctx, c, id, msg, now)
}

// stopForHolder stops r, a rollout of a Canary that no longer holds its
// group (h does).
func (e *Engine) stopForHolder(r *rollout, id string, h *v1alpha1.Canary) {
	if r != nil {
		e.byCluster.set(r, false)
		delete(e.rollouts, id)
		r.unsaved, r.unsavedReleases = nil, nil
		e.setUnsaved(r)
		if err := e.cfg.Store.Update(func(tx *store.WriteTxn) error { return tx.DeleteCanaryState(r.key) }); err != nil {
			e.log.Error("delete canary state", "canary", id, "err", err)
		}
		e.log.Info("canary stopped: another Canary holds its group", "canary", id, "holder", canaryID(h))
	}
}

// showWaiting publishes (and, as leader, saves) a waiting Canary's view.
func (e *Engine) showWaiting(ctx context.Context, c *v1alpha1.Canary, id, msg string, now time.Time) {
	p := newPlan(c, e.cfg.Settle)
	v := View{Namespace: p.obj.Namespace, Name: c.Name, Phase: v1alpha1.PhasePending, Release: p.release,
		Stable: p.stableT.Namespace + "/" + p.stableT.Upstream, Group: p.groupID, Provider: p.obj.Spec.Analysis.Provider,
		Steps: p.weights, Message: msg, Decisions: []DecisionView{}}
	e.views.set(id, v)
	if e.leader() {
		// No release: a later takeover starts a new one rather than
		// resuming this placeholder.
		st := &v1alpha1.CanaryStatus{Phase: v1alpha1.PhasePending, ObservedGeneration: c.Generation, Step: 0,
			Conditions: []metav1.Condition{{Type: condWaiting, Status: metav1.ConditionTrue, Reason: "GroupHeld", Message: msg,
				LastTransitionTime: metav1.NewTime(now)}}}
		if err := e.cfg.Status.Save(ctx, ident.Key{Namespace: p.obj.Namespace, Name: c.Name}, st); err != nil {
			e.log.Error("save the status of a waiting canary; retrying", "canary", id, "retry", loadRetry, "err", err)
			e.retryAt[id] = now.Add(loadRetry)
			return
		}
		delete(e.retryAt, id)
	}
	e.waiting[id] = msg
}

// condWaiting is the condition of a Canary waiting for its group.
const condWaiting = "Waiting"

// canaryID is the id of a Canary's rollout and store state.
func canaryID(c *v1alpha1.Canary) string {
	key := ident.Key{Namespace: c.Namespace, Name: c.Name}
	if key.Namespace == "" {
		key.Namespace = v1alpha1.DefaultNamespace
	}
	return key.String()
}

// dropDeleted removes the store state (the override the translator
// applies) and the view of every Canary not in live. forget does it for
// the rollouts this engine runs; this catches the rest: Canaries deleted
// while this replica followed (follow only writes) or before it led (a
// new leader starts with no rollouts), whose split would otherwise be
// served forever.
func (e *Engine) dropDeleted(live map[string]bool) {
	var gone []ident.Key
	for _, st := range e.cfg.Store.Read().CanaryStates() {
		if !live[st.ID] {
			ns, name, _ := strings.Cut(st.ID, "/")
			gone = append(gone, ident.Key{Namespace: ns, Name: name})
		}
	}
	if len(gone) > 0 {
		err := e.cfg.Store.Update(func(tx *store.WriteTxn) error {
			for _, k := range gone {
				if err := tx.DeleteCanaryState(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			e.log.Error("delete the canary state of deleted Canaries", "canaries", gone, "err", err)
		} else {
			e.log.Info("deleted Canaries: the groups' own weights apply again", "canaries", gone)
		}
	}
	e.views.prune(live)
}

// loadRetry is how long a Canary whose saved status or release history
// could not be read waits before the next attempt.
const loadRetry = time.Second

// retryLater leaves a Canary unmanaged until loadRetry has passed: the
// store keeps whatever it serves (what this replica mirrored as a
// follower, or nothing) and the saved status is not touched.
func (e *Engine) retryLater(id string, now time.Time, err error) {
	e.log.Error("cannot read the saved canary status or release history; keeping the served state and retrying", "canary", id, "retry", loadRetry, "err", err)
	e.retryAt[id] = now.Add(loadRetry)
}

// adopt resumes a saved rollout of the same release or starts a new one.
// When the saved status or the release history cannot be read it changes
// nothing and returns the error: starting over would drop a live rollout
// to 0% and overwrite its saved status.
func (e *Engine) adopt(ctx context.Context, r *rollout, now time.Time) error {
	ev := restored{at: now, plan: newPlan(r.src, e.cfg.Settle)}
	var err error
	if ev.saved, err = e.cfg.Status.Load(ctx, r.key); err != nil {
		// A status that exists but cannot be read will not get better by
		// waiting: the rollout goes to Error (see restoreUnreadable).
		if !errors.As(err, &ev.unreadable) {
			return fmt.Errorf("load the saved status: %w", err)
		}
		e.log.Error("the saved canary status cannot be read: phase Error until an operator acts", "canary", r.id, "err", err)
	}
	if err := saneStatus(ev.saved, ev.plan); err != nil {
		// Parsed, but not a state this canary can be in (a hand edit, a
		// patched status subresource): as unreadable, never as the truth.
		e.log.Error("the saved canary status is not a state of this canary: phase Error until an operator acts", "canary", r.id, "err", err)
		ev.unreadable = &UnreadableStatusError{Path: "the saved status of " + r.id, Err: err}
		ev.saved = nil
	}
	if ev.releases, err = e.cfg.Releases.Releases(r.key); err != nil {
		return fmt.Errorf("read the release history: %w", err)
	}
	if resumable(ev.saved, ev.plan) {
		r.lastSaved = encode(ev.saved)
		// The window restarts at the takeover. This replica's providers
		// have been ingesting reports all along (LRS is attached whether
		// or not it leads), so their totals hold earlier steps, earlier
		// releases and stable traffic from long before: a mark without a
		// baseline would judge the step on all of it. A step entered less
		// than Settle ago is marked once it has settled, as usual.
		start := now
		if ev.saved.StepStartTime != nil {
			start = ev.saved.StepStartTime.Time
		}
		if p := e.meter.provider(ev.plan); p == nil {
			// measure says the provider is missing.
			ev.marks, ev.marked = [2]metrics.Mark{{Time: now}, {Time: now}}, true
		} else if !now.Before(start.Add(e.cfg.Settle)) {
			ev.marks, ev.marked = e.meter.marks(p, ev.plan, now), true
		}
	}
	e.feed(ctx, r, ev)
	return nil
}

// forget drops a deleted Canary: its override goes, the group's spec
// weights apply again.
func (e *Engine) forget(ctx context.Context, r *rollout) {
	e.byCluster.set(r, false)
	delete(e.rollouts, r.id)
	r.unsaved, r.unsavedReleases = nil, nil
	e.setUnsaved(r)
	e.feed(ctx, r, deleted{})
}

// follow mirrors the leader's status into this instance's store so that
// every replica serves the same weights. It reads the status the Canary
// objects carry (Kubernetes: the status subresource, through the
// informers), not the StatusStore, so that followers cost the API server
// nothing.
func (e *Engine) follow(ctx context.Context, _ time.Time) {
	txn := e.cfg.Store.Read()
	live := map[string]bool{}
	for _, c := range txn.Canaries() {
		live[canaryID(c)] = true
		st := c.Status
		if st.Phase == "" || st.Release != releaseID(c) {
			continue
		}
		key := ident.Key{Namespace: c.Namespace, Name: c.Name}
		r := &rollout{key: key, id: key.String(), src: c}
		e.feed(ctx, r, mirrored{plan: newPlan(c, e.cfg.Settle), status: &st})
	}
	e.dropDeleted(live)
}

// saneStatus checks a saved status that parsed against the canary's plan:
// its step must be one of the plan's (or -1, the mirror phase) and its
// weight a percentage. Anything else would index past the steps or send
// a weight nobody chose.
func saneStatus(st *v1alpha1.CanaryStatus, p *plan) error {
	if st == nil || st.Release != p.release {
		return nil // not resumed: a new release starts
	}
	if st.Step < -1 || int(st.Step) >= len(p.weights) {
		return fmt.Errorf("step %d: this canary has steps 0 to %d", st.Step, len(p.weights)-1)
	}
	if st.Weight < 0 || st.Weight > 100 {
		return fmt.Errorf("weight %d: not a percentage", st.Weight)
	}
	return nil
}
