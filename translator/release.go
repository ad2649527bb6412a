package translator

import (
	"regexp"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// What a Canary's release strategy adds to the routes that use its group
// (GroupOverride.Stickiness and Cohort; see compiler.release).

// stickyHash is the hash policy of a Canary's stickiness: the header, or
// the cookie, which Envoy sets (with the TTL and path) when a request has
// none. bad says why it cannot be used.
func stickyHash(st *v1alpha1.CanaryStickiness) (h *HashPolicy, bad string) {
	switch {
	case st.Header != "" && st.Cookie == nil:
		if !headerSafe(st.Header) {
			return nil, "header " + st.Header + " is not a valid header name"
		}
		return &HashPolicy{Header: st.Header}, ""
	case st.Header == "" && st.Cookie != nil && st.Cookie.Name != "":
		ck := st.Cookie
		ttl, err := ck.TTL.Parse()
		if ck.TTL == "" {
			ttl, err = v1alpha1.DefaultStickyCookieTTL.Parse()
		}
		if err != nil || ttl < 0 {
			return nil, "cookie TTL " + string(ck.TTL) + " is not a duration"
		}
		path := ck.Path
		if path == "" {
			path = "/"
		}
		if !headerSafe(ck.Name) || !headerSafe(path) {
			return nil, "cookie name or path has control characters"
		}
		return &HashPolicy{Cookie: ck.Name, CookieTTL: &ttl, CookiePath: path}, ""
	}
	return nil, "exactly one of header or cookie must be given"
}

// addHash appends h to a route's hash policies unless one equal is there.
func addHash(hs []HashPolicy, h HashPolicy) []HashPolicy {
	for _, x := range hs {
		if x.Header == h.Header && x.Cookie == h.Cookie && x.SourceIP == h.SourceIP &&
			x.CookiePath == h.CookiePath && (x.CookieTTL == nil) == (h.CookieTTL == nil) &&
			(x.CookieTTL == nil || *x.CookieTTL == *h.CookieTTL) {
			return hs
		}
	}
	out := make([]HashPolicy, 0, len(hs)+1)
	return append(append(out, hs...), h)
}

// cohortHeaders are the header matches that select an abTest cohort: its
// headers, and its cookie as a regex on the cookie header. bad says why
// they cannot be used.
func cohortHeaders(ab *v1alpha1.CanaryABTest) (hs []HeaderMatch, bad string) {
	for _, h := range ab.Headers {
		if h.Name == "" || !headerSafe(h.Name) || !headerSafe(h.Value) {
			return nil, "header " + h.Name + " is not a valid header match"
		}
		if h.Regex {
			if _, err := regexp.Compile(h.Value); err != nil {
				return nil, "header " + h.Name + ": " + err.Error()
			}
		}
		hs = append(hs, HeaderMatch{Name: h.Name, Value: h.Value, Regex: h.Regex, Invert: h.InvertMatch})
	}
	if ck := ab.Cookie; ck != nil {
		if ck.Name == "" || ck.Value == "" || !headerSafe(ck.Name) || !headerSafe(ck.Value) {
			return nil, "cookie " + ck.Name + " is not a valid cookie match"
		}
		hs = append(hs, HeaderMatch{Name: "cookie", Value: cookieRegex(ck.Name, ck.Value), Regex: true})
	}
	if len(hs) == 0 {
		return nil, "no header or cookie selects the cohort"
	}
	return hs, ""
}

// cookieRegex matches a cookie header (RE2, matched whole, as Envoy's
// safe_regex does) that carries name=value among other cookies: "a=1;
// name=value; b=2". Both are quoted, so a '.' or '+' in them is literal.
// Envoy joins several cookie headers with "; ".
func cookieRegex(name, value string) string {
	return `(.*;)?[ \t]*` + regexp.QuoteMeta(name) + `=` + regexp.QuoteMeta(value) + `[ \t]*(;.*)?`
}

// cohortRoute is the route an abTest cohort adds before rt: the same
// matches plus the cohort's headers, the same options, everything to the
// canary cluster.
func cohortRoute(rt *Route, ch *cohort) *Route {
	cr := *rt
	cr.Name = "cohort"
	if rt.Name != "" {
		cr.Name = rt.Name + "-cohort"
	}
	cr.Matches = make([]Match, len(rt.Matches))
	for i, m := range rt.Matches {
		m.Headers = append(append(make([]HeaderMatch, 0, len(m.Headers)+len(ch.headers)), m.Headers...), ch.headers...)
		cr.Matches[i] = m
	}
	cr.Clusters = []WeightedCluster{{Name: ch.cluster, Weight: 1}}
	cr.Weighted, cr.UseHashPolicy = false, false
	return &cr
}
