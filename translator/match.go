package translator

import (
	"regexp"
	"strconv"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// maxQueryName is Envoy's limit on a query parameter matcher's name.
const maxQueryName = 1024

// matchesIR converts a route's matchers; no matcher matches everything.
// Problems Validate does not catch but Envoy would (control characters in
// header names) reject the VirtualService.
func matchesIR(p *problems, fieldPath string, ms []v1alpha1.Matcher) []Match {
	if len(ms) == 0 {
		return []Match{{PathKind: PathPrefix, Path: "/"}}
	}
	out := make([]Match, 0, len(ms))
	for i := range ms {
		m := &ms[i]
		fp := fieldPath + ".matchers[" + strconv.Itoa(i) + "]"
		var mt Match
		switch {
		case m.Prefix != "":
			mt.PathKind, mt.Path = PathPrefix, m.Prefix
		case m.Exact != "":
			mt.PathKind, mt.Path = PathExact, m.Exact
		case m.Regex != "":
			mt.PathKind, mt.Path = PathRegex, m.Regex
		default:
			mt.PathKind, mt.Path = PathPrefix, "/"
		}
		mt.CaseSensitive = m.CaseSensitive
		if len(m.Headers) > 0 {
			mt.Headers = make([]HeaderMatch, 0, len(m.Headers))
			for j, h := range m.Headers {
				if h.Name == "" || !headerSafe(h.Name) {
					p.reject(fp+".headers["+strconv.Itoa(j)+"].name", "not a valid header name")
					continue
				}
				mt.Headers = append(mt.Headers, HeaderMatch{Name: h.Name, Value: h.Value, Regex: h.Regex, Invert: h.InvertMatch})
			}
		}
		if len(m.QueryParameters) > 0 {
			mt.Query = make([]QueryMatch, 0, len(m.QueryParameters))
			for j, q := range m.QueryParameters {
				if q.Name == "" || len(q.Name) > maxQueryName {
					p.reject(fp+".queryParameters["+strconv.Itoa(j)+"].name", "must be 1 to 1024 bytes")
					continue
				}
				mt.Query = append(mt.Query, QueryMatch{Name: q.Name, Value: q.Value, Regex: q.Regex})
			}
		}
		mt.Methods = m.Methods
		out = append(out, mt)
	}
	return out
}

// buildMatch makes an Envoy RouteMatch.
func buildMatch(m *Match) *routev3.RouteMatch {
	if m.PathKind == PathPrefix && m.Path == "/" && m.CaseSensitive == nil && len(m.Headers) == 0 && len(m.Query) == 0 && len(m.Methods) == 0 {
		return matchEverything
	}
	rm := &routev3.RouteMatch{}
	switch m.PathKind {
	case PathPrefix:
		rm.PathSpecifier = &routev3.RouteMatch_Prefix{Prefix: m.Path}
	case PathExact:
		rm.PathSpecifier = &routev3.RouteMatch_Path{Path: m.Path}
	case PathRegex:
		rm.PathSpecifier = &routev3.RouteMatch_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: m.Path}}
	}
	if m.CaseSensitive != nil {
		rm.CaseSensitive = wrapperspb.Bool(*m.CaseSensitive)
	}
	n := len(m.Headers)
	if len(m.Methods) > 0 {
		n++
	}
	if n > 0 {
		rm.Headers = make([]*routev3.HeaderMatcher, 0, n)
		for i := range m.Headers {
			h := &m.Headers[i]
			hm := &routev3.HeaderMatcher{Name: h.Name, InvertMatch: h.Invert}
			switch {
			case h.Value == "":
				hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_PresentMatch{PresentMatch: true}
			default:
				hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_StringMatch{StringMatch: stringMatcher(h.Value, h.Regex)}
			}
			rm.Headers = append(rm.Headers, hm)
		}
		if len(m.Methods) > 0 {
			rm.Headers = append(rm.Headers, methodMatcher(m.Methods))
		}
	}
	if len(m.Query) > 0 {
		rm.QueryParameters = make([]*routev3.QueryParameterMatcher, 0, len(m.Query))
		for i := range m.Query {
			q := &m.Query[i]
			qm := &routev3.QueryParameterMatcher{Name: q.Name}
			if q.Value == "" {
				qm.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_PresentMatch{PresentMatch: true}
			} else {
				qm.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_StringMatch{StringMatch: stringMatcher(q.Value, q.Regex)}
			}
			rm.QueryParameters = append(rm.QueryParameters, qm)
		}
	}
	return rm
}

func stringMatcher(v string, regex bool) *matcherv3.StringMatcher {
	if regex {
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: v}}}
	}
	return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: v}}
}

// methodMatcher matches :method: exactly for one method, with an anchored
// alternation for several.
func methodMatcher(methods []string) *routev3.HeaderMatcher {
	if len(methods) == 1 {
		return &routev3.HeaderMatcher{Name: ":method", HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: stringMatcher(methods[0], false)}}
	}
	var b strings.Builder
	b.WriteString("^(")
	for i, m := range methods {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(regexp.QuoteMeta(m))
	}
	b.WriteString(")$")
	return &routev3.HeaderMatcher{Name: ":method", HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: stringMatcher(b.String(), true)}}
}
