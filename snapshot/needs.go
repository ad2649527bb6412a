package snapshot

import (
	"slices"

	"github.com/serin-dev/serin/translator"
)

// ClusterNeeds returns the clusters (with the assignments they read) that
// the listeners or route configurations rs route to: a route
// configuration's own needs, and for a listener those of the route
// configurations it takes over RDS in this snapshot. When one route
// configuration holds them all, its shared slices are returned as they are,
// so that callers can compare needs by identity. Read only.
func (s *Snapshot) ClusterNeeds(rs []*Resource) translator.Needs {
	var parts []translator.Needs
	add := func(n translator.Needs) {
		if len(n.Clusters) > 0 {
			parts = append(parts, n)
		}
	}
	for _, r := range rs {
		add(r.Needs)
		for _, name := range r.Needs.Routes {
			if rr := s.Get(KindRoute, name); rr != nil {
				add(rr.Needs)
			}
		}
	}
	switch len(parts) {
	case 0:
		return translator.Needs{}
	case 1:
		return translator.Needs{Clusters: parts[0].Clusters, Endpoints: parts[0].Endpoints}
	}
	type pair struct{ cluster, endpoints string }
	var all []pair
	for _, p := range parts {
		for i, c := range p.Clusters {
			e := ""
			if i < len(p.Endpoints) {
				e = p.Endpoints[i]
			}
			all = append(all, pair{c, e})
		}
	}
	slices.SortFunc(all, func(a, b pair) int {
		if a.cluster != b.cluster {
			if a.cluster < b.cluster {
				return -1
			}
			return 1
		}
		return 0
	})
	all = slices.CompactFunc(all, func(a, b pair) bool { return a.cluster == b.cluster })
	out := translator.Needs{Clusters: make([]string, len(all)), Endpoints: make([]string, len(all))}
	for i, p := range all {
		out.Clusters[i], out.Endpoints[i] = p.cluster, p.endpoints
	}
	return out
}
