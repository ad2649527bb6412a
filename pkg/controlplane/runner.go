// Package controlplane runs serin's pipeline: it watches the store,
// translates a consistent view of it, publishes the result to the snapshot
// cache, and keeps every object's report (with the NACKs nodes attributed to
// it) for the admin API and the status writer.
package controlplane

import (
	"context"
	"log/slog"
	"maps"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
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
	// LineOf, when set, gives the line of a field of an object loaded from
	// a file (file.Source.LineOf), so that a rejection is logged at the
	// line of its problem; without it, at the object's first line.
	LineOf func(origin store.Origin, fieldPath string) int
}

// Runner translates on every store change.
type Runner struct {
	cfg     Config
	reports *Reports
	// tr keeps the last translation so that the next one redoes only what
	// changed and hands back unchanged messages as the same pointers.
	tr *translator.Translator
	// accepted is the last accepted version of every object
	// (Input.LastAccepted). The Translator keeps the input it was given,
	// so this map is replaced when something changes, never edited.
	accepted map[ident.Ref]translator.Accepted
	// rejected is what was logged for each object that is now Rejected,
	// so that a rejection is logged once, not on every translation.
	rejected map[ident.Ref]string
	now      func() time.Time
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
	return &Runner{cfg: cfg, reports: NewReports(), tr: translator.NewTranslator(), now: time.Now}
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
	in := r.input(txn)
	out := r.tr.Translate(in, r.cfg.Options)
	took := time.Since(start)
	r.accepted = nextAccepted(r.accepted, in, out.Reports, r.now())
	r.logRejections(out.Reports, txn)
	r.reports.SetTranslation(out.Reports, txn)
	if m := r.cfg.Metrics; m != nil {
		m.observeTranslation(took, txn)
		m.observeReports(out.Reports)
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

// input reads the store into a translation's input, with the last accepted
// versions.
func (r *Runner) input(txn *store.ReadTxn) *translator.Input {
	in := translator.InputFrom(txn)
	in.LastAccepted = r.accepted
	return in
}

// nextAccepted returns the last accepted versions after a translation of
// in: every object reported Accepted or Warning by its own version (no
// Serving) is recorded at its current revision, At kept while the revision
// is; a Rejected object keeps its entry (that version is what is served);
// an object no longer in the input loses its entry. It returns prev itself
// when nothing changed, and otherwise a new map: prev may be held by the
// Translator and is never modified.
func nextAccepted(prev map[ident.Ref]translator.Accepted, in *translator.Input, reports []translator.Report, now time.Time) map[ident.Ref]translator.Accepted {
	cur := versions(in)
	var next map[ident.Ref]translator.Accepted
	edit := func() {
		if next == nil {
			next = make(map[ident.Ref]translator.Accepted, len(prev)+1)
			maps.Copy(next, prev)
		}
	}
	for _, rep := range reports {
		if rep.Serving != nil || (rep.State != v1alpha1.StateAccepted && rep.State != v1alpha1.StateWarning) {
			continue
		}
		v, ok := cur[rep.Ref]
		if !ok {
			continue
		}
		if old, ok := prev[rep.Ref]; ok && old.Rev == v.Rev && (v.Rev != 0 || old.Obj == v.Obj) {
			continue // the same version: it keeps its time
		}
		edit()
		v.At = now
		next[rep.Ref] = v
	}
	for ref := range prev {
		if _, ok := cur[ref]; !ok {
			edit()
			delete(next, ref)
		}
	}
	if next == nil {
		return prev
	}
	return next
}

// versions indexes the input's objects by reference.
func versions(in *translator.Input) map[ident.Ref]translator.Accepted {
	out := make(map[ident.Ref]translator.Accepted, len(in.Upstreams)+len(in.UpstreamGroups)+len(in.VirtualServices)+len(in.Gateways)+len(in.Canaries))
	add := func(kind string, o metav1.Object, rev uint64) {
		out[ident.Ref{Kind: kind, Namespace: o.GetNamespace(), Name: o.GetName()}] = translator.Accepted{Obj: o, Rev: rev}
	}
	for _, o := range in.Upstreams {
		add(v1alpha1.KindUpstream, o.Obj, o.Rev)
	}
	for _, o := range in.UpstreamGroups {
		add(v1alpha1.KindUpstreamGroup, o.Obj, o.Rev)
	}
	for _, o := range in.VirtualServices {
		add(v1alpha1.KindVirtualService, o.Obj, o.Rev)
	}
	for _, o := range in.Gateways {
		add(v1alpha1.KindGateway, o.Obj, o.Rev)
	}
	for _, o := range in.Canaries {
		add(v1alpha1.KindCanary, o.Obj, o.Rev)
	}
	return out
}

// logRejections logs, once, every report that becomes Rejected or whose
// reason changes (at WARN, where it is defined and whether its last
// accepted version is still served), and, once, an object that is no
// longer Rejected.
func (r *Runner) logRejections(reports []translator.Report, txn *store.ReadTxn) {
	var next map[ident.Ref]string
	for _, rep := range reports {
		if rep.State != v1alpha1.StateRejected {
			if _, was := r.rejected[rep.Ref]; was {
				r.cfg.Log.Info("object no longer rejected", "kind", rep.Kind, "object", rep.Namespace+"/"+rep.Name, "state", string(rep.State))
			}
			continue
		}
		said := rep.Reason
		if rep.Serving != nil {
			said += "\x00serving"
		}
		if next == nil {
			next = map[ident.Ref]string{}
		}
		next[rep.Ref] = said
		if r.rejected[rep.Ref] == said {
			continue
		}
		attrs := []any{"kind", rep.Kind, "object", rep.Namespace + "/" + rep.Name}
		if at := r.originOf(txn, rep); at != "" {
			attrs = append(attrs, "origin", at)
		}
		attrs = append(attrs, "reason", rep.Reason)
		msg := "object rejected"
		if s := rep.Serving; s != nil {
			msg = "object rejected; its last accepted version is still served"
			attrs = append(attrs, "serving_accepted_at", s.At.UTC().Format(time.RFC3339))
			if s.Generation != 0 {
				attrs = append(attrs, "serving_generation", s.Generation)
			}
		}
		r.cfg.Log.Warn(msg, attrs...)
	}
	r.rejected = next
}

// originOf is file:line of a report's object when it came from a file: the
// line of its first rejected problem's field when LineOf can tell, else of
// the object.
func (r *Runner) originOf(txn *store.ReadTxn, rep translator.Report) string {
	o, ok := txn.Origin(rep.Kind, rep.Key())
	if !ok || o.File == "" {
		return ""
	}
	if r.cfg.LineOf != nil {
		for _, p := range rep.Problems {
			if p.Severity == v1alpha1.StateRejected && p.Field != "" {
				o.Line = r.cfg.LineOf(o, p.Field)
				break
			}
		}
	}
	return o.String()
}
