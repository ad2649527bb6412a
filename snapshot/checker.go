package snapshot

import (
	"errors"
	"fmt"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/translator"
)

// checker runs Check's rules over a fleet's resources from what the
// translator says each listener and route configuration needs
// (translator.Resources.Needs), instead of reading names back out of the
// protos. It remembers the listeners and route configurations it found
// whole against the served names: the translator hands back the same
// message for what did not change, so after a weight change only the
// changed route configurations are looked at again.
type checker struct {
	// clusters, endpoints and routes are the served sets the memo holds for.
	clusters  []*clusterv3.Cluster
	endpoints []*endpointv3.ClusterLoadAssignment
	routes    []*routev3.RouteConfiguration
	okRoutes  map[*routev3.RouteConfiguration]bool
	okLis     map[*listenerv3.Listener]bool
}

func newChecker() *checker { return &checker{} }

// check is Check(res), memoized.
func (c *checker) check(res *translator.Resources) error {
	same := c.okRoutes != nil && sameSlice(res.Clusters, c.clusters) && sameSlice(res.Endpoints, c.endpoints) && sameNames(res.Routes, c.routes)
	var errs []error
	missing := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	okRoutes := make(map[*routev3.RouteConfiguration]bool, len(res.Routes))
	okLis := make(map[*listenerv3.Listener]bool, len(res.Listeners)+len(res.APIListeners))

	// The name sets are built only when something must be looked up.
	var clusters, assignments, routes map[string]bool
	index := func() {
		if clusters != nil {
			return
		}
		clusters = make(map[string]bool, len(res.Clusters))
		for _, cl := range res.Clusters {
			clusters[cl.GetName()] = true
		}
		assignments = make(map[string]bool, len(res.Endpoints))
		for _, e := range res.Endpoints {
			assignments[e.GetClusterName()] = true
		}
		routes = make(map[string]bool, len(res.Routes))
		for _, r := range res.Routes {
			routes[r.GetName()] = true
		}
	}
	if !same {
		index()
		for _, cl := range res.Clusters {
			if name := EDSName(cl); name != "" && !assignments[name] {
				missing("cluster %q uses EDS name %q, which is not served", cl.GetName(), name)
			}
		}
	}
	for _, rc := range res.Routes {
		if same && c.okRoutes[rc] {
			okRoutes[rc] = true
			continue
		}
		index()
		n := res.Needs[ident.Resource{Type: ident.Route, Name: rc.GetName()}]
		bad := false
		for i, name := range n.Clusters {
			if !clusters[name] {
				bad = true
				missing("route configuration %q names cluster %q, which is not served", rc.GetName(), name)
			}
			if i < len(n.Endpoints) && n.Endpoints[i] != "" && !assignments[n.Endpoints[i]] {
				bad = true
				missing("route configuration %q needs the endpoints %q, which are not served", rc.GetName(), n.Endpoints[i])
			}
		}
		if !bad {
			okRoutes[rc] = true
		}
	}
	for _, group := range [][]*listenerv3.Listener{res.Listeners, res.APIListeners} {
		for _, l := range group {
			if same && c.okLis[l] {
				okLis[l] = true
				continue
			}
			index()
			bad := false
			for _, name := range res.Needs[ident.Resource{Type: ident.Listener, Name: l.GetName()}].Routes {
				if !routes[name] {
					bad = true
					missing("listener %q takes route configuration %q over RDS, which is not served", l.GetName(), name)
				}
			}
			if !bad {
				okLis[l] = true
			}
		}
	}
	if len(errs) > 0 {
		c.okRoutes = nil
		return errors.Join(errs...)
	}
	c.clusters, c.endpoints, c.routes, c.okRoutes, c.okLis = res.Clusters, res.Endpoints, res.Routes, okRoutes, okLis
	return nil
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

// sameSlice reports whether a and b are the same slice (not just equal).
func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// sameNames reports whether two route lists serve the same names, in order:
// the same message, or one of the same name.
func sameNames(a, b []*routev3.RouteConfiguration) bool {
	if sameSlice(a, b) {
		return true
	}
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && a[i].GetName() != b[i].GetName() {
			return false
		}
	}
	return true
}
