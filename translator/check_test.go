package translator

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/envoyrefs"
	"github.com/serin-dev/serin/pkg/ident"
)

type validator interface{ ValidateAll() error }

// checkOutput returns every broken promise of an Output: resources that
// fail ValidateAll (typed configs inside Anys included), routes naming a
// cluster the fleet does not serve, clusters without an assignment,
// listeners without their route configuration, duplicate names or domains,
// unsorted slices, resources without origins.
func checkOutput(out *Output) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	validate := func(what string, m proto.Message) {
		if v, ok := m.(validator); ok {
			if err := v.ValidateAll(); err != nil {
				bad("%s: ValidateAll: %v", what, err)
			}
		}
	}
	validateAny := func(what string, a *anypb.Any) {
		m, err := a.UnmarshalNew()
		if err != nil {
			bad("%s: unpack %s: %v", what, a.GetTypeUrl(), err)
			return
		}
		validate(what+" "+a.GetTypeUrl(), m)
	}
	if out.Fleets[v1alpha1.DefaultFleet] == nil {
		bad("default fleet missing")
	}
	for fleet, r := range out.Fleets {
		fp := "fleet " + fleet
		clusters := map[string]bool{}
		for i, c := range r.Clusters {
			validate(fp+" cluster "+c.Name, c)
			for k, a := range c.TypedExtensionProtocolOptions {
				validateAny(fp+" cluster "+c.Name+" "+k, a)
			}
			if ts := c.GetTransportSocket(); ts != nil {
				validateAny(fp+" cluster "+c.Name+" transport socket", ts.GetTypedConfig())
			}
			if c.GetType() != clusterv3.Cluster_EDS || c.GetEdsClusterConfig().GetEdsConfig().GetAds() == nil || c.GetEdsClusterConfig().GetServiceName() != c.Name {
				bad("%s cluster %s: not EDS over ADS named after itself", fp, c.Name)
			}
			if clusters[c.Name] {
				bad("%s: duplicate cluster %s", fp, c.Name)
			}
			clusters[c.Name] = true
			if i > 0 && r.Clusters[i-1].Name >= c.Name {
				bad("%s: clusters not sorted at %s", fp, c.Name)
			}
			if r.Origins[ident.Resource{Type: ident.Cluster, Name: c.Name}] == nil || r.Origins[ident.Resource{Type: ident.Endpoint, Name: c.Name}] == nil {
				bad("%s cluster %s: no origins", fp, c.Name)
			}
		}
		assigned := map[string]bool{}
		for i, e := range r.Endpoints {
			validate(fp+" assignment "+e.ClusterName, e)
			assigned[e.ClusterName] = true
			if i > 0 && r.Endpoints[i-1].ClusterName >= e.ClusterName {
				bad("%s: endpoints not sorted at %s", fp, e.ClusterName)
			}
			for _, l := range e.Endpoints {
				if l.GetLocality() == nil || l.GetLoadBalancingWeight().GetValue() == 0 {
					bad("%s assignment %s: locality without Locality or weight", fp, e.ClusterName)
				}
			}
		}
		for name := range clusters {
			if !assigned[name] {
				bad("%s cluster %s: no ClusterLoadAssignment", fp, name)
			}
		}
		routes := map[string]*routev3.RouteConfiguration{}
		for i, rc := range r.Routes {
			validate(fp+" route "+rc.Name, rc)
			if routes[rc.Name] != nil {
				bad("%s: duplicate route configuration %s", fp, rc.Name)
			}
			routes[rc.Name] = rc
			if i > 0 && r.Routes[i-1].Name >= rc.Name {
				bad("%s: routes not sorted at %s", fp, rc.Name)
			}
			if r.Origins[ident.Resource{Type: ident.Route, Name: rc.Name}] == nil {
				bad("%s route %s: no origins", fp, rc.Name)
			}
			// The needs handed forward are exactly what the proto names.
			if got, want := r.Needs[ident.Resource{Type: ident.Route, Name: rc.Name}], envoyrefs.RouteClusters(rc); !slices.Equal(got.Clusters, want) || !slices.Equal(got.Endpoints, want) {
				bad("%s route %s: needs %v, but the proto names clusters %v", fp, rc.Name, got, want)
			}
			domains, vhNames := map[string]bool{}, map[string]bool{}
			for _, vh := range rc.VirtualHosts {
				if vhNames[vh.Name] {
					bad("%s route %s: duplicate virtual host %s", fp, rc.Name, vh.Name)
				}
				vhNames[vh.Name] = true
				for _, d := range vh.Domains {
					if domains[strings.ToLower(d)] {
						bad("%s route %s: duplicate domain %s", fp, rc.Name, d)
					}
					domains[strings.ToLower(d)] = true
				}
				for _, rt := range vh.Routes {
					a := rt.GetRoute()
					if a == nil {
						continue
					}
					names := []string{}
					if c := a.GetCluster(); c != "" {
						names = append(names, c)
					}
					for _, w := range a.GetWeightedClusters().GetClusters() {
						names = append(names, w.Name)
					}
					for _, m := range a.GetRequestMirrorPolicies() {
						names = append(names, m.Cluster)
					}
					if len(names) == 0 || (a.GetCluster() == "" && a.GetWeightedClusters() == nil) {
						bad("%s route %s: forwarding route without a cluster", fp, rc.Name)
					}
					for _, n := range names {
						if !clusters[n] {
							bad("%s route %s: names cluster %s, which the fleet does not serve", fp, rc.Name, n)
						}
					}
				}
			}
		}
		checkListeners := func(kind string, ls []*listenerv3.Listener, api bool) {
			for i, l := range ls {
				validate(fp+" "+kind+" "+l.Name, l)
				if i > 0 && ls[i-1].Name >= l.Name {
					bad("%s: %ss not sorted at %s", fp, kind, l.Name)
				}
				if r.Origins[ident.Resource{Type: ident.Listener, Name: l.Name}] == nil {
					bad("%s %s %s: no origins", fp, kind, l.Name)
				}
				var rds []string
				for _, h := range envoyrefs.ListenerHCMs(l) {
					if h.GetRds() != nil {
						rds = append(rds, h.GetRds().GetRouteConfigName())
					}
				}
				if got := r.Needs[ident.Resource{Type: ident.Listener, Name: l.Name}]; !slices.Equal(got.Routes, rds) || len(got.Clusters) > 0 {
					bad("%s %s %s: needs %v, but the proto takes routes %v over RDS", fp, kind, l.Name, got, rds)
				}
				var hcmAny *anypb.Any
				if api {
					hcmAny = l.GetApiListener().GetApiListener()
				} else if fc := l.GetFilterChains(); len(fc) == 1 && len(fc[0].Filters) == 1 {
					hcmAny = fc[0].Filters[0].GetTypedConfig()
				}
				if hcmAny == nil {
					bad("%s %s %s: no HTTP connection manager", fp, kind, l.Name)
					continue
				}
				validateAny(fp+" "+kind+" "+l.Name, hcmAny)
				hcm := &hcmv3.HttpConnectionManager{}
				if err := hcmAny.UnmarshalTo(hcm); err != nil {
					bad("%s %s %s: %v", fp, kind, l.Name, err)
					continue
				}
				for _, f := range hcm.HttpFilters {
					validateAny(fp+" "+kind+" "+l.Name+" filter "+f.Name, f.GetTypedConfig())
				}
				if rn := hcm.GetRds().GetRouteConfigName(); rn != l.Name || routes[rn] == nil {
					bad("%s %s %s: RDS route %q not served", fp, kind, l.Name, rn)
				}
			}
		}
		checkListeners("listener", r.Listeners, false)
		checkListeners("api listener", r.APIListeners, true)
	}
	sort.Strings(errs)
	return errs
}
