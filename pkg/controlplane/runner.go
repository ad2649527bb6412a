// Package controlplane runs serin's pipeline: it watches the store,
// translates a consistent view of it, publishes the result to the snapshot
// cache, and keeps every object's report (with the NACKs nodes attributed to
// it) for the admin API and the status writer.
package controlplane

import (
	"context"
	"log/slog"
	"time"

	"github.com/serin-dev/serin/pkg/store"
	"github.com/serin-dev/serin/snapshot"
	"github.com/serin-dev/serin/translator"
)

// Defaults for coalescing store changes into translations.
const (
	// DefaultQuiet is how long the store must be quiet before a translation
	// starts. Short: the file source already debounces editors' bursts, and
	// the file-change-to-ACK budget is 100 ms.
	DefaultQuiet = 10 * time.Millisecond
	// DefaultMaxDelay bounds how long a stream of changes can postpone a
	// translation, so a busy source (50 changes/s) still gets pushed.
	DefaultMaxDelay = time.Second
)

// Config wires a Runner.
type Config struct {
	Store   *store.Store
	Cache   *snapshot.Cache
	Options translator.Options
	// Quiet and MaxDelay coalesce bursts of store changes; zero means the defaults.
	Quiet    time.Duration
	MaxDelay time.Duration
	Metrics  *Metrics
	Log      *slog.Logger
	// OnTranslated, when set, is called after each translation is
	// published (e.g. to wake the Kubernetes status writer). It must not
	// block.
	OnTranslated func()
}

// Runner translates on every store change.
type Runner struct {
	cfg     Config
	reports *Reports
	// tr keeps the last translation so that the next one redoes only what
	// changed and hands back unchanged messages as the same pointers.
	tr *translator.Translator
}

// New returns a runner; call Run to start it.
func New(cfg Config) *Runner {
	if cfg.Quiet == 0 {
		cfg.Quiet = DefaultQuiet
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Runner{cfg: cfg, reports: NewReports(), tr: translator.NewTranslator()}
}

// Reports returns the per-object results, NACKs included.
func (r *Runner) Reports() *Reports { return r.reports }

// Run translates the current store, then again after every change, until
// ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	for {
		changed := r.cfg.Store.Changed()
		r.translate()
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
		if !r.settle(ctx) {
			return nil
		}
	}
}

// settle waits until the store has been quiet for Quiet, or MaxDelay has
// passed since the first change, whichever is first. It returns false when
// ctx ends.
func (r *Runner) settle(ctx context.Context) bool {
	deadline := time.NewTimer(r.cfg.MaxDelay)
	defer deadline.Stop()
	for {
		next := r.cfg.Store.Changed()
		quiet := time.NewTimer(r.cfg.Quiet)
		select {
		case <-ctx.Done():
			quiet.Stop()
			return false
		case <-deadline.C:
			quiet.Stop()
			return true
		case <-quiet.C:
			return true
		case <-next:
			quiet.Stop()
		}
	}
}

// translate runs one translation and publishes it.
func (r *Runner) translate() {
	start := time.Now()
	txn := r.cfg.Store.Read()
	in := translator.InputFrom(txn)
	out := r.tr.Translate(in, r.cfg.Options)
	took := time.Since(start)
	r.reports.SetTranslation(out.Reports, txn)
	if m := r.cfg.Metrics; m != nil {
		m.observeTranslation(took, txn)
	}
	if err := r.cfg.Cache.Update(out); err != nil {
		// A fleet whose output fails the consistency check keeps its last
		// good snapshot; the others are published. This is a translator
		// bug, never the user's: say so loudly.
		r.cfg.Log.Error("publish snapshot", "err", err)
	}
	r.cfg.Log.Debug("translated", "took", took, "reports", len(out.Reports))
	if r.cfg.OnTranslated != nil {
		r.cfg.OnTranslated()
	}
}
