package xds

import (
	"cmp"
	"slices"
	"sync"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/snapshot"
)

// standingNacks are the NACKs that still stand: the node is connected and
// has not been sent a later version of the type. An object built into a
// rejected resource shows the NACK in its status while it stands. Entries
// come and go with rare events (a NACK, the next response of a NACKed type,
// the NACKing node leaving), never on the path of an ordinary response, and
// the book holds nothing once no NACK stands.
//
// mu is a leaf: streams update the book holding st.mu, and nothing holding
// mu takes another lock.
type standingNacks struct {
	mu       sync.Mutex
	byStream map[streamKind]*Nack
	byObject map[ident.Ref]map[streamKind]*Nack
}

// streamKind is one type of one stream: each holds at most one standing
// NACK, its last.
type streamKind struct {
	stream int64
	kind   snapshot.Kind
}

// add records n, the latest NACK of kind k on stream id, in place of that
// stream's previous one for k.
func (b *standingNacks) add(id int64, k snapshot.Kind, n *Nack) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := streamKind{id, k}
	b.dropLocked(key)
	if b.byStream == nil {
		b.byStream, b.byObject = map[streamKind]*Nack{}, map[ident.Ref]map[streamKind]*Nack{}
	}
	b.byStream[key] = n
	for _, o := range n.Objects {
		m := b.byObject[o]
		if m == nil {
			m = map[streamKind]*Nack{}
			b.byObject[o] = m
		}
		m[key] = n
	}
}

// drop forgets the NACK of kind k on stream id: the node was sent a later
// version.
func (b *standingNacks) drop(id int64, k snapshot.Kind) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dropLocked(streamKind{id, k})
}

// dropStream forgets every NACK of a stream that ended.
func (b *standingNacks) dropStream(id int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range snapshot.NumKinds {
		b.dropLocked(streamKind{id, k})
	}
}

func (b *standingNacks) dropLocked(key streamKind) {
	n, ok := b.byStream[key]
	if !ok {
		return
	}
	delete(b.byStream, key)
	for _, o := range n.Objects {
		if m := b.byObject[o]; m != nil {
			delete(m, key)
			if len(m) == 0 {
				delete(b.byObject, o)
			}
		}
	}
}

// forObject returns the standing NACKs attributed to o, one per node and
// type (the latest, should a node hold two streams), oldest first.
func (b *standingNacks) forObject(o ident.Ref) []Nack {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.byObject[o]
	if len(m) == 0 {
		return nil
	}
	out := make([]Nack, 0, len(m))
	for _, n := range m {
		i := slices.IndexFunc(out, func(x Nack) bool { return x.NodeID == n.NodeID && x.TypeURL == n.TypeURL })
		switch {
		case i < 0:
			out = append(out, *n)
		case n.Time.After(out[i].Time):
			out[i] = *n
		}
	}
	slices.SortFunc(out, func(a, b Nack) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.NodeID, b.NodeID), cmp.Compare(a.TypeURL, b.TypeURL))
	})
	return out
}

// StandingNacks returns the NACKs attributed to object o that still stand
// (the node is connected and has not been sent a later version of that
// type), in the API's form, oldest first; nil when none.
func (s *Server) StandingNacks(o ident.Ref) []v1alpha1.NackStatus {
	ns := s.standing.forObject(o)
	if len(ns) == 0 {
		return nil
	}
	out := make([]v1alpha1.NackStatus, len(ns))
	for i, n := range ns {
		out[i] = n.Status()
	}
	return out
}
