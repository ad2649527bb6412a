package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"golang.org/x/time/rate"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	serinclient "github.com/serin-dev/serin/pkg/client/clientset/versioned"
	"github.com/serin-dev/serin/pkg/controlplane"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/store"
)

// Status writer defaults.
const (
	// DefaultStatusInterval is the longest a report change waits for its
	// status write when nobody calls Trigger (NACKs arrive without one).
	DefaultStatusInterval = time.Second
	// DefaultStatusCoalesce folds the reports of a burst of translations
	// into one round of writes.
	DefaultStatusCoalesce = 100 * time.Millisecond
	// DefaultStatusQPS and DefaultStatusBurst bound status writes so that a
	// leader taking over 10,000 objects does not crowd the API server (it
	// catches up in minutes; status is informational).
	DefaultStatusQPS   = 20
	DefaultStatusBurst = 50
)

// ReportSource is what the status writer reads; *controlplane.Reports
// implements it.
type ReportSource interface {
	List() []controlplane.ResourceStatus
	Nacks(ident.Ref) []v1alpha1.NackStatus
}

// StatusConfig wires a StatusWriter.
type StatusConfig struct {
	RESTConfig *rest.Config
	// Source provides the objects' current status (its caches).
	Source *Source
	// Store gives the generation each report was computed from.
	Store   *store.Store
	Reports ReportSource
	// Interval, Coalesce, QPS and Burst default to the Default* constants.
	Interval time.Duration
	Coalesce time.Duration
	QPS      float64
	Burst    int
	Log      *slog.Logger
}

// StatusWriter writes each object's report (state, reason,
// observedGeneration, NACKs, and for a Rejected object whose last accepted
// version is served, serving) into its status subresource. It runs off the
// translation path: Trigger only wakes it. It writes only what differs from
// the object's current status, at most QPS writes a second. Status writes do
// not change an object's generation or spec, so the store ignores them and
// they never cause a translation. Canaries are left to CanaryStatus.
type StatusWriter struct {
	cfg     StatusConfig
	log     *slog.Logger
	current func(kind string, key ident.Key) (types.UID, *v1alpha1.ResourceStatus, bool)
	patch   func(ctx context.Context, kind string, key ident.Key, body []byte) error
	limiter *rate.Limiter
	wake    chan struct{}
	// written remembers the last status written per object UID, so an
	// object is not written twice while the cache catches up.
	written map[types.UID]v1alpha1.ResourceStatus
}

// NewStatusWriter returns a writer; call Run while leading.
func NewStatusWriter(cfg StatusConfig) (*StatusWriter, error) {
	if cfg.RESTConfig == nil || cfg.Source == nil || cfg.Store == nil || cfg.Reports == nil {
		return nil, fmt.Errorf("kube: status writer needs a REST config, source, store and reports")
	}
	sc, err := serinclient.NewForConfig(cfg.RESTConfig)
	if err != nil {
		return nil, fmt.Errorf("kube: serin client: %w", err)
	}
	w := newStatusWriter(cfg)
	w.current = cfg.Source.currentStatus
	w.patch = func(ctx context.Context, kind string, key ident.Key, body []byte) error {
		return patchStatus(ctx, sc, kind, key, body)
	}
	return w, nil
}

func newStatusWriter(cfg StatusConfig) *StatusWriter {
	if cfg.Interval == 0 {
		cfg.Interval = DefaultStatusInterval
	}
	if cfg.Coalesce == 0 {
		cfg.Coalesce = DefaultStatusCoalesce
	}
	if cfg.QPS == 0 {
		cfg.QPS = DefaultStatusQPS
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultStatusBurst
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &StatusWriter{
		cfg:     cfg,
		log:     cfg.Log.With("component", "status-writer"),
		limiter: rate.NewLimiter(rate.Limit(cfg.QPS), cfg.Burst),
		wake:    make(chan struct{}, 1),
		written: map[types.UID]v1alpha1.ResourceStatus{},
	}
}

// Trigger says the reports changed. It never blocks.
func (w *StatusWriter) Trigger() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run writes status until ctx ends (leadership lost or shutdown).
func (w *StatusWriter) Run(ctx context.Context) error {
	// Another replica may have led (and written other statuses) since this
	// one last did: forget what it wrote then.
	w.written = map[types.UID]v1alpha1.ResourceStatus{}
	tick := time.NewTicker(w.cfg.Interval)
	defer tick.Stop()
	for {
		w.sync(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-w.wake:
			// Let the rest of a burst of translations land first.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(w.cfg.Coalesce):
			}
		}
	}
}

// sync writes every status that differs from what the object carries.
func (w *StatusWriter) sync(ctx context.Context) {
	txn := w.cfg.Store.Read()
	seen := map[types.UID]bool{}
	defer func() {
		if ctx.Err() != nil {
			return
		}
		for uid := range w.written {
			if !seen[uid] {
				delete(w.written, uid) // deleted objects
			}
		}
	}()
	for _, rep := range w.cfg.Reports.List() {
		if rep.Kind == v1alpha1.KindCanary || !isKind(rep.Kind) {
			continue
		}
		key := ident.Key{Namespace: rep.Namespace, Name: rep.Name}
		uid, cur, ok := w.current(rep.Kind, key)
		if !ok {
			continue // deleted, or not (yet) in the cache
		}
		seen[uid] = true
		want := w.desired(txn, rep)
		if equalStatus(cur, &want) {
			w.written[uid] = want
			continue
		}
		if last, ok := w.written[uid]; ok && equalStatus(&last, &want) {
			continue // written; the cache has not seen it yet
		}
		if err := w.limiter.Wait(ctx); err != nil {
			return
		}
		body, err := statusPatch(want)
		if err != nil {
			w.log.Error("encode status", "kind", rep.Kind, "key", key.String(), "err", err)
			continue
		}
		if err := w.patch(ctx, rep.Kind, key, body); err != nil {
			if !apierrors.IsNotFound(err) && ctx.Err() == nil {
				w.log.Warn("write status", "kind", rep.Kind, "key", key.String(), "err", err)
			}
			continue
		}
		w.written[uid] = want
	}
}

// desired is the status a report asks for.
func (w *StatusWriter) desired(txn *store.ReadTxn, rep controlplane.ResourceStatus) v1alpha1.ResourceStatus {
	ref := ident.Ref{Kind: rep.Kind, Namespace: rep.Namespace, Name: rep.Name}
	st := v1alpha1.ResourceStatus{State: v1alpha1.State(rep.State), Reason: rep.Reason}
	if obj, ok := storeObject(txn, rep.Kind, ident.Key{Namespace: rep.Namespace, Name: rep.Name}); ok {
		st.ObservedGeneration = obj.GetGeneration()
	}
	st.Nacks = append(st.Nacks, w.cfg.Reports.Nacks(ref)...)
	if sv := rep.Serving; sv != nil {
		// Rejected, with an earlier accepted version served in its place:
		// the reason stays the rejection's, Serving says what is served.
		st.Serving = &v1alpha1.ServedVersion{Generation: sv.Generation, AcceptedAt: metav1.NewTime(sv.At)}
	}
	return st
}

// equalStatus compares statuses as the API server stores them (times in
// whole seconds, empty and nil lists alike).
func equalStatus(a, b *v1alpha1.ResourceStatus) bool {
	if a.State != b.State || a.Reason != b.Reason || a.ObservedGeneration != b.ObservedGeneration || len(a.Nacks) != len(b.Nacks) {
		return false
	}
	if (a.Serving == nil) != (b.Serving == nil) {
		return false
	}
	if a.Serving != nil && (a.Serving.Generation != b.Serving.Generation ||
		!a.Serving.AcceptedAt.Time.Truncate(time.Second).Equal(b.Serving.AcceptedAt.Time.Truncate(time.Second))) {
		return false
	}
	for i := range a.Nacks {
		x, y := a.Nacks[i], b.Nacks[i]
		if !x.Time.Time.Truncate(time.Second).Equal(y.Time.Time.Truncate(time.Second)) {
			return false
		}
		x.Time, y.Time = metav1.Time{}, metav1.Time{}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

// statusPatch is a JSON merge patch that sets every status field, clearing
// the ones the report leaves empty (null deletes in a merge patch).
func statusPatch(st v1alpha1.ResourceStatus) ([]byte, error) {
	fields := map[string]any{"state": nil, "reason": nil, "observedGeneration": nil, "nacks": nil, "serving": nil}
	if st.State != "" {
		fields["state"] = st.State
	}
	if st.Reason != "" {
		fields["reason"] = st.Reason
	}
	if st.ObservedGeneration != 0 {
		fields["observedGeneration"] = st.ObservedGeneration
	}
	if len(st.Nacks) > 0 {
		fields["nacks"] = st.Nacks
	}
	if st.Serving != nil {
		fields["serving"] = st.Serving
	}
	return json.Marshal(map[string]any{"status": fields})
}

func patchStatus(ctx context.Context, sc serinclient.Interface, kind string, key ident.Key, body []byte) error {
	c := sc.SerinV1alpha1()
	opts := metav1.PatchOptions{FieldManager: "serin"}
	var err error
	switch kind {
	case v1alpha1.KindUpstream:
		_, err = c.Upstreams(key.Namespace).Patch(ctx, key.Name, types.MergePatchType, body, opts, "status")
	case v1alpha1.KindUpstreamGroup:
		_, err = c.UpstreamGroups(key.Namespace).Patch(ctx, key.Name, types.MergePatchType, body, opts, "status")
	case v1alpha1.KindVirtualService:
		_, err = c.VirtualServices(key.Namespace).Patch(ctx, key.Name, types.MergePatchType, body, opts, "status")
	case v1alpha1.KindGateway:
		_, err = c.Gateways(key.Namespace).Patch(ctx, key.Name, types.MergePatchType, body, opts, "status")
	default:
		return fmt.Errorf("kube: no status for kind %s", kind)
	}
	return err
}

// currentStatus reads an object's UID and status from the caches.
func (s *Source) currentStatus(kind string, key ident.Key) (types.UID, *v1alpha1.ResourceStatus, bool) {
	n := s.informersFor(key.Namespace)
	if n == nil || n.kinds[kind] == nil {
		return "", nil, false
	}
	raw, ok, err := n.kinds[kind].GetIndexer().GetByKey(key.String())
	if err != nil || !ok {
		return "", nil, false
	}
	switch o := raw.(type) {
	case *v1alpha1.Upstream:
		return o.UID, &o.Status, true
	case *v1alpha1.UpstreamGroup:
		return o.UID, &o.Status, true
	case *v1alpha1.VirtualService:
		return o.UID, &o.Status, true
	case *v1alpha1.Gateway:
		return o.UID, &o.Status, true
	}
	return "", nil, false
}

func storeObject(txn *store.ReadTxn, kind string, key ident.Key) (metav1.Object, bool) {
	switch kind {
	case v1alpha1.KindUpstream:
		return txn.Upstream(key)
	case v1alpha1.KindUpstreamGroup:
		return txn.UpstreamGroup(key)
	case v1alpha1.KindVirtualService:
		return txn.VirtualService(key)
	case v1alpha1.KindGateway:
		return txn.Gateway(key)
	case v1alpha1.KindCanary:
		return txn.Canary(key)
	}
	return nil, false
}

func isKind(kind string) bool {
	for _, k := range store.Kinds {
		if k == kind {
			return true
		}
	}
	return false
}
