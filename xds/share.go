package xds

import (
	"slices"
	"sync"

	"github.com/serin-dev/serin/snapshot"
)

// shared keeps one copy of the name lists that many streams hold alike.
// A thousand Envoys of one fleet subscribe to the same two thousand EDS
// names and are sent the same CDS and EDS sets; each stream holding its own
// map, sorted slice, request strings and sent names cost ~250 KB per idle
// client at 1,000 services (serin-load heap profile). Only the latest list
// per type is kept here: older ones live as long as a stream uses them.
// Shared lists are read only.
type shared struct {
	mu   sync.Mutex
	subs [snapshot.NumKinds][]sharedSub
	sent [snapshot.NumKinds][]string
	// bases: the recent selected sets delta clients were brought up to
	// (have.go), by content version.
	bases [snapshot.NumKinds][]sharedBase
}

type sharedSub struct {
	sorted []string
	set    map[string]bool
}

// subscription returns a shared copy of a sorted subscription (nil when
// s is nil, for tests that build streams by hand). The recent ones per type
// are kept: a few fleets, and delta clients subscribing in steps.
func (s *shared) subscription(k snapshot.Kind, sorted []string) ([]string, map[string]bool) {
	if s == nil {
		return sorted, setOf(sorted)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.subs[k] {
		if slices.Equal(e.sorted, sorted) {
			return e.sorted, e.set
		}
	}
	if len(s.subs[k]) == recentSets {
		s.subs[k] = slices.Delete(s.subs[k], 0, 1)
	}
	e := sharedSub{sorted: sorted, set: setOf(sorted)}
	s.subs[k] = append(s.subs[k], e)
	return e.sorted, e.set
}

// sentNames returns a shared copy of the names of a response.
func (s *shared) sentNames(k snapshot.Kind, names []string) []string {
	if s == nil {
		return names
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.Equal(s.sent[k], names) {
		return s.sent[k]
	}
	s.sent[k] = names
	return names
}

func setOf(sorted []string) map[string]bool {
	m := make(map[string]bool, len(sorted))
	for _, n := range sorted {
		m[n] = true
	}
	return m
}
