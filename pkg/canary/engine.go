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
	// HTTPClient calls webhooks; nil uses WebhookClient(false): no global
	// timeout (each webhook has its own), link-local and metadata
	// addresses refused.
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

// Engine runs every Canary in the store: it is the runner of the rollout
// state machine (machine.go). It gathers what happened (store changes,
// reports, checks falling due, operations, webhook answers, leadership),
// feeds each rollout's machine, and carries out the effects.
type Engine struct {
	cfg   Config
	log   *slog.Logger
	meter meter

	// Owned by the loop goroutine (and by Restore before Run).
	rollouts  map[string]*rollout
	byCluster clusterIndex
	wasLeader bool
	followAt  time.Time
	// retryAt holds Canaries whose saved status or release history could
	// not be read, until their next attempt.
	retryAt map[string]time.Time
	// waiting holds the Canaries that wait for another to release their
	// group, with the message their view and status show.
	waiting map[string]string
	valid   map[string]validity

	ops     chan op
	gates   chan gateResult
	stopped chan struct{} // closed when Run returns: late webhook answers are dropped

	reportMu sync.Mutex
	reported map[reportKey]time.Time // earliest unprocessed report
	wake     chan struct{}

	views viewSet

	// unsavedRollbacks names the Canaries whose rollback is not saved
	// yet (Ready), by id.
	unsavedMu        sync.Mutex
	unsavedRollbacks map[string]string
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
		cfg.HTTPClient = WebhookClient(false)
	}
	return &Engine{
		cfg: cfg, log: cfg.Log.With("component", "canary"), meter: meter{providers: cfg.Providers, queries: cfg.Queries},
		rollouts: map[string]*rollout{}, byCluster: clusterIndex{}, retryAt: map[string]time.Time{}, waiting: map[string]string{}, valid: map[string]validity{},
		ops: make(chan op), gates: make(chan gateResult, 64), stopped: make(chan struct{}),
		reported: map[reportKey]time.Time{}, wake: make(chan struct{}, 1),
		views: viewSet{m: map[string]View{}}, unsavedRollbacks: map[string]string{},
	}, nil
}

func (e *Engine) leader() bool { return e.cfg.IsLeader == nil || e.cfg.IsLeader() }
