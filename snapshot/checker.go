package snapshot

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"

	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/translator"
)

// checker runs Check's rules over a fleet's resources from what the
// translator says each listener and route configuration needs
// (translator.Resources.Needs), instead of reading names back out of the
// protos. It remembers the needs it found served: after a weight change the
// served clusters are the same slice and every route configuration needs
// the same shared slice of clusters as before, so checking it again is one
// comparison, not a lookup per cluster.
type checker struct {
	// clusters and endpoints are the served sets ok was checked against.
	clusters  []*clusterv3.Cluster
	endpoints []*endpointv3.ClusterLoadAssignment
	ok        map[ident.Resource]translator.Needs
}

func newChecker() *checker { return &checker{} }

// check is Check(res), memoized.
func (c *checker) check(res *translator.Resources) error {
	sameServed := c.ok != nil && sameSlice(res.Clusters, c.clusters) && sameSlice(res.Endpoints, c.endpoints)
	var errs []error
	missing := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	var clusters, assignments map[string]bool
	if !sameServed {
		clusters = make(map[string]bool, len(res.Clusters))
		for _, cl := range res.Clusters {
			clusters[cl.GetName()] = true
		}
		assignments = make(map[string]bool, len(res.Endpoints))
		for _, e := range res.Endpoints {
			assignments[e.GetClusterName()] = true
		}
		for _, cl := range res.Clusters {
			if name := EDSName(cl); name != "" && !assignments[name] {
				missing("cluster %q uses EDS name %q, which is not served", cl.GetName(), name)
			}
		}
	}
	routes := make(map[string]bool, len(res.Routes))
	for _, r := range res.Routes {
		routes[r.GetName()] = true
	}

	next := make(map[ident.Resource]translator.Needs, len(res.Needs))
	for id, n := range res.Needs {
		if !served(res, routes, id) {
			missing("%s %q has needs but is not served", kindWord(id.Type), id.Name)
			continue
		}
		for _, name := range n.Routes {
			if !routes[name] {
				missing("listener %q takes route configuration %q over RDS, which is not served", id.Name, name)
			}
		}
		if old, ok := c.ok[id]; sameServed && ok && sameNeeds(old, n) {
			next[id] = n
			continue
		}
		if clusters == nil { // served sets unchanged, but these needs are new
			clusters, assignments = c.servedSets()
		}
		bad := false
		for i, name := range n.Clusters {
			if !clusters[name] {
				bad = true
				missing("%s %q names cluster %q, which is not served", kindWord(id.Type), id.Name, name)
			}
			if i < len(n.Endpoints) && n.Endpoints[i] != "" && !assignments[n.Endpoints[i]] {
				bad = true
				missing("%s %q needs the endpoints %q, which are not served", kindWord(id.Type), id.Name, n.Endpoints[i])
			}
		}
		if !bad {
			next[id] = n
		}
	}
	if len(errs) > 0 {
		c.ok = nil
		return errors.Join(errs...)
	}
	c.clusters, c.endpoints, c.ok = res.Clusters, res.Endpoints, next
	return nil
}

// servedSets indexes the served sets the memo was checked against.
func (c *checker) servedSets() (clusters, assignments map[string]bool) {
	clusters = make(map[string]bool, len(c.clusters))
	for _, cl := range c.clusters {
		clusters[cl.GetName()] = true
	}
	assignments = make(map[string]bool, len(c.endpoints))
	for _, e := range c.endpoints {
		assignments[e.GetClusterName()] = true
	}
	return clusters, assignments
}

// EDSName is the ClusterLoadAssignment an EDS cluster reads, or "" for a
// cluster of another type.
func EDSName(cl *clusterv3.Cluster) string {
	if cl.GetType() != clusterv3.Cluster_EDS {
		return ""
	}
	if n := cl.GetEdsClusterConfig().GetServiceName(); n != "" {
		return n
	}
	return cl.GetName()
}

func served(res *translator.Resources, routes map[string]bool, id ident.Resource) bool {
	switch id.Type {
	case ident.Route:
		return routes[id.Name]
	case ident.Listener:
		for _, group := range [][]*listenerv3.Listener{res.Listeners, res.APIListeners} {
			// Both lists are sorted by name.
			if _, ok := slices.BinarySearchFunc(group, id.Name, func(l *listenerv3.Listener, n string) int {
				return strings.Compare(l.GetName(), n)
			}); ok {
				return true
			}
		}
	}
	return false
}

func kindWord(t ident.Type) string {
	if t == ident.Route {
		return "route configuration"
	}
	return t.String()
}

// sameSlice reports whether a and b are the same slice (not just equal).
func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

func sameNeeds(a, b translator.Needs) bool {
	return slices.Equal(a.Routes, b.Routes) && sameOrEqual(a.Clusters, b.Clusters) && sameOrEqual(a.Endpoints, b.Endpoints)
}

func sameOrEqual(a, b []string) bool { return sameSlice(a, b) || slices.Equal(a, b) }
