package store

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/hashicorp/go-memdb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// Store is the in-memory database every source writes and every reader
// (translator, canary engine, admin API) reads through transactions.
type Store struct {
	db *memdb.MemDB

	mu         sync.Mutex // serializes writers and guards the fields below
	generation uint64
	changed    chan struct{}
}

// New returns an empty store.
func New() *Store {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		// The schema is static; an error here is a programming mistake.
		panic(fmt.Sprintf("store: invalid schema: %v", err))
	}
	return &Store{db: db, changed: make(chan struct{})}
}

// Generation counts committed changes. It starts at 0.
func (s *Store) Generation() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.generation
}

// Changed returns a channel that is closed at the next committed change.
// Take the channel, read the store, then wait on the channel: no change is
// missed between the read and the wait.
func (s *Store) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Read opens a consistent read-only view. It never blocks writers.
func (s *Store) Read() *ReadTxn {
	return &ReadTxn{txn: s.db.Txn(false)}
}

// Update runs fn in a write transaction. The change is committed and
// watchers woken only when fn returns nil and modified something.
func (s *Store) Update(fn func(tx *WriteTxn) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &WriteTxn{ReadTxn: ReadTxn{txn: s.db.Txn(true)}, rev: s.generation + 1}
	if err := fn(tx); err != nil {
		tx.txn.Abort()
		return err
	}
	if !tx.dirty {
		tx.txn.Abort()
		return nil
	}
	tx.txn.Commit()
	s.generation++
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}

// ReplaceSource makes entries the complete set of objects owned by source,
// atomically: objects of that source not in entries are deleted. It reports
// whether anything changed. Two entries with the same kind, namespace and
// name are an error naming both origins; nothing is written then.
func (s *Store) ReplaceSource(source string, entries []Entry) (bool, error) {
	changed := false
	err := s.Update(func(tx *WriteTxn) error {
		seen := map[ident.Ref]Origin{}
		for _, e := range entries {
			kind := KindOf(e.Obj)
			if kind == "" {
				return fmt.Errorf("store: %T is not an API object", e.Obj)
			}
			id := ident.KeyOf(e.Obj).Ref(kind)
			if prev, dup := seen[id]; dup {
				return fmt.Errorf("%s %s defined twice: at %s and at %s", kind, ident.KeyOf(e.Obj), prev, e.Origin)
			}
			seen[id] = e.Origin
		}
		for _, kind := range Kinds {
			it, err := tx.txn.Get(kind, "source", source)
			if err != nil {
				return err
			}
			var stale []*record
			for raw := it.Next(); raw != nil; raw = it.Next() {
				r := raw.(*record)
				if _, keep := seen[r.Key.Ref(kind)]; !keep {
					stale = append(stale, r)
				}
			}
			for _, r := range stale {
				if err := tx.txn.Delete(kind, r); err != nil {
					return err
				}
				tx.dirty = true
			}
		}
		for _, e := range entries {
			if err := tx.Put(source, e); err != nil {
				return err
			}
		}
		changed = tx.dirty
		return nil
	})
	return changed, err
}

// WriteTxn is a read-write transaction, valid only inside Update.
type WriteTxn struct {
	ReadTxn
	dirty bool
	rev   uint64 // the generation this transaction commits as
}

// Put inserts or replaces an object. Writing an object equal to the stored
// one (same source, origin and content) is not a change.
func (tx *WriteTxn) Put(source string, e Entry) error {
	kind := KindOf(e.Obj)
	if kind == "" {
		return fmt.Errorf("store: %T is not an API object", e.Obj)
	}
	key := ident.KeyOf(e.Obj)
	if e.Obj.GetNamespace() == "" {
		e.Obj.SetNamespace(key.Namespace)
	}
	r := &record{Kind: kind, Key: key, ID: recordID(key), Source: source, Origin: e.Origin, Obj: e.Obj, Rev: tx.rev}
	if old := tx.get(kind, key); old != nil && old.Source == source && old.Origin == e.Origin && equalObjects(old.Obj, e.Obj) {
		return nil
	}
	if err := tx.txn.Insert(kind, r); err != nil {
		return fmt.Errorf("store: insert %s %s: %w", kind, key, err)
	}
	tx.dirty = true
	return nil
}

// Delete removes an object; deleting a missing object is not a change.
func (tx *WriteTxn) Delete(kind string, key ident.Key) error {
	old := tx.get(kind, key)
	if old == nil {
		return nil
	}
	if err := tx.txn.Delete(kind, old); err != nil {
		return fmt.Errorf("store: delete %s %s: %w", kind, key, err)
	}
	tx.dirty = true
	return nil
}

// equalObjects compares two API objects ignoring fields that sources and
// status writers change without changing meaning (resourceVersion,
// managedFields, status). A Canary's status is the exception: it is the
// canary engine's state, and followers serve the weights the leader wrote
// there, so a change to it is a change.
func equalObjects(a, b any) bool {
	ma, okA := a.(metav1.Object)
	mb, okB := b.(metav1.Object)
	if !okA || !okB {
		return reflect.DeepEqual(a, b)
	}
	return ma.GetGeneration() == mb.GetGeneration() &&
		reflect.DeepEqual(ma.GetLabels(), mb.GetLabels()) &&
		reflect.DeepEqual(ma.GetAnnotations(), mb.GetAnnotations()) &&
		reflect.DeepEqual(specOf(a), specOf(b)) &&
		equalCanaryStatus(a, b)
}

func equalCanaryStatus(a, b any) bool {
	ca, ok := a.(*v1alpha1.Canary)
	if !ok {
		return true
	}
	cb, ok := b.(*v1alpha1.Canary)
	return ok && reflect.DeepEqual(ca.Status, cb.Status)
}

func specOf(o any) any {
	switch o := o.(type) {
	case *v1alpha1.Upstream:
		return o.Spec
	case *v1alpha1.UpstreamGroup:
		return o.Spec
	case *v1alpha1.VirtualService:
		return o.Spec
	case *v1alpha1.Gateway:
		return o.Spec
	case *v1alpha1.Canary:
		return o.Spec
	}
	return o
}
