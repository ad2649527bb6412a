package xds

import (
	"slices"

	"github.com/serin-dev/serin/snapshot"
)

// subscription is what a client asked for of one type, and a memo of the
// version of what that selects from the snapshot.
type subscription struct {
	// requested is set by the first request for the type; nothing is sent
	// for a type the client never asked for.
	requested bool
	// wildcard: all resources of the type (socket listeners only for LDS),
	// plus names.
	wildcard bool
	// legacy: the first request had no names (CDS/LDS), which means
	// wildcard until the client names resources.
	legacy bool
	// names and sorted are the named resources, as a set and sorted. They
	// may be shared with other streams (shared.subscription): never
	// modified in place, replaced.
	names  map[string]bool
	sorted []string
	// gen counts subscription changes.
	gen  uint64
	memo selectionMemo
}

// selectionMemo is the version of the selected set and what it was
// computed from: the snapshot's version of the kind and the subscription's
// gen. While neither moves the selection is the same, so a flush (after
// every ACK, on every publish) need not walk and hash thousands of
// resources again to learn there is nothing to send.
type selectionMemo struct {
	kindVersion string
	gen         uint64
	version     string
}

// wildcardKind: CDS and LDS are the types a request without names
// subscribes to in full (Envoy's legacy wildcard).
func wildcardKind(k snapshot.Kind) bool {
	return k == snapshot.KindCluster || k == snapshot.KindListener
}

// setNames replaces the subscription to k (SotW) and reports whether it
// changed. The names and their set come from sh, shared with streams that
// asked for the same: SotW never modifies them in place.
func (s *subscription) setNames(k snapshot.Kind, names []string, sh *shared) bool {
	first := !s.requested
	s.requested = true
	wasWildcard, old := s.wildcard, s.sorted
	s.legacy = len(names) == 0 && wildcardKind(k) && (first || s.legacy)
	s.wildcard = s.legacy || slices.Contains(names, "*")
	sorted := make([]string, 0, len(names))
	for _, n := range names {
		if n != "*" {
			sorted = append(sorted, n)
		}
	}
	slices.Sort(sorted)
	s.sorted, s.names = sh.subscription(k, slices.Compact(sorted))
	changed := first || wasWildcard != s.wildcard || !slices.Equal(old, s.sorted)
	if changed {
		s.gen++
	}
	return changed
}

// deltaChange is what a delta request changed in a subscription.
type deltaChange struct {
	first bool // the first request for the type
	// added were not subscribed before; dropped were unsubscribed.
	added, dropped []string
	// forgotten were unsubscribed while the subscription was not wildcard:
	// the client drops them, and no removal is due.
	forgotten []string
}

// change applies a delta request's subscribe and unsubscribe lists to the
// subscription to k, in order ("*" switches the wildcard). The first
// request subscribes to the type, in full for CDS and LDS when it names
// nothing. Every request counts as a change.
func (s *subscription) change(k snapshot.Kind, subscribe, unsubscribe []string, sh *shared) deltaChange {
	var c deltaChange
	if !s.requested {
		c.first = true
		s.requested = true
		if len(subscribe) == 0 && wildcardKind(k) {
			s.wildcard = true
		}
	}
	for _, n := range subscribe {
		if n == "*" {
			s.wildcard = true
		} else if !s.names[n] {
			c.added = append(c.added, n)
		}
	}
	var drop map[string]bool
	for _, n := range unsubscribe {
		if n == "*" {
			s.wildcard = false
			continue
		}
		if drop == nil {
			drop = map[string]bool{}
		}
		drop[n] = true
		c.dropped = append(c.dropped, n)
		if !s.wildcard {
			c.forgotten = append(c.forgotten, n)
		}
	}
	if len(c.added) > 0 || len(drop) > 0 {
		sorted := make([]string, 0, len(s.sorted)+len(c.added))
		for _, n := range s.sorted {
			if !drop[n] {
				sorted = append(sorted, n)
			}
		}
		for _, n := range c.added {
			if !drop[n] {
				sorted = append(sorted, n)
			}
		}
		slices.Sort(sorted)
		s.sorted, s.names = sh.subscription(k, slices.Clip(slices.Compact(sorted)))
	}
	s.gen++
	return c
}

// covers reports whether the subscription includes name.
func (s *subscription) covers(name string) bool {
	return s.requested && (s.wildcard || s.names[name])
}

// selected returns the resources of kind k the subscription covers,
// sorted by name. A wildcard LDS subscription gets socket listeners only:
// Envoy refuses API listeners over LDS; gRPC clients name theirs.
func (s *subscription) selected(k snapshot.Kind, snap *snapshot.Snapshot) []*snapshot.Resource {
	if snap == nil {
		return nil
	}
	var out []*snapshot.Resource
	if s.wildcard {
		for _, r := range snap.Resources(k) {
			if r.API && !s.names[r.Name] {
				continue
			}
			out = append(out, r)
		}
		return out
	}
	for _, n := range s.sorted {
		if r := snap.Get(k, n); r != nil {
			out = append(out, r)
		}
	}
	return out
}

// memoized returns the version of the selected set when neither the
// snapshot's resources of kind k nor the subscription changed since it was
// last computed.
func (s *subscription) memoized(k snapshot.Kind, snap *snapshot.Snapshot) (string, bool) {
	m := s.memo
	if m.version == "" || m.gen != s.gen || m.kindVersion != snap.Version(k) {
		return "", false
	}
	return m.version, true
}

// memoize records the version of the set selected from snap.
func (s *subscription) memoize(k snapshot.Kind, snap *snapshot.Snapshot, version string) {
	s.memo = selectionMemo{kindVersion: snap.Version(k), gen: s.gen, version: version}
}
