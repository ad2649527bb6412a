package xds

import "slices"

// routeNeeds is, for LDS and RDS, what the version about to be sent needs
// the node to hold (gate.go): the clusters its routes name and their
// endpoint assignments, as the translator said (snapshot.ClusterNeeds).
type routeNeeds struct {
	// key is the version the needs are of (LDS: with the RDS version of
	// the snapshot, since a listener's needs include its routes').
	key      string
	clusters []string
	// endpoints[i] is the assignment clusters[i] reads over EDS ("" for
	// none).
	endpoints []string
	allHeld   allHeldMemo
}

// allHeldMemo memoizes "the node holds every cluster (and EDS assignment)
// in needs": true for needs against the ACKed sets cds and eds. While
// those three are the same slices, nothing can make this type's versions
// wait, whatever else moves.
type allHeldMemo struct {
	needs, cds, eds []string
}

// set makes the needs those of version key.
func (r *routeNeeds) set(key string, clusters, endpoints []string) {
	r.key, r.clusters, r.endpoints = key, clusters, endpoints
}

// allHeldFor reports whether the memo says the node holds every need,
// given the CDS and EDS names it has ACKed.
func (r *routeNeeds) allHeldFor(cds, eds []string) bool {
	m := r.allHeld
	return sameSlice(m.needs, r.clusters) && sameSlice(m.cds, cds) && sameSlice(m.eds, eds)
}

// rememberAllHeld records that the node holds every need, given those
// ACKed sets.
func (r *routeNeeds) rememberAllHeld(cds, eds []string) {
	r.allHeld = allHeldMemo{needs: r.clusters, cds: cds, eds: eds}
}

// sameSlice reports whether a and b hold the same names: the same shared
// slice (the usual case: needs and sent sets are shared between streams),
// or equal contents.
func sameSlice(a, b []string) bool {
	if a == nil || b == nil {
		return false
	}
	if len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0]) {
		return true
	}
	return slices.Equal(a, b)
}
