package canary

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/metrics"
)

// start begins a release: the canary gets nothing until the pre-rollout
// gates pass. It changes nothing when the release log cannot be read: a
// release is never numbered without knowing the previous ones.
func (e *Engine) start(ctx context.Context, r *rollout, now time.Time, why string) error {
	list, err := e.cfg.Releases.Releases(r.key)
	if err != nil {
		return fmt.Errorf("read the release history of %s: %w", r.id, err)
	}
	e.begin(ctx, r, now, why, list)
	return nil
}

// begin starts a release numbered after list, the Canary's releases.
func (e *Engine) begin(ctx context.Context, r *rollout, now time.Time, why string, list []Release) {
	number := 1
	if len(list) > 0 {
		number = list[len(list)-1].Number + 1
	}
	r.release = Release{Number: number, Release: releaseID(r.obj), Spec: *r.obj.Spec.DeepCopy(), Started: now, Decisions: []v1alpha1.CanaryDecision{}}
	r.status = v1alpha1.CanaryStatus{Phase: v1alpha1.PhasePending, Release: releaseID(r.obj), Step: 0, Weight: 0,
		StepStartTime: ptrTime(now), ObservedGeneration: r.obj.Generation}
	r.stepStart, r.marked, r.live, r.message = now, false, nil, ""
	r.decisions = nil
	r.gates = map[string]*gate{}
	r.nextCheck = now
	e.decide(ctx, r, now, "Started", why, nil)
	e.writeState(r)
	e.persist(ctx, r)
	e.publish(r)
}

func ptrTime(t time.Time) *metav1.Time { m := metav1.NewTime(t); return &m }

// enterStep sets step i's weight: one store write, one RDS push.
func (e *Engine) enterStep(ctx context.Context, r *rollout, now time.Time, i int32, why string) {
	r.status.Phase = v1alpha1.PhaseProgressing
	r.status.Step, r.status.Weight = i, r.weights[i]
	e.beginWindow(r, now)
	e.writeState(r)
	e.decide(ctx, r, now, "Advanced", fmt.Sprintf("step %d: canary weight %d%% (%s)", i, r.weights[i], why), nil)
	e.persist(ctx, r)
	e.publish(r)
}

// enterMirror starts the shadow phase: live traffic stays on the stable,
// a copy goes to the canary.
func (e *Engine) enterMirror(ctx context.Context, r *rollout, now time.Time) {
	r.status.Phase = v1alpha1.PhaseMirroring
	r.status.Step, r.status.Weight = -1, 0
	e.beginWindow(r, now)
	e.writeState(r)
	e.decide(ctx, r, now, "Mirroring", fmt.Sprintf("mirroring %.4g%% of requests to the canary for %s", r.obj.Spec.Mirror.Percentage, r.obj.Spec.Mirror.Duration), nil)
	e.persist(ctx, r)
	e.publish(r)
}

// beginWindow starts a step's counting: the window begins once the new
// weights have settled (see DefaultSettle).
func (e *Engine) beginWindow(r *rollout, now time.Time) {
	r.stepStart = now
	r.status.StepStartTime = ptrTime(now)
	r.status.FailedChecks = 0
	r.marked, r.live, r.message = false, nil, ""
	r.gates = map[string]*gate{}
	r.nextCheck = now.Add(e.cfg.Settle)
}

// mark takes the window's baseline once the step has settled.
func (e *Engine) mark(r *rollout, now time.Time) bool {
	if r.marked {
		return true
	}
	if now.Before(r.stepStart.Add(e.cfg.Settle)) {
		return false
	}
	p := e.provider(r)
	if p == nil {
		return false
	}
	r.marks = [2]metrics.Mark{p.Mark(r.canaryT, now), p.Mark(r.stableT, now)}
	r.marked = true
	r.nextCheck = now.Add(r.interval)
	return true
}

func (e *Engine) provider(r *rollout) metrics.Provider {
	return e.cfg.Providers[r.obj.Spec.Analysis.Provider]
}

// measure judges the window since the step began.
func (e *Engine) measure(ctx context.Context, r *rollout, withMetrics bool) (*Verdict, error) {
	p := e.provider(r)
	if p == nil {
		return nil, fmt.Errorf("metrics provider %q is not configured on this server", r.obj.Spec.Analysis.Provider)
	}
	cw, err := p.Window(ctx, r.canaryT, r.marks[0])
	if err != nil {
		return nil, err
	}
	sw, err := p.Window(ctx, r.stableT, r.marks[1])
	if err != nil {
		return nil, err
	}
	var custom []MetricValue
	if withMetrics {
		custom = e.customMetrics(ctx, r, cw.From, cw.To)
	}
	v := Judge(r.limits, side(cw), side(sw), custom)
	return &v, nil
}

func side(w metrics.Window) Side {
	s := Side{Requests: w.Requests, Errors: w.Errors}
	s.P99, s.HasP99 = w.Quantile(0.99)
	return s
}

func (e *Engine) customMetrics(ctx context.Context, r *rollout, from, to time.Time) []MetricValue {
	var out []MetricValue
	for _, m := range r.obj.Spec.Analysis.Metrics {
		mv := MetricValue{Name: m.Name, Min: m.Min, Max: m.Max}
		if e.cfg.Queries == nil {
			mv.Err = "no Prometheus configured (--prometheus-url)"
		} else if v, err := e.cfg.Queries.Query(ctx, m.Query, metrics.Vars{Target: r.canaryT, Interval: to.Sub(from)}); err != nil {
			mv.Err = err.Error()
		} else {
			mv.Value = v
		}
		out = append(out, mv)
	}
	return out
}

// hardCheck runs on every report for r's clusters: a hard breach with
// enough samples rolls back at once.
func (e *Engine) hardCheck(ctx context.Context, r *rollout, at time.Time) {
	if r.obj.Spec.Suspend || (r.status.Phase != v1alpha1.PhaseProgressing && r.status.Phase != v1alpha1.PhaseMirroring) {
		return
	}
	if !e.mark(r, e.cfg.Now()) {
		return
	}
	p := e.provider(r)
	// Cheap test first: the full verdict (with its words) only when the
	// canary side crosses an absolute limit with enough samples.
	cw, err := p.Window(ctx, r.canaryT, r.marks[0])
	if err != nil || int64(cw.Requests) < r.limits.MinRequests || cw.Requests == 0 {
		return
	}
	breach := r.limits.MaxErrorRate >= 0 && cw.ErrorRate() > r.limits.MaxErrorRate
	if !breach && r.limits.MaxLatencyP99 > 0 {
		if p99, ok := cw.Quantile(0.99); ok && p99 > r.limits.MaxLatencyP99 {
			breach = true
		}
	}
	if !breach {
		return
	}
	v, err := e.measure(ctx, r, false)
	if err != nil || !v.Hard {
		return
	}
	r.live, r.liveAt = v, at
	e.rollback(ctx, r, at, v1alpha1.PhaseRolledBack, "hard limit crossed: "+v.Reason, v)
}

// step advances r's state machine at a due check.
func (e *Engine) step(ctx context.Context, r *rollout, now time.Time) {
	r.nextCheck = now.Add(r.interval)
	if r.obj.Spec.Suspend {
		r.message = "suspended (spec.suspend)"
		e.publish(r)
		return
	}
	switch r.status.Phase {
	case v1alpha1.PhasePending:
		if ok, why := e.gatesPass(r, v1alpha1.WebhookPreRollout, now); !ok {
			r.message = why
			break
		}
		if r.obj.Spec.Mirror != nil && r.obj.Spec.Mirror.Percentage > 0 {
			e.enterMirror(ctx, r, now)
		} else {
			e.enterStep(ctx, r, now, 0, "pre-rollout checks passed")
		}
		return
	case v1alpha1.PhaseMirroring:
		e.checkMirror(ctx, r, now)
		return
	case v1alpha1.PhaseProgressing:
		e.checkStep(ctx, r, now)
		return
	case v1alpha1.PhasePromoting:
		if ok, why := e.gatesPass(r, v1alpha1.WebhookConfirmPromotion, now); !ok {
			r.message = why
			break
		}
		e.succeed(ctx, r, now, "promotion confirmed")
		return
	default:
		r.nextCheck = time.Time{} // Paused and terminal phases wait for an operator
	}
	e.publish(r)
}

// checkMirror judges the shadow cluster; at the end of the phase the
// canary takes its first step.
func (e *Engine) checkMirror(ctx context.Context, r *rollout, now time.Time) {
	if !e.mark(r, now) {
		return
	}
	v, err := e.measure(ctx, r, false)
	if err != nil {
		r.message = "cannot measure: " + err.Error()
		e.publish(r)
		return
	}
	r.live, r.liveAt = v, now
	if v.Result == Fail && v.Hard {
		e.rollback(ctx, r, now, v1alpha1.PhaseRolledBack, "mirror: "+v.Reason, v)
		return
	}
	if now.Sub(r.stepStart) < r.obj.Spec.Mirror.Duration.Get(0) {
		e.publish(r)
		return
	}
	switch v.Result {
	case Fail:
		e.rollback(ctx, r, now, v1alpha1.PhaseRolledBack, "mirror: "+v.Reason, v)
	case Insufficient:
		// Shadow traffic is not live traffic: too little of it (gRPC
		// clients do not mirror) is recorded, and the first step judges.
		e.decide(ctx, r, now, string(Insufficient), "mirror phase ended without enough shadow traffic to judge: "+v.Reason, v)
		e.enterStep(ctx, r, now, 0, "mirror phase over")
	default:
		e.decide(ctx, r, now, string(Pass), "mirror "+v.Reason, v)
		e.enterStep(ctx, r, now, 0, "mirror phase passed")
	}
}

// checkStep is the interval check of a live step.
func (e *Engine) checkStep(ctx context.Context, r *rollout, now time.Time) {
	if !e.mark(r, now) {
		return
	}
	v, err := e.measure(ctx, r, true)
	if err != nil {
		r.message = "cannot measure: " + err.Error()
		e.publish(r)
		return
	}
	r.live, r.liveAt, r.message = v, now, ""
	elapsed := now.Sub(r.stepStart)
	switch v.Result {
	case Insufficient:
		if elapsed < r.maxStep {
			e.record(ctx, r, now, "Extended", "step extended: "+v.Reason, v)
			break
		}
		why := fmt.Sprintf("step %d never saw enough traffic in %v (maxStepDuration): %s", r.status.Step, r.maxStep, v.Reason)
		if r.obj.Spec.Analysis.OnInsufficientTraffic == v1alpha1.InsufficientTrafficFail {
			e.rollback(ctx, r, now, v1alpha1.PhaseFailed, why, v)
			return
		}
		e.pause(ctx, r, now, why, v)
		return
	case Fail:
		r.status.FailedChecks++
		limit := int32(2)
		if fl := r.obj.Spec.Analysis.FailureLimit; fl != nil {
			limit = *fl
		}
		if v.Hard || r.status.FailedChecks >= limit {
			e.rollback(ctx, r, now, v1alpha1.PhaseRolledBack, fmt.Sprintf("check failed (%d of %d): %s", r.status.FailedChecks, limit, v.Reason), v)
			return
		}
		e.decide(ctx, r, now, string(Fail), fmt.Sprintf("check failed (%d of %d): %s", r.status.FailedChecks, limit, v.Reason), v)
		e.persist(ctx, r)
	case Pass:
		r.status.FailedChecks = 0
		if pause := r.stepPause(); elapsed < pause {
			r.message = fmt.Sprintf("passing; holding the step for its pause of %v", pause)
			break
		}
		if ok, why := e.gatesPass(r, v1alpha1.WebhookStep, now); !ok {
			r.message = why
			break
		}
		e.decide(ctx, r, now, string(Pass), v.Reason, v)
		e.advance(ctx, r, now)
		return
	}
	e.publish(r)
}

// record adds a decision only when the verdict differs from the step's
// previous one, so that a long step does not flood the history.
func (e *Engine) record(ctx context.Context, r *rollout, now time.Time, verdict, reason string, v *Verdict) {
	if n := len(r.status.History); n > 0 {
		last := r.status.History[n-1]
		if last.Verdict == verdict && last.Step == r.status.Step {
			return
		}
	}
	e.decide(ctx, r, now, verdict, reason, v)
	e.persist(ctx, r)
}

func (r *rollout) stepPause() time.Duration {
	if s := r.obj.Spec.Steps; int(r.status.Step) < len(s) && r.status.Step >= 0 {
		return s[r.status.Step].Pause.Get(0)
	}
	return 0
}

// advance moves to the next step, or to promotion after the last.
func (e *Engine) advance(ctx context.Context, r *rollout, now time.Time) {
	next := r.status.Step + 1
	if int(next) < len(r.weights) {
		e.enterStep(ctx, r, now, next, fmt.Sprintf("step %d passed", r.status.Step))
		return
	}
	r.status.Phase = v1alpha1.PhasePromoting
	r.gates = map[string]*gate{}
	e.decide(ctx, r, now, "Promoting", "every step passed", nil)
	e.persist(ctx, r)
	e.step(ctx, r, now)
}

// succeed gives the canary all traffic and ends the release.
func (e *Engine) succeed(ctx context.Context, r *rollout, now time.Time, why string) {
	r.status.Phase, r.status.Weight = v1alpha1.PhaseSucceeded, 100
	r.nextCheck, r.message = time.Time{}, ""
	e.writeState(r)
	e.decide(ctx, r, now, "Succeeded", why, r.live)
	e.end(ctx, r, now)
	e.notify(r, v1alpha1.WebhookPostRollout, why)
}

// rollback sets the stable to 100, drops the mirror, records why and
// notifies the rollback webhooks. phase is RolledBack or Failed.
func (e *Engine) rollback(ctx context.Context, r *rollout, at time.Time, phase v1alpha1.CanaryPhase, why string, v *Verdict) {
	r.status.Phase, r.status.Weight = phase, 0
	r.nextCheck, r.message = time.Time{}, ""
	e.writeState(r)
	e.decide(ctx, r, at, string(phase), why, v)
	e.end(ctx, r, at)
	e.notify(r, v1alpha1.WebhookRollback, why)
}

// pause holds the current weights until an operator resumes.
func (e *Engine) pause(ctx context.Context, r *rollout, now time.Time, why string, v *Verdict) {
	r.status.Phase = v1alpha1.PhasePaused
	r.nextCheck = time.Time{}
	e.writeState(r)
	e.decide(ctx, r, now, "Paused", why, v)
	e.persist(ctx, r)
	e.publish(r)
}

func (e *Engine) end(ctx context.Context, r *rollout, now time.Time) {
	t := now
	r.release.Ended, r.release.Outcome = &t, r.status.Phase
	if e.leader() {
		if err := e.cfg.Releases.SaveRelease(r.key, r.release); err != nil {
			e.log.Error("save release history", "canary", r.id, "err", err)
		}
	}
	e.persist(ctx, r)
	e.publish(r)
}
