package store

import (
	"fmt"
	"reflect"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// CanaryState is the canary engine's state for one Canary: the weights it
// sets on the group (overriding the group's spec while a rollout is active)
// and the status it reports.
type CanaryState struct {
	// ID is the Canary's namespace/name (the id index).
	ID string
	// GroupID is the UpstreamGroup's namespace/name (the group index).
	GroupID string
	// Weights by Upstream namespace/name.
	Weights map[string]uint32
	// Mirror mirrors to the canary during the shadow phase.
	Mirror *v1alpha1.Mirror
	// Canary is the canary Upstream's namespace/name: first in a sticky
	// split, and where the cohort goes.
	Canary string
	// Stickiness, when set, makes routes of the group hash on it and pick
	// the version by the hash (canary first).
	Stickiness *v1alpha1.CanaryStickiness
	// Cohort, when set (abTest), sends the requests it matches to the
	// canary, ahead of the group's split.
	Cohort *v1alpha1.CanaryABTest
	Status v1alpha1.CanaryStatus
}

// CanaryStates returns every canary state sorted by Canary namespace/name.
func (t *ReadTxn) CanaryStates() []*CanaryState {
	it, err := t.txn.Get(tableCanaryState, "id")
	if err != nil {
		return nil
	}
	var out []*CanaryState
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*CanaryState))
	}
	return out
}

// CanaryState returns the state of one Canary.
func (t *ReadTxn) CanaryState(canary ident.Key) (*CanaryState, bool) {
	raw, err := t.txn.First(tableCanaryState, "id", canary.String())
	if err != nil || raw == nil {
		return nil, false
	}
	return raw.(*CanaryState), true
}

// PutCanaryState stores a canary's state; an equal state is not a change.
// The state is stored as given: do not modify it afterwards.
func (tx *WriteTxn) PutCanaryState(st *CanaryState) error {
	if st.ID == "" || st.GroupID == "" {
		return fmt.Errorf("store: canary state needs ID and GroupID")
	}
	if old, ok := tx.CanaryState(ident.MustParseKey(st.ID)); ok && reflect.DeepEqual(old, st) {
		return nil
	}
	if err := tx.txn.Insert(tableCanaryState, st); err != nil {
		return fmt.Errorf("store: insert canary state %s: %w", st.ID, err)
	}
	tx.dirty = true
	return nil
}

// DeleteCanaryState forgets a canary's state.
func (tx *WriteTxn) DeleteCanaryState(canary ident.Key) error {
	old, ok := tx.CanaryState(canary)
	if !ok {
		return nil
	}
	if err := tx.txn.Delete(tableCanaryState, old); err != nil {
		return fmt.Errorf("store: delete canary state %s: %w", canary, err)
	}
	tx.dirty = true
	return nil
}
