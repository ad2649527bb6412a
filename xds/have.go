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
// (shared.baseFor): base. The few differences that requests make until the
// next response (initial_resource_versions, unsubscribes) live in over.
// Holding a per-stream map of every name cost ~250 KB per idle delta
// client at 1,000 services.
type haveSet struct {
	base *haveBase // read only; nil: empty
	over map[string]haveEntry
}

type haveEntry struct {
	version string
	gone    bool // in base, but the client no longer has it
}

// haveBase is a selected set that delta clients were brought up to: names
// sorted, and the version of each. Shared between streams, read only.
type haveBase struct {
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
func (h *haveSet) reset(base *haveBase) {
	h.base, h.over = base, nil
}

// recentSets is how many selected sets (and delta subscriptions) per type
// the shared memos keep: enough for a few fleets and a client lagging a
// change or two; older ones live as long as a stream uses them.
const recentSets = 8

type sharedBase struct {
	key  string
	base *haveBase
}

// baseFor returns a shared haveBase of rs (sorted by name), whose content
// version is version.
func (s *shared) baseFor(k snapshot.Kind, version string, rs []*snapshot.Resource) *haveBase {
	if s != nil {
		s.mu.Lock()
		for _, e := range s.bases[k] {
			if e.key == version && e.base.same(rs) {
				s.mu.Unlock()
				return e.base
			}
		}
		s.mu.Unlock()
	}
	h := &haveBase{names: make([]string, len(rs)), versions: make([]string, len(rs))}
	for i, r := range rs {
		h.names[i], h.versions[i] = r.Name, r.Version
	}
	if s == nil {
		return h
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.bases[k] {
		if e.key == version && e.base.same(rs) {
			return e.base // another stream got there first
		}
	}
	if len(s.bases[k]) == recentSets {
		s.bases[k] = slices.Delete(s.bases[k], 0, 1)
	}
	s.bases[k] = append(s.bases[k], sharedBase{key: version, base: h})
	return h
}

// same reports whether h holds exactly rs.
func (h *haveBase) same(rs []*snapshot.Resource) bool {
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
