package xds

import (
	"slices"

	"github.com/serin-dev/serin/snapshot"
)

// haveSet is what a delta client has of one type: name -> version.
//
// After every response (NACKed or not: the server assumes the client
// applies what it was sent, and resends nothing on a NACK) the client has
// exactly the selected set, which streams holding the same set share
// (shared.heldFor): base. The few differences that requests make until the
// next response (initial_resource_versions, unsubscribes) live in over.
// Holding a per-stream map of every name cost ~250 KB per idle delta
// client at 1,000 services.
type haveSet struct {
	base *heldSet // read only; nil: empty
	over map[string]haveEntry
}

type haveEntry struct {
	version string
	gone    bool // in base, but the client no longer has it
}

// heldSet is a selected set: names sorted, and the version of each.
// Shared between streams, read only.
type heldSet struct {
	names    []string
	versions []string
}

func (h *haveSet) get(n string) (string, bool) {
	if e, ok := h.over[n]; ok {
		return e.version, !e.gone
	}
	if h.base != nil {
		if i, ok := slices.BinarySearch(h.base.names, n); ok {
			return h.base.versions[i], true
		}
	}
	return "", false
}

func (h *haveSet) inBase(n string) bool {
	if h.base == nil {
		return false
	}
	_, ok := slices.BinarySearch(h.base.names, n)
	return ok
}

func (h *haveSet) set(n, v string) {
	if h.over == nil {
		h.over = map[string]haveEntry{}
	}
	h.over[n] = haveEntry{version: v}
}

func (h *haveSet) del(n string) {
	if h.inBase(n) {
		if h.over == nil {
			h.over = map[string]haveEntry{}
		}
		h.over[n] = haveEntry{gone: true}
		return
	}
	delete(h.over, n)
}

// each calls fn for every name the client has.
func (h *haveSet) each(fn func(n string)) {
	if h.base != nil {
		for _, n := range h.base.names {
			if _, ok := h.over[n]; !ok {
				fn(n)
			}
		}
	}
	for n, e := range h.over {
		if !e.gone {
			fn(n)
		}
	}
}

// reset makes the client have exactly base.
func (h *haveSet) reset(base *heldSet) {
	h.base, h.over = base, nil
}

// recentSets is how many selected sets (and delta subscriptions) per type
// the shared memos keep: enough for a few fleets and a client lagging a
// change or two; older ones live as long as a stream uses them.
const recentSets = 8

type sharedHeld struct {
	key string
	set *heldSet
}

// heldFor returns a shared heldSet of rs (sorted by name), whose content
// version is version.
func (s *shared) heldFor(k snapshot.Kind, version string, rs []*snapshot.Resource) *heldSet {
	if s != nil {
		s.mu.Lock()
		for _, e := range s.held[k] {
			if e.key == version && e.set.same(rs) {
				s.mu.Unlock()
				return e.set
			}
		}
		s.mu.Unlock()
	}
	h := &heldSet{names: make([]string, len(rs)), versions: make([]string, len(rs))}
	for i, r := range rs {
		h.names[i], h.versions[i] = r.Name, r.Version
	}
	if s == nil {
		return h
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.held[k] {
		if e.key == version && e.set.same(rs) {
			return e.set // another stream got there first
		}
	}
	if len(s.held[k]) == recentSets {
		s.held[k] = slices.Delete(s.held[k], 0, 1)
	}
	s.held[k] = append(s.held[k], sharedHeld{key: version, set: h})
	return h
}

// same reports whether h holds exactly rs.
func (h *heldSet) same(rs []*snapshot.Resource) bool {
	if len(h.names) != len(rs) {
		return false
	}
	for i, r := range rs {
		if h.names[i] != r.Name || h.versions[i] != r.Version {
			return false
		}
	}
	return true
}
