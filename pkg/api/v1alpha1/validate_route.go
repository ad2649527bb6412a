package v1alpha1

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate returns every problem with the UpstreamGroup.
func (g *UpstreamGroup) Validate() field.ErrorList {
	errs := validateMeta(&g.ObjectMeta)
	return append(errs, validateWeights(field.NewPath("spec", "destinations"), g.Spec.Destinations)...)
}

// Validate returns every problem with the VirtualService. Rules that need
// other objects (references that exist, domains owned by another
// VirtualService) are the translator's.
func (v *VirtualService) Validate() field.ErrorList {
	errs := validateMeta(&v.ObjectMeta)
	vh := field.NewPath("spec", "virtualHost")
	if len(v.Spec.VirtualHost.Domains) == 0 {
		errs = append(errs, field.Required(vh.Child("domains"), "at least one domain is needed (\"*\" matches any)"))
	}
	seen := map[string]bool{}
	for i, d := range v.Spec.VirtualHost.Domains {
		dp := vh.Child("domains").Index(i)
		if seen[d] {
			errs = append(errs, field.Duplicate(dp, d))
			continue
		}
		seen[d] = true
		errs = append(errs, validateDomain(dp, d)...)
	}
	for i := range v.Spec.VirtualHost.Routes {
		errs = append(errs, validateRoute(vh.Child("routes").Index(i), &v.Spec.VirtualHost.Routes[i])...)
	}
	return errs
}

func validateDomain(p *field.Path, d string) field.ErrorList {
	if d == "" {
		return field.ErrorList{field.Required(p, "a domain may not be empty")}
	}
	if strings.ContainsAny(d, " \t/") {
		return field.ErrorList{field.Invalid(p, d, "a domain may not contain spaces or slashes")}
	}
	if n := strings.Count(d, "*"); n > 1 || (n == 1 && d != "*" && !strings.HasPrefix(d, "*") && !strings.HasSuffix(d, "*")) {
		return field.ErrorList{field.Invalid(p, d, "a wildcard must be the whole domain or its first or last character")}
	}
	return nil
}

// HasWildcard reports whether a domain is a wildcard (no API listener for it).
func HasWildcard(domain string) bool { return strings.Contains(domain, "*") }

func validateRoute(p *field.Path, r *Route) field.ErrorList {
	var errs field.ErrorList
	for i := range r.Matchers {
		errs = append(errs, validateMatcher(p.Child("matchers").Index(i), &r.Matchers[i])...)
	}
	ap := p.Child("routeAction")
	a := r.RouteAction
	if a == nil {
		errs = append(errs, field.Required(ap, "one of single, multi or upstreamGroup is needed"))
	} else {
		n := 0
		if a.Single != nil {
			n++
			errs = append(errs, validateRef(ap.Child("single", "upstream"), a.Single.Upstream)...)
		}
		if a.Multi != nil {
			n++
			errs = append(errs, validateWeights(ap.Child("multi", "destinations"), a.Multi.Destinations)...)
		}
		if a.UpstreamGroup != nil {
			n++
			errs = append(errs, validateRef(ap.Child("upstreamGroup"), *a.UpstreamGroup)...)
		}
		if n != 1 {
			errs = append(errs, field.Invalid(ap, n, "exactly one of single, multi or upstreamGroup is needed"))
		}
	}
	if o := r.Options; o != nil {
		errs = append(errs, validateRouteOptions(p.Child("options"), o)...)
	}
	return errs
}

func validateMatcher(p *field.Path, m *Matcher) field.ErrorList {
	var errs field.ErrorList
	n := 0
	if m.Prefix != "" {
		n++
		if m.Prefix[0] != '/' {
			errs = append(errs, field.Invalid(p.Child("prefix"), m.Prefix, "must start with /"))
		}
	}
	if m.Exact != "" {
		n++
		if m.Exact[0] != '/' {
			errs = append(errs, field.Invalid(p.Child("exact"), m.Exact, "must start with /"))
		}
	}
	if m.Regex != "" {
		n++
		errs = append(errs, validateRegex(p.Child("regex"), m.Regex)...)
	}
	if n > 1 {
		errs = append(errs, field.Invalid(p, n, "at most one of prefix, exact or regex may be set"))
	}
	for i, h := range m.Headers {
		hp := p.Child("headers").Index(i)
		if h.Name == "" {
			errs = append(errs, field.Required(hp.Child("name"), "a header matcher needs a name"))
		}
		if h.Regex {
			errs = append(errs, validateRegex(hp.Child("value"), h.Value)...)
		}
	}
	for i, q := range m.QueryParameters {
		qp := p.Child("queryParameters").Index(i)
		if q.Name == "" {
			errs = append(errs, field.Required(qp.Child("name"), "a query parameter matcher needs a name"))
		}
		if q.Regex {
			errs = append(errs, validateRegex(qp.Child("value"), q.Value)...)
		}
	}
	for i, meth := range m.Methods {
		if meth == "" || strings.ToUpper(meth) != meth || strings.ContainsAny(meth, " \t|()") {
			errs = append(errs, field.Invalid(p.Child("methods").Index(i), meth, "an HTTP method in capitals, e.g. GET"))
		}
	}
	return errs
}

// retryConditions are Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on values.
var retryConditions = map[string]bool{
	"5xx": true, "gateway-error": true, "reset": true, "reset-before-request": true,
	"connect-failure": true, "envoy-ratelimited": true, "retriable-4xx": true,
	"refused-stream": true, "retriable-status-codes": true, "retriable-headers": true,
	"http3-post-connect-failure": true,
	"cancelled":                  true, "deadline-exceeded": true, "internal": true,
	"resource-exhausted": true, "unavailable": true,
}

func validateRouteOptions(p *field.Path, o *RouteOptions) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateDuration(p.Child("timeout"), o.Timeout, false)...)
	if r := o.Retries; r != nil {
		rp := p.Child("retries")
		errs = append(errs, validateDuration(rp.Child("perTryTimeout"), r.PerTryTimeout, true)...)
		if r.RetryOn != "" {
			for _, c := range strings.Split(r.RetryOn, ",") {
				if c = strings.TrimSpace(c); !retryConditions[c] {
					errs = append(errs, field.NotSupported(rp.Child("retryOn"), c, sortedKeys(retryConditions)))
				}
			}
		}
	}
	if s := o.Shadowing; s != nil {
		errs = append(errs, validateMirror(p.Child("shadowing"), s)...)
	}
	for i := range o.Mirrors {
		errs = append(errs, validateMirror(p.Child("mirrors").Index(i), &o.Mirrors[i])...)
	}
	for i, h := range o.HashPolicies {
		n := 0
		if h.Header != "" {
			n++
		}
		if h.Cookie != "" {
			n++
		}
		if h.SourceIp {
			n++
		}
		if n != 1 {
			errs = append(errs, field.Invalid(p.Child("hashPolicies").Index(i), n, "exactly one of header, cookie or sourceIp is needed"))
		}
	}
	return errs
}

func validateMirror(p *field.Path, m *Mirror) field.ErrorList {
	errs := validateRef(p.Child("upstream"), m.Upstream)
	return append(errs, validatePercentage(p.Child("percentage"), m.Percentage)...)
}
