package translator

import (
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// vsResult is one VirtualService with its resolved routes.
type vsResult struct {
	ok bool
	// domains are its own domains (duplicates dropped); domainAt their
	// indexes in the spec's list.
	domains  []string
	domainAt []int
	// since is the object's creationTimestamp: the age of its claim on its
	// domains (see layout.claimDomains).
	since  metav1.Time
	routes []*Route
	// origins are the VirtualService and the groups its routes use, sorted.
	origins []ident.Ref
	// refs are the clusters it references (whether or not accepted).
	refs []string
}

// unavailable is the status of a route whose destination is missing or
// rejected: the request cannot be served, and saying so beats sending it to
// a cluster the proxy does not have.
const unavailable = 503

// compileVirtualService validates one VirtualService and resolves its
// routes.
func compileVirtualService(c *compiler, v *cell[*v1alpha1.VirtualService, vsResult]) vsResult {
	if c.p.rejectAll(v.obj.Validate()) {
		return vsResult{}
	}
	e := vsResult{origins: []ident.Ref{v.key.Ref(v1alpha1.KindVirtualService)}}
	e.domains, e.domainAt = domainsIR(&c.p, v.obj.Spec.VirtualHost.Domains)
	e.since = v.obj.CreationTimestamp
	routes := v.obj.Spec.VirtualHost.Routes
	e.routes = make([]*Route, 0, len(routes))
	for j := range routes {
		rt, cohort := c.routeIR(&e, j, &routes[j])
		if cohort != nil {
			e.routes = append(e.routes, cohort)
		}
		e.routes = append(e.routes, rt)
	}
	if len(e.origins) > 2 {
		sort.Slice(e.origins[1:], func(a, b int) bool { return refLess(e.origins[1+a], e.origins[1+b]) })
	}
	e.ok = !c.p.rejected()
	e.refs = c.refsCopy()
	return e
}

// sameVirtualService: the shape is what the fleets' layout reads
// (acceptance, domains, origins, the clusters routes use); the content adds
// the routes themselves.
func sameVirtualService(a, b vsResult) (shape, content bool) {
	shape = a.ok == b.ok && slices.Equal(a.domains, b.domains) && slices.Equal(a.domainAt, b.domainAt) && a.since.Equal(&b.since) && slices.Equal(a.origins, b.origins) &&
		slices.Equal(a.refs, b.refs) && slices.Equal(clustersUsed(a.routes), clustersUsed(b.routes))
	return shape, shape && reflect.DeepEqual(a.routes, b.routes)
}

// clustersUsed lists, in order, the clusters routes send or mirror to: what
// decides a fleet's clusters.
func clustersUsed(routes []*Route) []string {
	var out []string
	for _, r := range routes {
		if r.Direct != nil {
			out = append(out, "") // a direct route uses none, but keep the shape
			continue
		}
		for _, wc := range r.Clusters {
			out = append(out, wc.Name)
		}
		out = append(out, "|")
		for _, m := range r.Mirrors {
			out = append(out, m.Cluster)
		}
		out = append(out, "|")
	}
	return out
}

// domainsIR checks what Validate leaves to Envoy: control characters, and
// domains equal but for case (Envoy compares domains lower-cased and NACKs
// duplicates).
func domainsIR(p *problems, ds []string) (out []string, at []int) {
	out = make([]string, 0, len(ds))
	at = make([]int, 0, len(ds))
	seen := make(map[string]struct{}, len(ds))
	for i, d := range ds {
		fp := "spec.virtualHost.domains[" + strconv.Itoa(i) + "]"
		if d == "" || !headerSafe(d) {
			p.reject(fp, "not a valid domain")
			continue
		}
		l := strings.ToLower(d)
		if _, dup := seen[l]; dup {
			p.warn(fp, "domain "+strconv.Quote(d)+" repeats an earlier one (domains ignore case); dropped")
			continue
		}
		seen[l] = struct{}{}
		out = append(out, d)
		at = append(at, i)
	}
	return out, at
}

// routeIR resolves one route, and the route an abTest cohort of its group
// adds before it (nil when none).
func (c *compiler) routeIR(e *vsResult, i int, r *v1alpha1.Route) (rt, cohort *Route) {
	p := &c.p
	fp := "spec.virtualHost.routes[" + strconv.Itoa(i) + "]"
	rt = &Route{Name: r.Name, Matches: matchesIR(p, fp, r.Matchers)}
	var group *groupResult
	down := func(fieldPath, why string) {
		p.warn(fieldPath, why+"; the route answers 503")
		rt.Direct = &DirectResponse{Status: unavailable, Body: why + "\n"}
	}
	a := r.RouteAction
	switch {
	case a == nil:
		down(fp+".routeAction", "no destination")
	case a.Single != nil:
		if cl, why := c.reference(a.Single.Upstream); cl != "" {
			rt.Clusters = []WeightedCluster{{Name: cl, Weight: 1}}
		} else {
			down(fp+".routeAction.single.upstream", why)
		}
	case a.Multi != nil:
		afp := fp + ".routeAction.multi.destinations"
		ds := a.Multi.Destinations
		clusters, _, fail := c.split(afp, ds, nil)
		if fail != "" {
			down(afp, fail)
		} else {
			rt.Clusters, rt.Weighted = clusters, true
		}
	case a.UpstreamGroup != nil:
		afp := fp + ".routeAction.upstreamGroup"
		g, why := c.lookupGroup(*a.UpstreamGroup, true)
		if g != nil {
			e.addOrigin(g.key.Ref(v1alpha1.KindUpstreamGroup))
		}
		if why != "" {
			down(afp, why)
			break
		}
		for _, n := range g.res.notes {
			p.warn(afp, "UpstreamGroup "+g.key.String()+": "+n)
		}
		rt.Clusters, rt.Weighted = g.res.clusters, true
		group = &g.res
		if g.res.mirror != nil {
			rt.Mirrors = append(rt.Mirrors, *g.res.mirror)
		}
	}
	if rt.Direct != nil {
		return rt, nil // options shape forwarding; a direct response forwards nothing
	}
	if o := r.Options; o != nil {
		ofp := fp + ".options"
		rt.Timeout = timeoutIR(o)
		rt.Retry = retryIR(p, ofp+".retries", o.Retries)
		if o.PrefixRewrite != nil {
			if !headerSafe(*o.PrefixRewrite) {
				p.reject(ofp+".prefixRewrite", "must not contain control characters")
			}
			rt.PrefixRewrite = o.PrefixRewrite
		}
		if ms := c.mirrorsIR(ofp, o); len(ms) > 0 {
			rt.Mirrors = append(ms, rt.Mirrors...)
		}
		rt.HashPolicies = hashPoliciesIR(p, ofp, o.HashPolicies)
	}
	if group != nil && group.cohort != nil {
		cohort = cohortRoute(rt, group.cohort)
	}
	if group != nil && group.sticky != nil {
		rt.UseHashPolicy = true
		rt.HashPolicies = addHash(rt.HashPolicies, *group.sticky)
	}
	return rt, cohort
}

func (e *vsResult) addOrigin(ref ident.Ref) {
	for _, o := range e.origins {
		if o == ref {
			return
		}
	}
	e.origins = append(e.origins, ref)
}
