package translator

import (
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/store"
)

// Input is everything a translation reads.
type Input struct {
	Upstreams       []Object[*v1alpha1.Upstream]
	UpstreamGroups  []Object[*v1alpha1.UpstreamGroup]
	VirtualServices []Object[*v1alpha1.VirtualService]
	Gateways        []Object[*v1alpha1.Gateway]
	Canaries        []Object[*v1alpha1.Canary]

	// Overrides are the canary engine's effective weights, by UpstreamGroup.
	// They replace the group's spec weights while a rollout is active; the
	// spec itself is never rewritten.
	Overrides map[ident.Key]GroupOverride

	// Endpoints discovered for kube upstreams, by Upstream. Static
	// upstreams carry their own hosts.
	Endpoints map[ident.Key][]Endpoint

	// LastAccepted are the last accepted versions of objects, by kind and
	// key (the control plane's runner keeps them). When an object's
	// version in the input is Rejected and LastAccepted has an earlier
	// version of it, that version is compiled and served instead; the
	// report stays Rejected with the reason, and says which version is
	// served (Report.Serving). Entries for objects not in the input are
	// ignored: a deletion removes what was served.
	LastAccepted map[ident.Ref]Accepted
}

// Accepted is an accepted version of an object.
type Accepted struct {
	// Obj is the object, of the kind its key names (*v1alpha1.Upstream
	// for an Upstream, ...).
	Obj any
	// Rev is its store revision (see Object).
	Rev uint64
	// At is when that version was first accepted.
	At time.Time
}

// Object is an input object with its revision, which changes whenever the
// object's content does (the store's). A Translator reuses what it compiled
// from an object while its revision stays; revision 0 means unknown, and
// such an object is compiled every time.
type Object[T any] = store.Object[T]

// Objects wraps objects without revisions (decoded files, tests).
func Objects[T any](list ...T) []Object[T] {
	out := make([]Object[T], len(list))
	for i, o := range list {
		out[i] = Object[T]{Obj: o}
	}
	return out
}

// GroupOverride is the weights (and optional mirror) an active Canary sets
// on an UpstreamGroup.
type GroupOverride struct {
	// Canary applies the override.
	Canary ident.Key
	// Weights by Upstream. Destinations not named keep 0.
	Weights map[ident.Key]uint32
	// Mirror, when set, is added to every route that uses the group.
	Mirror *v1alpha1.Mirror
	// Upstream is the canary Upstream (store.CanaryState.Canary).
	Upstream ident.Key
	// Stickiness, when set, makes every route that uses the group hash on
	// the header or cookie and pick the destination by that hash
	// (weighted_clusters.use_hash_policy), the canary listed first so that
	// its range of hashes only grows as its weight does.
	Stickiness *v1alpha1.CanaryStickiness
	// Cohort, when set, adds before every route that uses the group a
	// route with the same match plus the cohort's headers and cookie,
	// which sends everything to the canary Upstream.
	Cohort *v1alpha1.CanaryABTest
}

// Endpoint is one discovered address of a kube upstream.
// It is the store's type: the Kubernetes source discovers endpoints into
// the store, and translation reads them as they are.
type Endpoint = store.EndpointAddr

// Options change translation globally.
type Options struct {
	// LoadReporting sets lrs_server to the management server itself on every
	// cluster, so that clients report per-cluster load (LRS).
	LoadReporting bool
}

// InputFrom reads a consistent store view into an Input. Canary states
// (the engine keeps one only while it drives a group) become overrides of
// their group's weights and mirror; when two canaries drive one group, the
// oldest claim wins (v1alpha1.OlderClaim, as the Canaries' reports say; a
// state whose Canary is gone is the newest claim). Endpoints discovered
// for kube Upstreams (by the Kubernetes source) come from the store's
// endpoints table.
func InputFrom(t *store.ReadTxn) *Input {
	in := &Input{
		Upstreams:       store.Objects[*v1alpha1.Upstream](t, v1alpha1.KindUpstream),
		UpstreamGroups:  store.Objects[*v1alpha1.UpstreamGroup](t, v1alpha1.KindUpstreamGroup),
		VirtualServices: store.Objects[*v1alpha1.VirtualService](t, v1alpha1.KindVirtualService),
		Gateways:        store.Objects[*v1alpha1.Gateway](t, v1alpha1.KindGateway),
		Canaries:        store.Objects[*v1alpha1.Canary](t, v1alpha1.KindCanary),
	}
	if eps := t.AllUpstreamEndpoints(); len(eps) > 0 {
		in.Endpoints = make(map[ident.Key][]Endpoint, len(eps))
		for id, addrs := range eps {
			in.Endpoints[ident.MustParseKey(id)] = addrs
		}
	}
	var canaries map[ident.Key]*v1alpha1.Canary
	for _, st := range t.CanaryStates() {
		group := ident.MustParseKey(st.GroupID)
		if in.Overrides == nil {
			in.Overrides = make(map[ident.Key]GroupOverride)
			canaries = make(map[ident.Key]*v1alpha1.Canary, len(in.Canaries))
			for _, o := range in.Canaries {
				canaries[ident.KeyOf(o.Obj)] = o.Obj
			}
		}
		if held, taken := in.Overrides[group]; taken && !olderState(canaries, ident.MustParseKey(st.ID), held.Canary) {
			continue
		}
		ov := GroupOverride{Canary: ident.MustParseKey(st.ID), Mirror: st.Mirror, Stickiness: st.Stickiness, Cohort: st.Cohort}
		if st.Canary != "" {
			ov.Upstream = ident.MustParseKey(st.Canary)
		}
		if len(st.Weights) > 0 {
			ov.Weights = make(map[ident.Key]uint32, len(st.Weights))
			for id, w := range st.Weights {
				ov.Weights[ident.MustParseKey(id)] = w
			}
		}
		in.Overrides[group] = ov
	}
	return in
}

// olderState reports whether Canary a's claim on a group predates b's.
func olderState(canaries map[ident.Key]*v1alpha1.Canary, a, b ident.Key) bool {
	ca, cb := canaries[a], canaries[b]
	switch {
	case ca == nil && cb == nil:
		return a.Compare(b) < 0
	case ca == nil:
		return false
	case cb == nil:
		return true
	}
	return v1alpha1.OlderClaim(ca, cb)
}
