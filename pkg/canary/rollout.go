package canary

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/metrics"
	"github.com/serin-dev/serin/pkg/store"
)

// rollout is the engine's working state for one Canary.
type rollout struct {
	key store.Key
	id  string
	src *v1alpha1.Canary // the store's object, to notice changes
	obj *v1alpha1.Canary // defaulted copy

	weights          []int32
	limits           Limits
	interval         time.Duration
	maxStep          time.Duration
	canaryT, stableT metrics.Target
	groupID          string

	status    v1alpha1.CanaryStatus
	stepStart time.Time // precise; status.StepStartTime is second-precision once saved
	marks     [2]metrics.Mark
	marked    bool
	nextCheck time.Time
	gates     map[string]*gate
	release   Release
	decisions []DecisionView // newest last, bounded like status.History
	live      *Verdict
	liveAt    time.Time
	message   string // why the rollout waits, when it does
	lastSaved string // the saved status, encoded, to skip equal writes
}

// releaseID is the canary upstream a rollout is for.
func releaseID(c *v1alpha1.Canary) string { return c.Spec.Canary.In(c.Namespace).String() }

func (e *Engine) prepare(r *rollout, c *v1alpha1.Canary) {
	obj := c.DeepCopy()
	obj.Default()
	r.src, r.obj = c, obj
	r.weights = obj.Weights()
	r.limits = LimitsOf(obj.Spec.Analysis)
	r.interval = obj.Spec.Analysis.Interval.Get(10 * time.Second)
	r.maxStep = obj.Spec.Analysis.MaxStepDuration.Get(10 * time.Minute)
	st, cn := obj.Spec.Stable.In(obj.Namespace), obj.Spec.Canary.In(obj.Namespace)
	r.stableT = metrics.Target{Namespace: st.Namespace, Upstream: st.Name, Cluster: metrics.ClusterName(st.Namespace, st.Name), Canary: cn.Name, Stable: st.Name}
	r.canaryT = metrics.Target{Namespace: cn.Namespace, Upstream: cn.Name, Cluster: metrics.ClusterName(cn.Namespace, cn.Name), Canary: cn.Name, Stable: st.Name}
	r.groupID = obj.Spec.UpstreamGroup.In(obj.Namespace).String()
}

// sync adopts new Canaries, follows changed ones and forgets deleted ones.
func (e *Engine) sync(ctx context.Context, now time.Time) {
	txn := e.cfg.Store.Read()
	seen := make(map[string]bool, len(e.rollouts))
	for _, c := range txn.Canaries() {
		key := store.Key{Namespace: c.Namespace, Name: c.Name}
		if key.Namespace == "" {
			key.Namespace = v1alpha1.DefaultNamespace
		}
		id := key.String()
		seen[id] = true
		r := e.rollouts[id]
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
			r = &rollout{key: key, id: id, gates: map[string]*gate{}}
			e.prepare(r, c)
			if err := e.adopt(ctx, r, now); err != nil {
				e.retryLater(id, now, err)
				continue
			}
			delete(e.retryAt, id)
			e.rollouts[id] = r
			e.index(r, true)
			continue
		}
		oldRelease := releaseID(r.obj)
		e.index(r, false)
		e.prepare(r, c)
		e.index(r, true)
		if releaseID(r.obj) != oldRelease {
			if err := e.start(ctx, r, now, "new release "+releaseID(r.obj)+" (spec.canary changed)"); err != nil {
				// The old release is over either way; its state stays
				// served until the new one can start (adopt, next sync).
				e.index(r, false)
				delete(e.rollouts, id)
				e.retryLater(id, now, err)
				continue
			}
		} else if !terminal(r.status.Phase) && r.status.Step >= int32(len(r.weights)) {
			e.enterStep(ctx, r, now, int32(len(r.weights)-1), "steps changed")
		}
		e.publish(r)
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
	e.dropDeleted(seen)
}

// canaryID is the id of a Canary's rollout and store state.
func canaryID(c *v1alpha1.Canary) string {
	key := store.Key{Namespace: c.Namespace, Name: c.Name}
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
	var gone []store.Key
	for _, st := range e.cfg.Store.Read().CanaryStates() {
		if !live[st.ID] {
			ns, name, _ := strings.Cut(st.ID, "/")
			gone = append(gone, store.Key{Namespace: ns, Name: name})
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
	e.viewMu.Lock()
	for id := range e.views {
		if !live[id] {
			delete(e.views, id)
		}
	}
	e.viewMu.Unlock()
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
	saved, err := e.cfg.Status.Load(ctx, r.key)
	if err != nil {
		return fmt.Errorf("load the saved status: %w", err)
	}
	list, err := e.cfg.Releases.Releases(r.key)
	if err != nil {
		return fmt.Errorf("read the release history: %w", err)
	}
	if saved == nil || saved.Release != releaseID(r.obj) || saved.Phase == "" {
		e.begin(ctx, r, now, "new release "+releaseID(r.obj), list)
		return nil
	}
	if len(list) > 0 {
		r.release = list[len(list)-1]
	}
	r.status = *saved
	r.lastSaved = encode(saved)
	r.stepStart = now
	if saved.StepStartTime != nil {
		r.stepStart = saved.StepStartTime.Time
	}
	for _, d := range saved.History {
		r.decisions = append(r.decisions, DecisionView{CanaryDecision: d, At: d.Time.Time})
	}
	if r.release.Release != r.status.Release {
		r.release = Release{}
	}
	// The window restarts at the takeover. This replica's providers have
	// been ingesting reports all along (LRS is attached whether or not it
	// leads), so their totals hold earlier steps, earlier releases and
	// stable traffic from long before: a mark without a baseline would
	// judge the step on all of it. What the step did before the takeover
	// is not known here; the step start is kept for maxStepDuration and
	// the step's pause. A step entered less than Settle ago is marked by
	// mark() once it has settled, as usual.
	r.marked = false
	if p := e.provider(r); p == nil {
		// measure says the provider is missing.
		r.marks = [2]metrics.Mark{{Time: now}, {Time: now}}
		r.marked = true
	} else if !now.Before(r.stepStart.Add(e.cfg.Settle)) {
		r.marks = [2]metrics.Mark{p.Mark(r.canaryT, now), p.Mark(r.stableT, now)}
		r.marked = true
	}
	switch r.status.Phase {
	case v1alpha1.PhasePending, v1alpha1.PhaseMirroring, v1alpha1.PhaseProgressing, v1alpha1.PhasePromoting:
		r.nextCheck = now.Add(r.interval)
	}
	e.log.Info("canary resumed", "canary", r.id, "phase", r.status.Phase, "step", r.status.Step, "weight", r.status.Weight, "stepStart", r.stepStart)
	e.writeState(r)
	e.publish(r)
	return nil
}

// forget drops a deleted Canary: its override goes, the group's spec
// weights apply again.
func (e *Engine) forget(ctx context.Context, r *rollout) {
	e.index(r, false)
	delete(e.rollouts, r.id)
	if err := e.cfg.Store.Update(func(tx *store.WriteTxn) error { return tx.DeleteCanaryState(r.key) }); err != nil {
		e.log.Error("delete canary state", "canary", r.id, "err", err)
	}
	if d, ok := e.cfg.Status.(StatusDeleter); ok {
		if err := d.Delete(ctx, r.key); err != nil {
			e.log.Error("delete saved canary status", "canary", r.id, "err", err)
		}
	}
	e.viewMu.Lock()
	delete(e.views, r.id)
	e.viewMu.Unlock()
	e.log.Info("canary deleted: the group's own weights apply again", "canary", r.id)
}

// follow mirrors the leader's status into this instance's store so that
// every replica serves the same weights. It reads the status the Canary
// objects carry (Kubernetes: the status subresource, through the
// informers), not the StatusStore, so that followers cost the API server
// nothing.
func (e *Engine) follow(_ context.Context, _ time.Time) {
	txn := e.cfg.Store.Read()
	live := map[string]bool{}
	for _, c := range txn.Canaries() {
		live[canaryID(c)] = true
		st := c.Status
		if st.Phase == "" || st.Release != releaseID(c) {
			continue
		}
		key := store.Key{Namespace: c.Namespace, Name: c.Name}
		r := &rollout{key: key, id: key.String(), gates: map[string]*gate{}}
		e.prepare(r, c)
		r.status = *st.DeepCopy()
		if st.StepStartTime != nil {
			r.stepStart = st.StepStartTime.Time
		}
		e.writeState(r)
		e.publish(r)
	}
	e.dropDeleted(live)
}

func terminal(p v1alpha1.CanaryPhase) bool {
	return p == v1alpha1.PhaseSucceeded || p == v1alpha1.PhaseRolledBack || p == v1alpha1.PhaseFailed
}

// writeState writes the weights (and mirror) of r's phase into the store:
// one store write, one RDS push.
func (e *Engine) writeState(r *rollout) {
	st := &store.CanaryState{ID: r.id, GroupID: r.groupID, Active: true, Status: *r.status.DeepCopy()}
	w := uint32(r.status.Weight)
	switch r.status.Phase {
	case v1alpha1.PhaseSucceeded:
		w = 100
	case v1alpha1.PhaseRolledBack, v1alpha1.PhaseFailed, v1alpha1.PhasePending, v1alpha1.PhaseMirroring:
		w = 0
	}
	st.Weights = map[string]uint32{r.stableT.Namespace + "/" + r.stableT.Upstream: 100 - w, r.canaryT.Namespace + "/" + r.canaryT.Upstream: w}
	if r.status.Phase == v1alpha1.PhaseMirroring && r.obj.Spec.Mirror != nil {
		st.Mirror = &v1alpha1.Mirror{Upstream: v1alpha1.ResourceRef{Name: r.canaryT.Upstream, Namespace: r.canaryT.Namespace}, Percentage: r.obj.Spec.Mirror.Percentage}
	}
	if err := e.cfg.Store.Update(func(tx *store.WriteTxn) error { return tx.PutCanaryState(st) }); err != nil {
		e.log.Error("write canary state", "canary", r.id, "err", err)
	}
}

// persist saves the status when it changed.
func (e *Engine) persist(ctx context.Context, r *rollout) {
	if !e.leader() {
		return
	}
	if enc := encode(&r.status); enc != r.lastSaved {
		if err := e.cfg.Status.Save(ctx, r.key, &r.status); err != nil {
			e.log.Error("save canary status", "canary", r.id, "err", err)
		} else {
			r.lastSaved = enc
		}
	}
}

// decide records a decision with the verdict's numbers, in the status
// history, the release log and the event webhooks.
func (e *Engine) decide(ctx context.Context, r *rollout, at time.Time, verdict, reason string, v *Verdict) {
	d := v1alpha1.CanaryDecision{Time: metav1.NewTime(at), Step: r.status.Step, Weight: r.status.Weight, Verdict: verdict, Reason: reason}
	if v != nil {
		d.CanaryRequests, d.CanaryErrors = int64(v.Canary.Requests), int64(v.Canary.Errors)
		d.StableRequests, d.StableErrors = int64(v.Stable.Requests), int64(v.Stable.Errors)
		d.CanaryErrorRate = fmt.Sprintf("%.2f", v.Canary.ErrorRate())
		d.StableErrorRate = fmt.Sprintf("%.2f", v.Stable.ErrorRate())
		if v.Canary.HasP99 {
			d.CanaryP99 = v.Canary.P99.Round(time.Microsecond).String()
		}
		if v.Stable.HasP99 {
			d.StableP99 = v.Stable.P99.Round(time.Microsecond).String()
		}
	}
	r.status.History = append(r.status.History, d)
	if n := len(r.status.History); n > maxStatusHistory {
		r.status.History = r.status.History[n-maxStatusHistory:]
	}
	r.decisions = append(r.decisions, DecisionView{CanaryDecision: d, At: at, Judgement: v})
	if n := len(r.decisions); n > maxStatusHistory {
		r.decisions = r.decisions[n-maxStatusHistory:]
	}
	r.release.Decisions = append(r.release.Decisions, d)
	if n := len(r.release.Decisions); n > maxReleaseDecision {
		r.release.Decisions = r.release.Decisions[n-maxReleaseDecision:]
	}
	if e.leader() {
		if err := e.cfg.Releases.SaveRelease(r.key, r.release); err != nil {
			e.log.Error("save release history", "canary", r.id, "err", err)
		}
	}
	e.log.Info("canary decision", "canary", r.id, "phase", r.status.Phase, "step", d.Step, "weight", d.Weight, "verdict", verdict, "reason", reason)
	e.notify(r, v1alpha1.WebhookEvent, reason)
	_ = ctx
}
