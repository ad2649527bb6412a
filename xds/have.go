package xds

import (
	"slices"
	"strings"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"

	"github.com/serin-dev/serin/snapshot"
)

// deltaState is what a delta stream knows of one type beyond its
// subscription: what the client has, and the names newly subscribed that
// must be answered even if they do not exist.
type deltaState struct {
	have haveSet
	// notFound is nil between requests: a cleared map would keep its
	// buckets.
	notFound map[string]bool
}

// subscribed applies a subscription change: names newly subscribed are
// answered even if they do not exist; names the client forgets need no
// removal.
func (d *deltaState) subscribed(c deltaChange) {
	for _, n := range c.added {
		if d.notFound == nil {
			d.notFound = map[string]bool{}
		}
		d.notFound[n] = true
	}
	for _, n := range c.dropped {
		delete(d.notFound, n)
	}
	for _, n := range c.forgotten {
		d.have.del(n)
	}
}

// diff compares the selected set rs (sorted by name) with what the client
// has: the resources it lacks or has at another version (and their
// names), and the names to remove: those it has that rs does not hold, and
// those just subscribed that do not exist, so the client need not wait
// for a timeout to learn it.
func (d *deltaState) diff(rs []*snapshot.Resource) (changed []*discoveryv3.Resource, names, removed []string) {
	desired := func(n string) bool {
		_, ok := slices.BinarySearchFunc(rs, n, func(r *snapshot.Resource, n string) int { return strings.Compare(r.Name, n) })
		return ok
	}
	for _, r := range rs {
		if v, ok := d.have.get(r.Name); !ok || v != r.Version {
			changed = append(changed, r.Delta)
			names = append(names, r.Name)
		}
	}
	d.have.each(func(n string) {
		if !desired(n) {
			removed = append(removed, n)
		}
	})
	for n := range d.notFound {
		if _, had := d.have.get(n); !desired(n) && !had {
			removed = append(removed, n)
		}
	}
	return changed, names, removed
}

// caughtUp notes that the client has exactly base now (the changed were
// sent, the removed removed, or it had them already).
func (d *deltaState) caughtUp(base *haveBase) {
	d.notFound = nil
	d.have.reset(base)
}

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
