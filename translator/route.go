package translator

import (
	"sort"
	"strconv"
	"strings"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// vsEntry is one VirtualService with its resolved routes.
type vsEntry struct {
	key key
	ref ident.Ref
	rep int32
	ok  bool
	// name is the virtual host name, "<name>_<namespace>".
	name    string
	domains []string
	routes  []*Route
	// origins are the VirtualService and the groups its routes use, sorted.
	origins []ident.Ref
}

// unavailable is the status of a route whose destination is missing or
// rejected: the request cannot be served, and saying so beats sending it to
// a cluster the proxy does not have.
const unavailable = 503

func (c *compiler) compileVirtualServices() {
	list, keys, reps := objects(c, v1alpha1.KindVirtualService, c.in.VirtualServices)
	c.vss = make([]*vsEntry, 0, len(list))
	entries := make([]vsEntry, len(list))
	for i, vs := range list {
		k := keys[i]
		e := &entries[i]
		*e = vsEntry{key: k, ref: objRef(v1alpha1.KindVirtualService, k), rep: reps[i], name: resourceName(k)}
		c.vss = append(c.vss, e)
		c.vsByKey[k] = e
		c.compileVirtualService(e, vs)
	}
}

// compileVirtualService validates one VirtualService and resolves its
// routes, reporting at e.rep.
func (c *compiler) compileVirtualService(e *vsEntry, vs *v1alpha1.VirtualService) {
	if c.rep.rejectAll(e.rep, vs.Validate()) {
		return
	}
	p := problems{rep: c.rep, i: e.rep}
	e.domains = domainsIR(&p, vs.Spec.VirtualHost.Domains)
	e.origins = []ident.Ref{e.ref}
	routes := vs.Spec.VirtualHost.Routes
	e.routes = make([]*Route, 0, len(routes))
	for j := range routes {
		e.routes = append(e.routes, c.routeIR(&p, e, j, &routes[j]))
	}
	if len(e.origins) > 2 {
		sort.Slice(e.origins[1:], func(a, b int) bool { return refLess(e.origins[1+a], e.origins[1+b]) })
	}
	e.ok = !p.rejected()
}

// domainsIR checks what Validate leaves to Envoy: control characters, and
// domains equal but for case (Envoy compares domains lower-cased and NACKs
// duplicates).
func domainsIR(p *problems, ds []string) []string {
	out := make([]string, 0, len(ds))
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
	}
	return out
}

func (c *compiler) routeIR(p *problems, e *vsEntry, i int, r *v1alpha1.Route) *Route {
	fp := "spec.virtualHost.routes[" + strconv.Itoa(i) + "]"
	rt := &Route{Name: r.Name, Matches: matchesIR(p, fp, r.Matchers)}
	ns := e.key.ns
	down := func(fieldPath, why string) {
		p.warn(fieldPath, why+"; the route answers 503")
		rt.Direct = &DirectResponse{Status: unavailable, Body: why + "\n"}
	}
	a := r.RouteAction
	switch {
	case a == nil:
		down(fp+".routeAction", "no destination")
	case a.Single != nil:
		if cl, why := c.reference(a.Single.Upstream, ns); cl != nil {
			rt.Clusters = []WeightedCluster{{Name: cl.Name, Weight: 1}}
		} else {
			down(fp+".routeAction.single.upstream", why)
		}
	case a.Multi != nil:
		afp := fp + ".routeAction.multi.destinations"
		ds := a.Multi.Destinations
		clusters, _, fail := c.split(p, afp, ds, ns, nil)
		if fail != "" {
			down(afp, fail)
		} else {
			rt.Clusters, rt.Weighted = clusters, true
		}
	case a.UpstreamGroup != nil:
		afp := fp + ".routeAction.upstreamGroup"
		g, why := c.lookupGroup(*a.UpstreamGroup, ns)
		if g == nil {
			if gk := refKey(*a.UpstreamGroup, ns); c.groups[gk] != nil {
				e.addOrigin(c.groups[gk].ref)
			}
			down(afp, why)
			break
		}
		e.addOrigin(g.ref)
		for _, n := range g.notes {
			p.warn(afp, "UpstreamGroup "+g.key.String()+": "+n)
		}
		rt.Clusters, rt.Weighted = g.clusters, true
		if g.mirror != nil {
			rt.Mirrors = append(rt.Mirrors, *g.mirror)
		}
	}
	if rt.Direct != nil {
		return rt // options shape forwarding; a direct response forwards nothing
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
		if ms := c.mirrorsIR(p, ofp, o, ns); len(ms) > 0 {
			rt.Mirrors = append(ms, rt.Mirrors...)
		}
		rt.HashPolicies = hashPoliciesIR(p, ofp, o.HashPolicies)
	}
	return rt
}

func (e *vsEntry) addOrigin(ref ident.Ref) {
	for _, o := range e.origins {
		if o == ref {
			return
		}
	}
	e.origins = append(e.origins, ref)
}
