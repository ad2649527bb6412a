package kube

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	serinclient "github.com/serin-dev/serin/pkg/client/clientset/versioned"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/store"
)

// DefaultResync is how often informers replay their caches. Replays of
// unchanged objects are no-ops in the store, so this only repairs a missed
// event; ten minutes is client-go's usual choice for controllers.
const DefaultResync = 10 * time.Minute

// maxBatch bounds how many queued changes go into one store transaction:
// large enough to fold a burst (a rollout touching hundreds of slices) into
// one translation, small enough to keep a transaction short.
const maxBatch = 512

// Config wires a Source.
type Config struct {
	// RESTConfig reaches the API server; see RESTConfig().
	RESTConfig *rest.Config
	// Namespaces to watch; empty means all namespaces.
	Namespaces []string
	// Store receives the objects, under the source name "kube".
	Store *store.Store
	// Resync is the informers' resync period; zero means DefaultResync.
	Resync time.Duration
	Log    *slog.Logger
}

// Source runs informers and applies what they see to the store.
type Source struct {
	cfg    Config
	log    *slog.Logger
	byNS   map[string]*namespaceInformers // "" when watching all namespaces
	queue  *workqueue.Typed[item]
	synced chan struct{}
	// loading is set once the initial load starts; events before that are
	// covered by the load itself.
	loading atomic.Bool
	applied atomic.Uint64
}

// item is one thing to bring the store in line with the caches: an object
// of a serin kind, or the endpoints of an Upstream (kind kindEndpoints).
type item struct {
	kind string
	key  ident.Key
}

const kindEndpoints = "endpoints"

// NewSource builds the clients and informers; Run starts them.
func NewSource(cfg Config) (*Source, error) {
	if cfg.RESTConfig == nil || cfg.Store == nil {
		return nil, fmt.Errorf("kube: source needs a REST config and a store")
	}
	sc, err := serinclient.NewForConfig(cfg.RESTConfig)
	if err != nil {
		return nil, fmt.Errorf("kube: serin client: %w", err)
	}
	kc, err := kubernetes.NewForConfig(cfg.RESTConfig)
	if err != nil {
		return nil, fmt.Errorf("kube: core client: %w", err)
	}
	mc, err := metadata.NewForConfig(cfg.RESTConfig)
	if err != nil {
		return nil, fmt.Errorf("kube: metadata client: %w", err)
	}
	return newSource(cfg, sc, kc, mc)
}

// newSource builds a Source over given clients (fakes in unit tests).
func newSource(cfg Config, sc serinclient.Interface, kc kubernetes.Interface, mc metadata.Interface) (*Source, error) {
	if cfg.Resync == 0 {
		cfg.Resync = DefaultResync
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Source{
		cfg:    cfg,
		log:    cfg.Log.With("source", SourceName),
		byNS:   map[string]*namespaceInformers{},
		queue:  workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[item]{Name: "serin-kube-source"}),
		synced: make(chan struct{}),
	}
	namespaces := cfg.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{""}
	}
	for _, ns := range namespaces {
		if _, dup := s.byNS[ns]; dup {
			continue
		}
		n := newNamespaceInformers(sc, kc, mc, ns, cfg.Resync)
		if err := s.addHandlers(n); err != nil {
			return nil, err
		}
		s.byNS[ns] = n
	}
	return s, nil
}

// Synced is closed once every informer has listed and the store holds the
// complete initial state, so that the first snapshot is never partial.
func (s *Source) Synced() <-chan struct{} { return s.synced }

// HasSynced reports whether Synced is closed.
func (s *Source) HasSynced() bool {
	select {
	case <-s.synced:
		return true
	default:
		return false
	}
}

// Run starts the informers, loads the initial state into the store in one
// transaction, closes Synced, and then applies changes until ctx ends.
func (s *Source) Run(ctx context.Context) error {
	defer s.queue.ShutDown()
	var synced []cache.InformerSynced
	for _, n := range s.byNS {
		n.start(ctx.Done())
		synced = append(synced, n.synced()...)
	}
	s.log.Info("waiting for informers to sync", "namespaces", s.cfg.Namespaces)
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("kube: informers did not sync")
	}
	start := time.Now()
	if err := s.loadAll(); err != nil {
		return err
	}
	close(s.synced)
	s.log.Info("informers synced", "load", time.Since(start))
	go func() {
		<-ctx.Done()
		s.queue.ShutDown()
	}()
	for s.processBatch() {
	}
	return nil
}

// informersFor returns the informers that watch namespace ns, or nil.
func (s *Source) informersFor(ns string) *namespaceInformers {
	if n, ok := s.byNS[""]; ok {
		return n
	}
	return s.byNS[ns]
}

// loadAll writes every cached object and every kube Upstream's endpoints
// in one transaction and removes what the source owned but no longer sees.
func (s *Source) loadAll() error {
	s.loading.Store(true)
	lookup := cacheLookup{s}
	return s.cfg.Store.Update(func(tx *store.WriteTxn) error {
		keep := map[item]bool{}
		for _, kind := range store.Kinds {
			for _, n := range s.byNS {
				for _, raw := range n.kinds[kind].GetStore().List() {
					obj, ok := prepare(raw)
					if !ok {
						continue
					}
					key := ident.KeyOf(obj)
					keep[item{kind, key}] = true
					if err := tx.Put(SourceName, store.Entry{Obj: obj}); err != nil {
						return err
					}
					if u, ok := obj.(*v1alpha1.Upstream); ok && u.Spec.Kube != nil {
						keep[item{kindEndpoints, key}] = true
						if err := tx.SetUpstreamEndpoints(key, resolveEndpoints(lookup, u)); err != nil {
							return err
						}
					}
				}
			}
		}
		return deleteStale(tx, keep)
	})
}

// deleteStale removes objects owned by this source, and endpoint sets,
// that are not in keep (deleted while serin was not watching).
func deleteStale(tx *store.WriteTxn, keep map[item]bool) error {
	for _, kind := range store.Kinds {
		for _, key := range keysOf(&tx.ReadTxn, kind) {
			if src, _ := tx.Source(kind, key); src != SourceName || keep[item{kind, key}] {
				continue
			}
			if err := tx.Delete(kind, key); err != nil {
				return err
			}
		}
	}
	var stale []string
	for id := range tx.AllUpstreamEndpoints() {
		if !keep[item{kindEndpoints, ident.MustParseKey(id)}] {
			stale = append(stale, id)
		}
	}
	sort.Strings(stale)
	for _, id := range stale {
		if err := tx.DeleteUpstreamEndpoints(ident.MustParseKey(id)); err != nil {
			return err
		}
	}
	return nil
}

// processBatch applies one queued item and whatever else is queued behind
// it in one store transaction. It returns false once the queue shuts down.
func (s *Source) processBatch() bool {
	first, shutdown := s.queue.Get()
	if shutdown {
		return false
	}
	batch := []item{first}
	for len(batch) < maxBatch && s.queue.Len() > 0 {
		it, shutdown := s.queue.Get()
		if shutdown {
			break
		}
		batch = append(batch, it)
	}
	err := s.cfg.Store.Update(func(tx *store.WriteTxn) error {
		for _, it := range batch {
			if err := s.apply(tx, it); err != nil {
				// One bad object must not hold back the rest of the batch.
				s.log.Error("apply", "kind", it.kind, "key", it.key.String(), "err", err)
			}
		}
		return nil
	})
	if err != nil {
		s.log.Error("store update", "err", err)
	}
	for _, it := range batch {
		s.queue.Done(it)
	}
	s.applied.Add(uint64(len(batch)))
	return true
}

// apply makes the store agree with the caches about one item.
func (s *Source) apply(tx *store.WriteTxn, it item) error {
	n := s.informersFor(it.key.Namespace)
	if it.kind == kindEndpoints {
		var u *v1alpha1.Upstream
		if n != nil {
			if raw, ok, _ := n.kinds[v1alpha1.KindUpstream].GetIndexer().GetByKey(it.key.String()); ok {
				u, _ = raw.(*v1alpha1.Upstream)
			}
		}
		if u == nil || u.Spec.Kube == nil {
			return tx.DeleteUpstreamEndpoints(it.key)
		}
		return tx.SetUpstreamEndpoints(it.key, resolveEndpoints(cacheLookup{s}, u))
	}
	if n == nil {
		return nil
	}
	raw, ok, err := n.kinds[it.kind].GetIndexer().GetByKey(it.key.String())
	if err != nil {
		return err
	}
	if !ok {
		if src, found := tx.Source(it.kind, it.key); found && src != SourceName {
			return nil // owned by another source
		}
		return tx.Delete(it.kind, it.key)
	}
	obj, ok := prepare(raw)
	if !ok {
		return nil
	}
	return tx.Put(SourceName, store.Entry{Obj: obj})
}

func keysOf(t *store.ReadTxn, kind string) []ident.Key {
	var out []ident.Key
	add := func(k ident.Key) { out = append(out, k) }
	switch kind {
	case v1alpha1.KindUpstream:
		for _, o := range t.Upstreams() {
			add(ident.KeyOf(o))
		}
	case v1alpha1.KindUpstreamGroup:
		for _, o := range t.UpstreamGroups() {
			add(ident.KeyOf(o))
		}
	case v1alpha1.KindVirtualService:
		for _, o := range t.VirtualServices() {
			add(ident.KeyOf(o))
		}
	case v1alpha1.KindGateway:
		for _, o := range t.Gateways() {
			add(ident.KeyOf(o))
		}
	case v1alpha1.KindCanary:
		for _, o := range t.Canaries() {
			add(ident.KeyOf(o))
		}
	}
	return out
}
