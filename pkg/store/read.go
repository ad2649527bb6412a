package store

import (
	"github.com/hashicorp/go-memdb"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// ReadTxn is a consistent read-only view of the store. Objects it returns
// are shared with the store: treat them as immutable.
type ReadTxn struct {
	txn *memdb.Txn
}

func (t *ReadTxn) get(kind string, key ident.Key) *record {
	raw, err := t.txn.First(kind, "id", recordID(key))
	if err != nil || raw == nil {
		return nil
	}
	return raw.(*record)
}

func (t *ReadTxn) all(kind string) []*record {
	it, err := t.txn.Get(kind, "id")
	if err != nil {
		return nil
	}
	var out []*record
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*record))
	}
	return out
}

func list[T any](t *ReadTxn, kind string) []T {
	recs := t.all(kind)
	out := make([]T, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.Obj.(T))
	}
	return out
}

// Object is a stored object with its revision: the store generation at
// which its content last changed. Equal content keeps its revision, so a
// reader that memoizes on (key, Rev) recomputes exactly what changed.
type Object[T any] struct {
	Obj T
	Rev uint64
}

// Objects returns every object of a kind with its revision, sorted by
// namespace/name.
func Objects[T any](t *ReadTxn, kind string) []Object[T] {
	recs := t.all(kind)
	out := make([]Object[T], 0, len(recs))
	for _, r := range recs {
		out = append(out, Object[T]{Obj: r.Obj.(T), Rev: r.Rev})
	}
	return out
}

func one[T any](t *ReadTxn, kind string, key ident.Key) (T, bool) {
	var zero T
	r := t.get(kind, key)
	if r == nil {
		return zero, false
	}
	return r.Obj.(T), true
}

// Upstreams returns every Upstream sorted by namespace/name.
func (t *ReadTxn) Upstreams() []*v1alpha1.Upstream {
	return list[*v1alpha1.Upstream](t, v1alpha1.KindUpstream)
}

// UpstreamGroups returns every UpstreamGroup sorted by namespace/name.
func (t *ReadTxn) UpstreamGroups() []*v1alpha1.UpstreamGroup {
	return list[*v1alpha1.UpstreamGroup](t, v1alpha1.KindUpstreamGroup)
}

// VirtualServices returns every VirtualService sorted by namespace/name.
func (t *ReadTxn) VirtualServices() []*v1alpha1.VirtualService {
	return list[*v1alpha1.VirtualService](t, v1alpha1.KindVirtualService)
}

// Gateways returns every Gateway sorted by namespace/name.
func (t *ReadTxn) Gateways() []*v1alpha1.Gateway {
	return list[*v1alpha1.Gateway](t, v1alpha1.KindGateway)
}

// Canaries returns every Canary sorted by namespace/name.
func (t *ReadTxn) Canaries() []*v1alpha1.Canary {
	return list[*v1alpha1.Canary](t, v1alpha1.KindCanary)
}

// Upstream looks one Upstream up.
func (t *ReadTxn) Upstream(key ident.Key) (*v1alpha1.Upstream, bool) {
	return one[*v1alpha1.Upstream](t, v1alpha1.KindUpstream, key)
}

// UpstreamGroup looks one UpstreamGroup up.
func (t *ReadTxn) UpstreamGroup(key ident.Key) (*v1alpha1.UpstreamGroup, bool) {
	return one[*v1alpha1.UpstreamGroup](t, v1alpha1.KindUpstreamGroup, key)
}

// VirtualService looks one VirtualService up.
func (t *ReadTxn) VirtualService(key ident.Key) (*v1alpha1.VirtualService, bool) {
	return one[*v1alpha1.VirtualService](t, v1alpha1.KindVirtualService, key)
}

// Gateway looks one Gateway up.
func (t *ReadTxn) Gateway(key ident.Key) (*v1alpha1.Gateway, bool) {
	return one[*v1alpha1.Gateway](t, v1alpha1.KindGateway, key)
}

// Canary looks one Canary up.
func (t *ReadTxn) Canary(key ident.Key) (*v1alpha1.Canary, bool) {
	return one[*v1alpha1.Canary](t, v1alpha1.KindCanary, key)
}

// Origin tells where an object came from, and whether it exists.
func (t *ReadTxn) Origin(kind string, key ident.Key) (Origin, bool) {
	r := t.get(kind, key)
	if r == nil {
		return Origin{}, false
	}
	return r.Origin, true
}

// Source tells which source owns an object.
func (t *ReadTxn) Source(kind string, key ident.Key) (string, bool) {
	r := t.get(kind, key)
	if r == nil {
		return "", false
	}
	return r.Source, true
}

// Count returns the number of objects of a kind.
func (t *ReadTxn) Count(kind string) int { return len(t.all(kind)) }
