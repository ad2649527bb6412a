package store

import (
	"fmt"
	"reflect"

	"github.com/serin-dev/serin/pkg/ident"
)

// EndpointAddr is one ready endpoint discovered for a kube Upstream.
type EndpointAddr struct {
	Address string
	Port    uint32
	// Region and Zone are the endpoint's locality; empty when unknown.
	Region string
	Zone   string
	// Weight is the load-balancing weight; 0 means 1.
	Weight uint32
}

// upstreamEndpoints is a row of the endpoints table: the discovered
// endpoints of one Upstream.
type upstreamEndpoints struct {
	// ID is the Upstream's namespace/name.
	ID    string
	Addrs []EndpointAddr
}

// UpstreamEndpoints returns the endpoints discovered for a kube Upstream,
// sorted by address and port. The bool says whether discovery has run for
// it; an Upstream whose Service has no ready endpoints has an empty set.
// The slice is shared with the store: do not modify it.
func (t *ReadTxn) UpstreamEndpoints(upstream ident.Key) ([]EndpointAddr, bool) {
	raw, err := t.txn.First(tableEndpoints, "id", upstream.String())
	if err != nil || raw == nil {
		return nil, false
	}
	return raw.(*upstreamEndpoints).Addrs, true
}

// AllUpstreamEndpoints returns the discovered endpoints of every kube
// Upstream keyed by its "namespace/name" (the shape of translator.Input.Endpoints).
func (t *ReadTxn) AllUpstreamEndpoints() map[string][]EndpointAddr {
	it, err := t.txn.Get(tableEndpoints, "id")
	if err != nil {
		return nil
	}
	out := map[string][]EndpointAddr{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		e := raw.(*upstreamEndpoints)
		out[e.ID] = e.Addrs
	}
	return out
}

// SetUpstreamEndpoints replaces the endpoints of a kube Upstream. An equal
// set is not a change, so a resync that finds nothing new wakes nobody.
// The slice is stored as given: do not modify it afterwards.
func (tx *WriteTxn) SetUpstreamEndpoints(upstream ident.Key, addrs []EndpointAddr) error {
	if addrs == nil {
		addrs = []EndpointAddr{}
	}
	if old, ok := tx.UpstreamEndpoints(upstream); ok && reflect.DeepEqual(old, addrs) {
		return nil
	}
	if err := tx.txn.Insert(tableEndpoints, &upstreamEndpoints{ID: upstream.String(), Addrs: addrs}); err != nil {
		return fmt.Errorf("store: insert endpoints of %s: %w", upstream, err)
	}
	tx.dirty = true
	return nil
}

// DeleteUpstreamEndpoints forgets the endpoints of an Upstream (deleted, or
// no longer a kube upstream).
func (tx *WriteTxn) DeleteUpstreamEndpoints(upstream ident.Key) error {
	raw, err := tx.txn.First(tableEndpoints, "id", upstream.String())
	if err != nil || raw == nil {
		return nil
	}
	if err := tx.txn.Delete(tableEndpoints, raw); err != nil {
		return fmt.Errorf("store: delete endpoints of %s: %w", upstream, err)
	}
	tx.dirty = true
	return nil
}
