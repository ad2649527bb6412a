// Package snapshot turns translator output into versioned, per-fleet
// snapshots: every resource marshaled once with a content hash, a version per
// resource type derived from content (a weight change bumps RDS only), a
// consistency check, and make-before-break when clusters go away (see
// cache.go and drain.go).
package snapshot

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/translator"
)

// DefaultFleet serves every node whose cluster names no fleet.
const DefaultFleet = "default"

// Set is the resources of one kind, sorted by name, with their set version.
type Set struct {
	Version string
	sorted  []*Resource
	byName  map[string]*Resource
}

// Snapshot is what one fleet is served at one moment. It is immutable.
type Snapshot struct {
	Fleet string
	// Published is when the snapshot was published; push latency is
	// measured from it.
	Published time.Time
	sets      [NumKinds]Set
	origins   map[ident.Resource][]ident.Ref
	// draining are clusters kept only for make-before-break.
	draining []string
}

// Version is the version of every resource of kind k together.
func (s *Snapshot) Version(k Kind) string { return s.sets[k].Version }

// Resources returns the resources of kind k sorted by name. Do not modify.
func (s *Snapshot) Resources(k Kind) []*Resource { return s.sets[k].sorted }

// Get returns the resource of kind k named name, or nil.
func (s *Snapshot) Get(k Kind, name string) *Resource { return s.sets[k].byName[name] }

// Draining lists the clusters still served only so that routes could move
// off them first; they go in a later version.
func (s *Snapshot) Draining() []string { return s.draining }

// Equal reports whether both snapshots serve the same content.
func (s *Snapshot) Equal(o *Snapshot) bool {
	if s == nil || o == nil {
		return s == o
	}
	for k := range NumKinds {
		if s.sets[k].Version != o.sets[k].Version {
			return false
		}
	}
	return true
}

// Origins returns the objects the named resources of kind k were built
// from, deduplicated and sorted; a NACK is attributed to them.
func (s *Snapshot) Origins(k Kind, names []string) []ident.Ref {
	seen := map[ident.Ref]bool{}
	var out []ident.Ref
	for _, n := range names {
		for _, ref := range s.origins[ident.Resource{Type: k, Name: n}] {
			if !seen[ref] {
				seen[ref] = true
				out = append(out, ref)
			}
		}
	}
	slices.SortFunc(out, func(a, b ident.Ref) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// Build makes the snapshot of one fleet. prev, when not nil, is the fleet's
// previous snapshot: resources whose message is the same pointer, or equal
// content, are taken from it so that their Any is shared and their version
// stays put (vtprotobuf writes map entries in Go's random map order, so equal
// messages can marshal to different bytes).
func Build(fleet string, res *translator.Resources, prev *Snapshot) (*Snapshot, error) {
	return build(fleet, res, prev, [NumKinds][]*Resource{})
}

// build is Build plus extra resources kept for make-before-break.
func build(fleet string, res *translator.Resources, prev *Snapshot, extra [NumKinds][]*Resource) (*Snapshot, error) {
	s := &Snapshot{Fleet: fleet, origins: res.Origins}
	var lists [NumKinds][]*Resource
	// same[k] stays true while every resource of kind k is the previous
	// snapshot's own: then the previous set (sorted, indexed, versioned) is
	// taken whole instead of being rebuilt — after a weight change that is
	// every kind but RDS.
	var same [NumKinds]bool
	for k := range NumKinds {
		same[k] = prev != nil && len(extra[k]) == 0 && len(prev.draining) == 0
	}
	add := func(k Kind, name string, m proto.Message, api bool) error {
		r, err := reuse(prev, k, name, m, api, res.Needs)
		if err != nil {
			return err
		}
		if same[k] && r != prev.sets[k].byName[name] {
			same[k] = false
		}
		lists[k] = append(lists[k], r)
		return nil
	}
	for _, c := range res.Clusters {
		if err := add(KindCluster, c.GetName(), c, false); err != nil {
			return nil, err
		}
	}
	for _, e := range res.Endpoints {
		if err := add(KindEndpoint, e.GetClusterName(), e, false); err != nil {
			return nil, err
		}
	}
	for _, l := range res.Listeners {
		if err := add(KindListener, l.GetName(), l, false); err != nil {
			return nil, err
		}
	}
	for _, l := range res.APIListeners {
		if err := add(KindListener, l.GetName(), l, true); err != nil {
			return nil, err
		}
	}
	for _, r := range res.Routes {
		if err := add(KindRoute, r.GetName(), r, false); err != nil {
			return nil, err
		}
	}
	for k := range NumKinds {
		lists[k] = append(lists[k], extra[k]...)
	}
	for k := range NumKinds {
		if same[k] && len(lists[k]) == len(prev.sets[k].sorted) {
			s.sets[k] = prev.sets[k]
			continue
		}
		s.sets[k] = newSet(lists[k])
	}
	return s, nil
}

func reuse(prev *Snapshot, k Kind, name string, m proto.Message, api bool, needs map[ident.Resource]translator.Needs) (*Resource, error) {
	var old *Resource
	if prev != nil {
		old = prev.Get(k, name)
	}
	if old != nil && old.API == api && old.Message == m {
		return old, nil
	}
	r, err := NewResource(k, name, m, api)
	if err != nil {
		return nil, err
	}
	if k == KindListener || k == KindRoute {
		r.Needs = needs[ident.Resource{Type: k, Name: name}]
	}
	if old != nil && old.API == api && (old.Version == r.Version || (mayHoldMaps[k] && proto.Equal(old.Message, m))) {
		return old, nil
	}
	return r, nil
}

// mayHoldMaps marks the kinds whose messages serin fills with map fields
// (a cluster's typed_extension_protocol_options): vtprotobuf writes map
// entries in random order, so only for these can equal messages marshal to
// different bytes, and only for these is proto.Equal worth its cost — on a
// gateway's route configuration of 10,000 virtual hosts it is tens of
// milliseconds per change. Were another kind to carry maps, the cost of a
// miss here is one needless re-send, never a wrong configuration.
var mayHoldMaps = [NumKinds]bool{KindCluster: true}

func newSet(rs []*Resource) Set {
	idx := make(map[string]*Resource, len(rs))
	for _, r := range rs {
		idx[r.Name] = r // later duplicates win; the translator never emits any
	}
	sorted := slices.SortedFunc(maps.Values(idx), byName)
	return Set{Version: SetVersion(sorted), sorted: sorted, byName: idx}
}
