package translator

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// Validate checks the invariants that BuildIR guarantees and Emit relies on
// (Emit does not check them: an IR that breaks one gives resources Envoy
// or gRPC refuse, or makes Emit panic). It returns nil, or every problem
// joined (errors.Join), one per line, each with its path in the IR:
//
//	fleets[default].virtualHosts[myapp_default].routes[0]: weighted route with no clusters
//
// Lists are named by their elements' names (fleets, listeners, virtual
// hosts, clusters) or indexes (everything else).
func (ir *IR) Validate() error {
	var c irCheck
	if ir == nil {
		return errors.New("nil IR")
	}
	c.ir(ir)
	return c.err()
}

// Validate checks one fleet as IR.Validate does, with paths relative to
// the fleet.
func (f *Fleet) Validate() error {
	var c irCheck
	c.fleet("", f)
	return c.err()
}

// Validate checks one virtual host on its own: everything but what needs
// its fleet (that the clusters its routes use exist, that its domains are
// unique in the fleet).
func (vh *VirtualHost) Validate() error {
	var c irCheck
	c.virtualHost("", vh)
	return c.err()
}

// Validate checks one cluster, with paths relative to it.
func (cl *Cluster) Validate() error {
	var c irCheck
	c.cluster("", cl)
	return c.err()
}

// irCheck collects problems.
type irCheck struct{ errs []error }

func (c *irCheck) add(path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	c.errs = append(c.errs, errors.New(msg))
}

func (c *irCheck) err() error { return errors.Join(c.errs...) }

// at is path.child, or child at the top.
func at(path, child string) string {
	if path == "" {
		return child
	}
	return path + "." + child
}

func index(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

// named checks a list whose elements have names: none nil or unnamed,
// sorted by name, no name twice. It returns each element's path,
// field[name] (field[i] for a nil or unnamed one).
func named[T any](c *irCheck, path, field string, list []*T, name func(*T) string) []string {
	paths := make([]string, len(list))
	prev := ""
	for i, x := range list {
		if x == nil {
			paths[i] = at(path, index(field, i))
			c.add(paths[i], "nil")
			continue
		}
		n := name(x)
		if n == "" {
			paths[i] = at(path, index(field, i))
			c.add(paths[i], "no name")
			continue
		}
		paths[i] = at(path, field+"["+n+"]")
		switch {
		case prev == "":
		case n == prev:
			c.add(paths[i], "name appears more than once")
		case n < prev:
			c.add(paths[i], "not sorted by name (comes after %q)", prev)
		}
		prev = n
	}
	return paths
}

func (c *irCheck) ir(ir *IR) {
	paths := named(c, "", "fleets", ir.Fleets, func(f *Fleet) string { return f.Name })
	hasDefault := false
	for i, f := range ir.Fleets {
		if f == nil {
			continue
		}
		hasDefault = hasDefault || f.Name == v1alpha1.DefaultFleet
		c.fleet(paths[i], f)
	}
	if !hasDefault {
		c.add("fleets", "no %q fleet", v1alpha1.DefaultFleet)
	}
}

func (c *irCheck) fleet(fp string, f *Fleet) {
	if f == nil {
		c.add(fp, "nil")
		return
	}
	clusterPaths := named(c, fp, "clusters", f.Clusters, func(cl *Cluster) string { return cl.Name })
	clusters := make(map[string]bool, len(f.Clusters))
	for i, cl := range f.Clusters {
		if cl != nil {
			clusters[cl.Name] = true
			c.cluster(clusterPaths[i], cl)
		}
	}

	vhPaths := named(c, fp, "virtualHosts", f.VirtualHosts, func(vh *VirtualHost) string { return vh.Name })
	mine := make(map[*VirtualHost]bool, len(f.VirtualHosts))
	byName := make(map[string]bool, len(f.VirtualHosts))
	domains := make(map[string]string, len(f.VirtualHosts)) // lower-cased domain: the path of its first holder
	apiListeners := make(map[string]string)                 // API listener: the path of its virtual host
	for i, vh := range f.VirtualHosts {
		if vh == nil {
			continue
		}
		vp := vhPaths[i]
		mine[vh], byName[vh.Name] = true, true
		c.virtualHost(vp, vh)
		seen := make(map[string]bool, len(vh.Domains))
		for j, d := range vh.Domains {
			l := strings.ToLower(d)
			if seen[l] {
				continue // reported by virtualHost
			}
			seen[l] = true
			if other, taken := domains[l]; taken {
				c.add(at(vp, index("domains", j)), "%q is also a domain of %s (domains ignore case)", d, other)
				continue
			}
			domains[l] = vp
		}
		for _, a := range vh.APIListeners {
			apiListeners[a] = vp
		}
		for j, r := range vh.Routes {
			if r == nil || r.Direct != nil {
				continue
			}
			rp := at(vp, index("routes", j))
			for k, wc := range r.Clusters {
				if wc.Name != "" && !clusters[wc.Name] {
					c.add(at(rp, index("clusters", k)), "cluster %q is not one of the fleet's clusters", wc.Name)
				}
			}
			for k, m := range r.Mirrors {
				if m.Cluster != "" && !clusters[m.Cluster] {
					c.add(at(rp, index("mirrors", k)), "cluster %q is not one of the fleet's clusters", m.Cluster)
				}
			}
		}
	}

	listenerPaths := named(c, fp, "listeners", f.Listeners, func(l *Listener) string { return l.Name })
	for i, l := range f.Listeners {
		if l == nil {
			continue
		}
		lp := listenerPaths[i]
		c.listener(lp, l)
		// A listener's RouteConfiguration has the listener's name, an API
		// listener's the domain's: the names must differ.
		if vp, clash := apiListeners[l.Name]; clash {
			c.add(lp, "an API listener of %s has the same name", vp)
		}
		vhs := named(c, lp, "virtualHosts", l.VirtualHosts, func(vh *VirtualHost) string { return vh.Name })
		for j, vh := range l.VirtualHosts {
			switch {
			case vh == nil || mine[vh]:
			case byName[vh.Name]:
				c.add(vhs[j], "not the fleet's virtual host of that name but a copy (it must point into the fleet's virtualHosts)")
			default:
				c.add(vhs[j], "not one of the fleet's virtual hosts")
			}
		}
	}
}

func (c *irCheck) listener(lp string, l *Listener) {
	if a, err := netip.ParseAddr(l.Address); err != nil || a.Zone() != "" {
		c.add(lp, "address %q is not an IP address", l.Address)
	}
	c.port(lp, l.Port)
	if l.Gateway == (ident.Ref{}) {
		c.add(lp, "no gateway")
	}
}

func (c *irCheck) port(path string, p uint32) {
	if p < 1 || p > 65535 {
		c.add(path, "port %d is not between 1 and 65535", p)
	}
}

func (c *irCheck) virtualHost(vp string, vh *VirtualHost) {
	if vh == nil {
		c.add(vp, "nil")
		return
	}
	if len(vh.Domains) == 0 {
		c.add(vp, "no domains")
	}
	seen := make(map[string]bool, len(vh.Domains))
	for i, d := range vh.Domains {
		dp := at(vp, index("domains", i))
		if n := strings.Count(d, "*"); d == "" || !headerSafe(d) || n > 1 || (n == 1 && d != "*" && !strings.HasPrefix(d, "*") && !strings.HasSuffix(d, "*")) {
			c.add(dp, "%q is not a valid domain", d)
		}
		l := strings.ToLower(d)
		if seen[l] {
			c.add(dp, "%q appears more than once (domains ignore case)", d)
		}
		seen[l] = true
	}
	apis := make(map[string]bool, len(vh.APIListeners))
	for i, a := range vh.APIListeners {
		ap := at(vp, index("apiListeners", i))
		switch {
		case v1alpha1.HasWildcard(a):
			c.add(ap, "%q has a wildcard", a)
		case !contains(vh.Domains, a):
			c.add(ap, "%q is not one of the virtual host's domains", a)
		case apis[a]:
			c.add(ap, "%q appears more than once", a)
		}
		apis[a] = true
	}
	// Emit attributes resources to Origins[0], the VirtualService.
	if len(vh.Origins) == 0 {
		c.add(vp, "no origins")
	}
	for i, r := range vh.Routes {
		c.route(at(vp, index("routes", i)), r)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (c *irCheck) route(rp string, r *Route) {
	if r == nil {
		c.add(rp, "nil")
		return
	}
	if len(r.Matches) == 0 {
		c.add(rp, "no matches: the route would not be served")
	}
	for i := range r.Matches {
		c.match(at(rp, index("matches", i)), &r.Matches[i])
	}
	switch {
	case r.Direct != nil && len(r.Clusters) > 0:
		c.add(rp, "both a direct response and clusters")
	case r.Direct != nil:
		if r.Direct.Status < 200 || r.Direct.Status > 599 {
			c.add(at(rp, "direct"), "status %d is not between 200 and 599", r.Direct.Status)
		}
		var ignored []string
		for _, o := range []struct {
			set  bool
			name string
		}{
			{r.Weighted, "weighted"}, {r.UseHashPolicy, "useHashPolicy"}, {r.Timeout != nil, "timeout"}, {r.Retry != nil, "retry"},
			{r.PrefixRewrite != nil, "prefixRewrite"}, {len(r.Mirrors) > 0, "mirrors"}, {len(r.HashPolicies) > 0, "hashPolicies"},
		} {
			if o.set {
				ignored = append(ignored, o.name)
			}
		}
		if len(ignored) > 0 {
			c.add(rp, "direct response with forwarding options (%s)", strings.Join(ignored, ", "))
		}
		return
	case len(r.Clusters) == 0 && r.Weighted:
		c.add(rp, "weighted route with no clusters")
	case len(r.Clusters) == 0:
		c.add(rp, "no action: neither a direct response nor clusters")
	case !r.Weighted && len(r.Clusters) > 1:
		c.add(rp, "%d clusters but not weighted: all but the first would be ignored", len(r.Clusters))
	}
	switch {
	case r.UseHashPolicy && !r.Weighted:
		c.add(rp, "useHashPolicy on a route that is not weighted")
	case r.UseHashPolicy && len(r.HashPolicies) == 0:
		c.add(rp, "useHashPolicy with no hash policy: Envoy would pick at random")
	}
	var total uint64
	for i, wc := range r.Clusters {
		if wc.Name == "" {
			c.add(at(rp, index("clusters", i)), "no cluster name")
		}
		total += uint64(wc.Weight)
	}
	if r.Weighted && len(r.Clusters) > 0 {
		switch {
		case total == 0:
			c.add(rp, "weighted route with a total weight of 0")
		case total > math.MaxUint32:
			c.add(rp, "weights add up to %d, more than 4294967295", total)
		}
	}
	for i, m := range r.Mirrors {
		mp := at(rp, index("mirrors", i))
		if m.Cluster == "" {
			c.add(mp, "no cluster name")
		}
		if m.PerMillion > 1000000 {
			c.add(mp, "perMillion %d is more than 1000000", m.PerMillion)
		}
	}
	if r.Timeout != nil && *r.Timeout < 0 {
		c.add(at(rp, "timeout"), "negative")
	}
	if rt := r.Retry; rt != nil {
		if rt.PerTryTimeout < 0 {
			c.add(at(rp, "retry.perTryTimeout"), "negative")
		}
		if !headerSafe(rt.RetryOn) {
			c.add(at(rp, "retry.retryOn"), "has control characters")
		}
	}
	if r.PrefixRewrite != nil && !headerSafe(*r.PrefixRewrite) {
		c.add(at(rp, "prefixRewrite"), "has control characters")
	}
	for i, h := range r.HashPolicies {
		hp := at(rp, index("hashPolicies", i))
		n := 0
		for _, set := range []bool{h.Header != "", h.Cookie != "", h.SourceIP} {
			if set {
				n++
			}
		}
		if n != 1 {
			c.add(hp, "exactly one of header, cookie and sourceIP must be set, not %d", n)
		}
		if !headerSafe(h.Header) {
			c.add(hp, "header %q is not a valid header name", h.Header)
		}
		if (h.CookieTTL != nil || h.CookiePath != "") && h.Cookie == "" {
			c.add(hp, "cookieTTL or cookiePath without a cookie")
		}
		if h.CookieTTL != nil && *h.CookieTTL < 0 {
			c.add(at(hp, "cookieTTL"), "negative")
		}
		if !headerSafe(h.Cookie) || !headerSafe(h.CookiePath) {
			c.add(hp, "cookie %q or path %q has control characters", h.Cookie, h.CookiePath)
		}
	}
}

func (c *irCheck) match(mp string, m *Match) {
	switch m.PathKind {
	case PathPrefix, PathExact:
		if !strings.HasPrefix(m.Path, "/") {
			c.add(mp, "%s path %q does not start with /", m.PathKind, m.Path)
		}
	case PathRegex:
		c.regex(mp, m.Path)
	default:
		c.add(mp, "unknown pathKind %s", m.PathKind)
	}
	for i, h := range m.Headers {
		hp := at(mp, index("headers", i))
		if h.Name == "" || !headerSafe(h.Name) {
			c.add(hp, "%q is not a valid header name", h.Name)
		}
		if h.Regex {
			c.regex(hp, h.Value)
		}
	}
	for i, q := range m.Query {
		qp := at(mp, index("query", i))
		if q.Name == "" || len(q.Name) > maxQueryName {
			c.add(qp, "name must be 1 to %d bytes", maxQueryName)
		}
		if q.Regex {
			c.regex(qp, q.Value)
		}
	}
	for i, meth := range m.Methods {
		if meth == "" || strings.ToUpper(meth) != meth {
			c.add(at(mp, index("methods", i)), "%q is not an upper-case HTTP method", meth)
		}
	}
}

func (c *irCheck) regex(path, re string) {
	if _, err := regexp.Compile(re); err != nil {
		c.add(path, "%q is not an RE2 regular expression: %v", re, err)
	}
}

func (c *irCheck) cluster(cp string, cl *Cluster) {
	if cl == nil {
		c.add(cp, "nil")
		return
	}
	if cl.Upstream == (ident.Ref{}) {
		c.add(cp, "no upstream")
	}
	if cl.ConnectTimeout < 0 {
		c.add(at(cp, "connectTimeout"), "negative")
	}
	for i := range cl.HealthChecks {
		c.healthCheck(at(cp, index("healthChecks", i)), &cl.HealthChecks[i])
	}
	if od := cl.Outlier; od != nil {
		if od.Interval < 0 || od.BaseEjectionTime < 0 {
			c.add(at(cp, "outlier"), "negative duration")
		}
		if od.MaxEjectionPercent != nil && *od.MaxEjectionPercent > 100 {
			c.add(at(cp, "outlier.maxEjectionPercent"), "%d is more than 100", *od.MaxEjectionPercent)
		}
	}
	c.loadBalancer(at(cp, "lb"), &cl.LB)
	if t := cl.TLS; t != nil {
		if len(t.SNI) > maxSNI {
			c.add(at(cp, "tls.sni"), "longer than %d bytes", maxSNI)
		}
		if t.RootCA != "" && t.RootCAFile != "" {
			c.add(at(cp, "tls"), "both rootCA and rootCAFile")
		}
	}
	c.localities(cp, cl.Localities)
}

func (c *irCheck) healthCheck(hp string, h *HealthCheck) {
	if h.Timeout <= 0 || h.Interval <= 0 {
		c.add(hp, "timeout and interval must be positive")
	}
	if h.Unhealthy == 0 || h.Healthy == 0 {
		c.add(hp, "thresholds must be at least 1")
	}
	switch h.Kind {
	case HealthCheckHTTP:
		if !strings.HasPrefix(h.Path, "/") || !headerSafe(h.Path) || !headerSafe(h.Host) {
			c.add(hp, "http path must start with / and path and host be valid in a request")
		}
	case HealthCheckTCP:
	case HealthCheckGRPC:
		if !headerSafe(h.Authority) {
			c.add(hp, "grpc authority has control characters")
		}
	default:
		c.add(hp, "unknown kind %s", h.Kind)
	}
}

func (c *irCheck) loadBalancer(lp string, lb *LoadBalancer) {
	switch lb.Policy {
	case LBRoundRobin, LBLeastRequest, LBRandom, LBRingHash:
	default:
		c.add(lp, "unknown policy %s", lb.Policy)
	}
	if lb.ChoiceCount != nil {
		if lb.Policy != LBLeastRequest {
			c.add(lp, "choiceCount with policy %s", lb.Policy)
		} else if *lb.ChoiceCount < 2 {
			c.add(lp, "choiceCount %d is less than 2", *lb.ChoiceCount)
		}
	}
	if lb.MinimumRingSize != nil || lb.MaximumRingSize != nil {
		if lb.Policy != LBRingHash {
			c.add(lp, "ring sizes with policy %s", lb.Policy)
		}
		for _, v := range []*uint64{lb.MinimumRingSize, lb.MaximumRingSize} {
			if v != nil && *v > maxRingSize {
				c.add(lp, "ring size %d is more than %d", *v, maxRingSize)
			}
		}
		if lb.MinimumRingSize != nil && lb.MaximumRingSize != nil && *lb.MinimumRingSize > *lb.MaximumRingSize {
			c.add(lp, "minimumRingSize is more than maximumRingSize")
		}
	}
}

// localities checks what gRPC and Envoy need of an assignment: localities
// sorted by region and zone, once each, each weighted by the sum of its
// endpoints' weights (all at least 1), 32 bits in all; endpoints sorted by
// address and port, with IP addresses and valid ports.
func (c *irCheck) localities(cp string, ls []Locality) {
	var total uint64
	for i := range ls {
		l := &ls[i]
		lp := at(cp, index("localities", i))
		if i > 0 {
			p := &ls[i-1]
			switch {
			case p.Region == l.Region && p.Zone == l.Zone:
				c.add(lp, "region %q zone %q appears more than once", l.Region, l.Zone)
			case p.Region > l.Region || (p.Region == l.Region && p.Zone > l.Zone):
				c.add(lp, "not sorted by region and zone")
			}
		}
		if len(l.Endpoints) == 0 {
			c.add(lp, "no endpoints")
		}
		var sum uint64
		for j, e := range l.Endpoints {
			ep := at(lp, index("endpoints", j))
			if a, err := netip.ParseAddr(e.Address); err != nil || a.Zone() != "" {
				c.add(ep, "address %q is not an IP address", e.Address)
			}
			c.port(ep, e.Port)
			if e.Weight == 0 {
				c.add(ep, "weight 0 (must be at least 1)")
			}
			if j > 0 {
				p := l.Endpoints[j-1]
				if p.Address > e.Address || (p.Address == e.Address && p.Port > e.Port) {
					c.add(ep, "not sorted by address and port")
				}
			}
			sum += uint64(e.Weight)
		}
		if uint64(l.Weight) != sum {
			c.add(lp, "weight %d is not the sum of its endpoints' weights (%d)", l.Weight, sum)
		}
		total += uint64(l.Weight)
	}
	if total > math.MaxUint32 {
		c.add(at(cp, "localities"), "weights add up to %d, more than 4294967295", total)
	}
}
