// Package canary is serin's progressive-delivery engine: it walks each
// Canary's release through its steps by writing the weights into the
// store's canary state (one store write, one RDS push per step), judges
// every step on what the data plane reported since the step began, and
// promotes, pauses or rolls back. See docs/canary.md.
package canary

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/serin-dev/serin/pkg/metrics"
	"github.com/serin-dev/serin/pkg/store"
)

// Defaults for Config.
const (
	// DefaultTick is how often due checks are looked for. Checks run on
	// each Canary's own interval; the tick only bounds how late one runs.
	DefaultTick = 100 * time.Millisecond
	// DefaultSettle is how long after a step's weights are written its
	// window begins: clients apply new routes within milliseconds, but an
	// LRS report covers the client's last 1 s, so the first report after a
	// step still holds the previous step's calls. Skipping one report
	// interval (plus the push) keeps windows from mixing steps.
	DefaultSettle = 1100 * time.Millisecond
)

// Config wires an Engine.
type Config struct {
	Store *store.Store
	// Providers by analysis.provider name (lrs, metricsService,
	// prometheus). A Canary naming a provider that is not configured is
	// held (never judged blind) with the reason in its status.
	Providers map[string]metrics.Provider
	// Queries evaluates analysis.metrics (PromQL); nil holds Canaries
	// that list metrics.
	Queries MetricQuerier
	// Status and Releases persist state; nil keeps them in memory.
	Status   StatusStore
	Releases ReleaseLog
	// IsLeader says whether this instance acts; nil means always (file
	// mode). Followers mirror the saved status into their store.
	IsLeader func() bool
	// HTTPClient calls webhooks; nil uses a client without a global
	// timeout (each webhook has its own).
	HTTPClient *http.Client
	Now        func() time.Time
	Log        *slog.Logger
	Tick       time.Duration
	Settle     time.Duration
}

// MetricQuerier runs a custom metric's query (metrics.Prometheus).
type MetricQuerier interface {
	Query(ctx context.Context, query string, v metrics.Vars) (float64, error)
}

// Engine runs every Canary in the store.
type Engine struct {
	cfg Config
	log *slog.Logger

	// Owned by the loop goroutine (and by Restore before Run).
	rollouts  map[string]*rollout
	byCluster map[string][]*rollout
	wasLeader bool
	followAt  time.Time
	// retryAt holds Canaries whose saved status or release history could
	// not be read, until their next attempt.
	retryAt map[string]time.Time

	ops     chan op
	gates   chan gateResult
	stopped chan struct{} // closed when Run returns: late webhook answers are dropped

	reportMu sync.Mutex
	reported map[reportKey]time.Time // earliest unprocessed report
	wake     chan struct{}

	viewMu sync.RWMutex
	views  map[string]View
}

// New returns an engine; call Restore (optional) then Run.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil {
		return nil, errors.New("canary engine: a store is needed")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Tick <= 0 {
		cfg.Tick = DefaultTick
	}
	if cfg.Settle == 0 {
		cfg.Settle = DefaultSettle
	}
	if cfg.Status == nil || cfg.Releases == nil {
		m := NewMemoryStore()
		if cfg.Status == nil {
			cfg.Status = m
		}
		if cfg.Releases == nil {
			cfg.Releases = m
		}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	return &Engine{
		cfg: cfg, log: cfg.Log.With("component", "canary"),
		rollouts: map[string]*rollout{}, byCluster: map[string][]*rollout{}, retryAt: map[string]time.Time{},
		ops: make(chan op), gates: make(chan gateResult, 64), stopped: make(chan struct{}),
		reported: map[reportKey]time.Time{}, wake: make(chan struct{}, 1),
		views: map[string]View{},
	}, nil
}

func (e *Engine) leader() bool { return e.cfg.IsLeader == nil || e.cfg.IsLeader() }

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
				e.rollouts, e.byCluster, e.retryAt = map[string]*rollout{}, map[string][]*rollout{}, map[string]time.Time{}
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
			e.rollouts, e.byCluster, e.retryAt = map[string]*rollout{}, map[string][]*rollout{}, map[string]time.Time{}
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
			o.reply <- e.apply(ctx, o)
		case g := <-e.gates:
			// A call made while leading may answer after the lease is
			// gone: only the leader acts (and a new leader asks again).
			if e.leader() {
				e.gateDone(ctx, g)
			}
		}
	}
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
// numbers.
func (e *Engine) onClusterReport(ctx context.Context, provider, cluster string, at time.Time) {
	for _, r := range e.byCluster[cluster] {
		if r.obj.Spec.Analysis.Provider == provider {
			e.hardCheck(ctx, r, at)
		}
	}
}

// due runs the checks whose time has come.
func (e *Engine) due(ctx context.Context, now time.Time) {
	for _, r := range e.rollouts {
		if !r.nextCheck.IsZero() && !now.Before(r.nextCheck) {
			e.step(ctx, r, now)
		}
	}
}

// index rebuilds the cluster -> rollouts index for r.
func (e *Engine) index(r *rollout, add bool) {
	for _, c := range []string{r.canaryT.Cluster, r.stableT.Cluster} {
		list := e.byCluster[c]
		for i, x := range list {
			if x == r {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if add {
			list = append(list, r)
		}
		if len(list) == 0 {
			delete(e.byCluster, c)
		} else {
			e.byCluster[c] = list
		}
	}
}
