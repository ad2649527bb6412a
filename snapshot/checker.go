package snapshot

import (
	"errors"
	"fmt"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/serin-dev/serin/translator"
)

// checker runs Check's rules over a fleet's resources, remembering what it
// derived from each message (the clusters a route configuration names, the
// route configurations a listener takes over RDS). The translator hands back
// the same message pointers for what did not change, so after a weight
// change only the changed route configurations are walked again, instead of
// every route and every listener's HCM being decoded on each publish.
type checker struct {
	routes    map[*routev3.RouteConfiguration][]string
	listeners map[*listenerv3.Listener]listenerRefs
}

type listenerRefs struct {
	rds []string // route configurations taken over RDS
	// inline are the clusters named by inline route configurations.
	inline []string
}

func newChecker() *checker {
	return &checker{routes: map[*routev3.RouteConfiguration][]string{}, listeners: map[*listenerv3.Listener]listenerRefs{}}
}

// check is Check(res), memoized. Entries for messages no longer in res are
// dropped, so the memo holds one fleet's worth at most per call site.
func (c *checker) check(res *translator.Resources) error {
	clusters := make(map[string]bool, len(res.Clusters))
	for _, cl := range res.Clusters {
		clusters[cl.GetName()] = true
	}
	assignments := make(map[string]bool, len(res.Endpoints))
	for _, e := range res.Endpoints {
		assignments[e.GetClusterName()] = true
	}
	routeNames := make(map[string]bool, len(res.Routes))
	for _, r := range res.Routes {
		routeNames[r.GetName()] = true
	}
	var errs []error
	for _, cl := range res.Clusters {
		if cl.GetType() != clusterv3.Cluster_EDS {
			continue
		}
		name := cl.GetEdsClusterConfig().GetServiceName()
		if name == "" {
			name = cl.GetName()
		}
		if !assignments[name] {
			errs = append(errs, fmt.Errorf("cluster %q uses EDS name %q, which is not served", cl.GetName(), name))
		}
	}
	routes := make(map[*routev3.RouteConfiguration][]string, len(res.Routes))
	for _, r := range res.Routes {
		names, ok := c.routes[r]
		if !ok {
			names = RouteClusters(r)
		}
		routes[r] = names
		for _, n := range names {
			if !clusters[n] {
				errs = append(errs, fmt.Errorf("route configuration %q names cluster %q, which is not served", r.GetName(), n))
			}
		}
	}
	listeners := make(map[*listenerv3.Listener]listenerRefs, len(res.Listeners)+len(res.APIListeners))
	for _, group := range [][]*listenerv3.Listener{res.Listeners, res.APIListeners} {
		for _, l := range group {
			refs, ok := c.listeners[l]
			if !ok {
				for _, h := range ListenerHCMs(l) {
					if rds := h.GetRds(); rds != nil {
						refs.rds = append(refs.rds, rds.GetRouteConfigName())
					}
					if rc := h.GetRouteConfig(); rc != nil {
						refs.inline = append(refs.inline, RouteClusters(rc)...)
					}
				}
			}
			listeners[l] = refs
			for _, n := range refs.rds {
				if !routeNames[n] {
					errs = append(errs, fmt.Errorf("listener %q takes route configuration %q over RDS, which is not served", l.GetName(), n))
				}
			}
			for _, n := range refs.inline {
				if !clusters[n] {
					errs = append(errs, fmt.Errorf("listener %q (inline routes) names cluster %q, which is not served", l.GetName(), n))
				}
			}
		}
	}
	c.routes, c.listeners = routes, listeners
	return errors.Join(errs...)
}
