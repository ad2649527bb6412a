package canary

import (
	"context"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/metrics"
)

// The engine's loop: what happens to the rollouts, fed to their machines.

// Restore adopts every Canary in the store: saved rollouts resume at their
// step with their step start time, new ones start. Call it after the
// sources have loaded and before the first translation, so that clients
// never see the group's spec weights in between. Run calls it too.
func (e *Engine) Restore(ctx context.Context) error {
	if !e.leader() {
		e.follow(ctx, e.cfg.Now())
		return nil
	}
	e.wasLeader = true
	e.sync(ctx, e.cfg.Now())
	return nil
}

// Run drives the canaries until ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	var cancels []func()
	for name, p := range e.cfg.Providers {
		if n, ok := p.(metrics.Notifier); ok {
			cancels = append(cancels, n.Notify(func(cluster string, at time.Time) { e.onReport(name, cluster, at) }))
		}
	}
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	defer close(e.stopped)
	tick := time.NewTicker(e.cfg.Tick)
	defer tick.Stop()
	for {
		changed := e.cfg.Store.Changed()
		now := e.cfg.Now()
		leader := e.leader()
		switch {
		case !leader:
			if e.wasLeader {
				// Just lost the lease: the rollouts are the new leader's.
				// Drop this replica's copies so that nothing (a late
				// webhook answer, a report) acts on them; what it serves
				// comes from follow.
				e.rollouts, e.byCluster, e.retryAt = map[string]*rollout{}, clusterIndex{}, map[string]time.Time{}
				e.waiting = map[string]string{}
				e.clearUnsaved()
				e.followAt = time.Time{}
				e.wasLeader = false
			}
			if now.Sub(e.followAt) >= time.Second {
				e.followAt = now
				e.follow(ctx, now)
			}
		case !e.wasLeader:
			// Just elected: forget what a follower knew and resume from
			// the saved status.
			e.rollouts, e.byCluster, e.retryAt = map[string]*rollout{}, clusterIndex{}, map[string]time.Time{}
			e.waiting = map[string]string{}
			e.clearUnsaved()
			e.wasLeader = true
			e.sync(ctx, now)
		default:
			e.sync(ctx, now)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-tick.C:
			if e.leader() {
				e.due(ctx, e.cfg.Now())
			}
		case <-e.wake:
			if e.leader() {
				e.reports(ctx)
			}
		case o := <-e.ops:
			o.reply <- e.operate(ctx, o)
		case g := <-e.gates:
			// A call made while leading may answer after the lease is
			// gone: only the leader acts (and a new leader asks again).
			if e.leader() {
				e.gateDone(ctx, g)
			}
		}
	}
}

// feed runs one event through r's machine and carries out the effects.
// It returns the refusal of a manual operation.
func (e *Engine) feed(ctx context.Context, r *rollout, ev event) error {
	next, fx := transition(r.st, ev)
	r.st = next
	return e.execute(ctx, r, fx)
}

type reportKey struct{ provider, cluster string }

// onReport is the providers' notification: it runs on their goroutines,
// so it only records the cluster and wakes the loop. Bursts from many
// clients coalesce into one evaluation per cluster.
func (e *Engine) onReport(provider, cluster string, at time.Time) {
	k := reportKey{provider, cluster}
	e.reportMu.Lock()
	if _, ok := e.reported[k]; !ok {
		e.reported[k] = at
	}
	e.reportMu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// reports evaluates the rollouts of every reported cluster for a hard
// breach: a limit crossed with enough samples rolls back on the report
// that shows it.
func (e *Engine) reports(ctx context.Context) {
	e.reportMu.Lock()
	batch := e.reported
	e.reported = make(map[reportKey]time.Time, len(batch))
	e.reportMu.Unlock()
	for k, at := range batch {
		e.onClusterReport(ctx, k.provider, k.cluster, at)
	}
}

// onClusterReport checks the rollouts that judge cluster on provider's
// numbers for a hard breach.
func (e *Engine) onClusterReport(ctx context.Context, provider, cluster string, at time.Time) {
	for _, r := range e.byCluster[cluster] {
		s := &r.st
		if s.plan.obj.Spec.Analysis.Provider != provider || !s.judging() || !e.mark(ctx, r, e.cfg.Now()) || !e.meter.overLimit(ctx, s) {
			continue
		}
		if v, err := e.meter.measure(ctx, s, false); err == nil && v.Hard {
			e.feed(ctx, r, breached{at: at, verdict: v})
		}
	}
}

// due runs the checks whose time has come.
func (e *Engine) due(ctx context.Context, now time.Time) {
	e.retrySaves(ctx, now)
	for _, r := range e.rollouts {
		if !r.st.nextCheck.IsZero() && !now.Before(r.st.nextCheck) {
			e.check(ctx, r, now)
		}
	}
}

// check feeds r's machine a due check, with the window's verdict when it
// judges one.
func (e *Engine) check(ctx context.Context, r *rollout, now time.Time) {
	ev := checkDue{at: now}
	if r.st.judging() && e.mark(ctx, r, now) {
		ev.verdict, ev.err = e.meter.measure(ctx, &r.st, r.st.status.Phase != v1alpha1.PhaseMirroring)
	}
	e.feed(ctx, r, ev)
}

// mark says whether r's window has its baseline, taking it once the step
// has settled. (The marked test inlines: every report asks.)
func (e *Engine) mark(ctx context.Context, r *rollout, now time.Time) bool {
	return r.st.marked || e.markNow(ctx, r, now)
}

func (e *Engine) markNow(ctx context.Context, r *rollout, now time.Time) bool {
	if now.Before(r.st.stepStart.Add(e.cfg.Settle)) {
		return false
	}
	p := e.meter.provider(r.st.plan)
	if p == nil {
		return false
	}
	e.feed(ctx, r, windowMarked{at: now, marks: e.meter.marks(p, r.st.plan, now)})
	return true
}

// gateDone feeds a gating webhook's answer to its rollout's machine.
func (e *Engine) gateDone(ctx context.Context, res gateResult) {
	if r := e.rollouts[res.id]; r != nil {
		e.feed(ctx, r, gateAnswered{at: e.cfg.Now(), call: res.call, ok: res.ok, msg: res.msg})
	}
}
