package v1alpha1

import (
	"net"
	"net/url"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate returns every problem with the Gateway.
func (g *Gateway) Validate() field.ErrorList {
	errs := validateMeta(&g.ObjectMeta)
	p := field.NewPath("spec")
	if a := g.Spec.BindAddress; a != "" && net.ParseIP(a) == nil {
		errs = append(errs, field.Invalid(p.Child("bindAddress"), a, "must be an IP address, e.g. :: or 0.0.0.0"))
	}
	if g.Spec.BindPort != 0 {
		errs = append(errs, validatePort(p.Child("bindPort"), g.Spec.BindPort)...)
	}
	if f := g.Spec.Fleet; f != "" {
		for _, msg := range validation.IsDNS1123Subdomain(f) {
			errs = append(errs, field.Invalid(p.Child("fleet"), f, msg))
		}
	}
	for i, r := range g.Spec.VirtualServices {
		errs = append(errs, validateRef(p.Child("virtualServices").Index(i), r)...)
	}
	return errs
}

// Validate returns every problem with the Canary.
func (c *Canary) Validate() field.ErrorList {
	errs := validateMeta(&c.ObjectMeta)
	p := field.NewPath("spec")
	s := &c.Spec
	errs = append(errs, validateRef(p.Child("upstreamGroup"), s.UpstreamGroup)...)
	errs = append(errs, validateRef(p.Child("stable"), s.Stable)...)
	errs = append(errs, validateRef(p.Child("canary"), s.Canary)...)
	if s.Stable.In(c.Namespace) == s.Canary.In(c.Namespace) && s.Stable.Name != "" {
		errs = append(errs, field.Invalid(p.Child("canary"), s.Canary.Name, "must differ from spec.stable"))
	}
	if m := s.Mirror; m != nil {
		errs = append(errs, validatePercentage(p.Child("mirror", "percentage"), m.Percentage)...)
		if m.Duration == "" {
			errs = append(errs, field.Required(p.Child("mirror", "duration"), "how long to mirror before the first step"))
		}
		errs = append(errs, validateDuration(p.Child("mirror", "duration"), m.Duration, true)...)
	}
	errs = append(errs, validateStrategy(p, s)...)
	prev := int32(-1)
	for i, st := range s.Steps {
		sp := p.Child("steps").Index(i)
		if st.Weight < 0 || st.Weight > 100 {
			errs = append(errs, field.Invalid(sp.Child("weight"), st.Weight, "must be between 0 and 100"))
		} else if st.Weight <= prev {
			errs = append(errs, field.Invalid(sp.Child("weight"), st.Weight, "steps must increase"))
		}
		prev = st.Weight
		errs = append(errs, validateDuration(sp.Child("pause"), st.Pause, false)...)
	}
	if s.StepWeight != nil && (*s.StepWeight < 1 || *s.StepWeight > 100) {
		errs = append(errs, field.Invalid(p.Child("stepWeight"), *s.StepWeight, "must be between 1 and 100"))
	}
	if s.MaxWeight != nil && (*s.MaxWeight < 1 || *s.MaxWeight > 100) {
		errs = append(errs, field.Invalid(p.Child("maxWeight"), *s.MaxWeight, "must be between 1 and 100"))
	}
	errs = append(errs, validateAnalysis(p.Child("analysis"), &s.Analysis)...)
	for i, w := range s.Webhooks {
		wp := p.Child("webhooks").Index(i)
		if w.Name == "" {
			errs = append(errs, field.Required(wp.Child("name"), "a webhook needs a name"))
		}
		if !webhookTypes[w.Type] {
			errs = append(errs, field.NotSupported(wp.Child("type"), w.Type, sortedKeys(webhookTypeNames)))
		}
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, field.Invalid(wp.Child("url"), w.URL, "must be an absolute http or https URL"))
		}
		errs = append(errs, validateDuration(wp.Child("timeout"), w.Timeout, true)...)
	}
	return errs
}

// validateStrategy checks what each strategy needs: steps for canary, a
// mirror phase for blueGreen, a cohort for abTest; and the stickiness.
func validateStrategy(p *field.Path, s *CanarySpec) field.ErrorList {
	var errs field.ErrorList
	switch s.Strategy {
	case "", StrategyCanary:
		switch {
		case len(s.Steps) > 0 && s.StepWeight != nil:
			errs = append(errs, field.Invalid(p.Child("stepWeight"), *s.StepWeight, "only one of steps or stepWeight may be set"))
		case len(s.Steps) == 0 && s.StepWeight == nil:
			errs = append(errs, field.Required(p.Child("steps"), "steps (or stepWeight with maxWeight) are needed"))
		}
	case StrategyBlueGreen, StrategyABTest:
		if len(s.Steps) > 0 || s.StepWeight != nil {
			errs = append(errs, field.Invalid(p.Child("steps"), len(s.Steps), "the "+string(s.Strategy)+" strategy switches all traffic at once: steps and stepWeight are for strategy canary"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("strategy"), s.Strategy, []string{string(StrategyCanary), string(StrategyBlueGreen), string(StrategyABTest)}))
	}
	if s.Strategy == StrategyBlueGreen && s.Mirror == nil {
		errs = append(errs, field.Required(p.Child("mirror"), "blueGreen checks the new version on mirrored traffic before the switch"))
	}
	ap := p.Child("abTest")
	switch {
	case s.Strategy == StrategyABTest && s.ABTest == nil:
		errs = append(errs, field.Required(ap, "abTest needs the cohort's headers or cookie"))
	case s.Strategy != StrategyABTest && s.ABTest != nil:
		errs = append(errs, field.Invalid(ap, "", "only for strategy abTest"))
	case s.ABTest != nil:
		if len(s.ABTest.Headers) == 0 && s.ABTest.Cookie == nil {
			errs = append(errs, field.Required(ap, "at least one header or a cookie selects the cohort"))
		}
		for i, h := range s.ABTest.Headers {
			hp := ap.Child("headers").Index(i)
			if h.Name == "" {
				errs = append(errs, field.Required(hp.Child("name"), "a header matcher needs a name"))
			}
			if h.Regex {
				errs = append(errs, validateRegex(hp.Child("value"), h.Value)...)
			}
		}
		if c := s.ABTest.Cookie; c != nil {
			errs = append(errs, validateCookieName(ap.Child("cookie", "name"), c.Name)...)
			if c.Value == "" || strings.ContainsAny(c.Value, ";, \t\"") {
				errs = append(errs, field.Invalid(ap.Child("cookie", "value"), c.Value, "must be a non-empty cookie value without ';', ',', spaces or quotes"))
			}
		}
		errs = append(errs, validateDuration(ap.Child("duration"), s.ABTest.Duration, false)...)
	}
	if st := s.Stickiness; st != nil {
		sp := p.Child("stickiness")
		switch {
		case (st.Header == "") == (st.Cookie == nil):
			errs = append(errs, field.Invalid(sp, "", "exactly one of header or cookie"))
		case st.Header != "":
			if msgs := validation.IsHTTPHeaderName(st.Header); len(msgs) > 0 {
				errs = append(errs, field.Invalid(sp.Child("header"), st.Header, strings.Join(msgs, "; ")))
			}
		default:
			errs = append(errs, validateCookieName(sp.Child("cookie", "name"), st.Cookie.Name)...)
			errs = append(errs, validateDuration(sp.Child("cookie", "ttl"), st.Cookie.TTL, true)...)
			if st.Cookie.Path != "" && !strings.HasPrefix(st.Cookie.Path, "/") {
				errs = append(errs, field.Invalid(sp.Child("cookie", "path"), st.Cookie.Path, "must start with /"))
			}
		}
	}
	return errs
}

// validateCookieName accepts an RFC 6265 token.
func validateCookieName(p *field.Path, name string) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "a cookie needs a name")}
	}
	for _, r := range name {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return field.ErrorList{field.Invalid(p, name, "must be a cookie name (an RFC 6265 token)")}
		}
	}
	return nil
}

func validateAnalysis(p *field.Path, a *CanaryAnalysis) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateDuration(p.Child("bakeTime"), a.BakeTime, false)...)
	errs = append(errs, validateDuration(p.Child("interval"), a.Interval, true)...)
	errs = append(errs, validateDuration(p.Child("maxStepDuration"), a.MaxStepDuration, true)...)
	errs = append(errs, validateDuration(p.Child("maxLatencyP99"), a.MaxLatencyP99, true)...)
	if a.MinRequests != nil && *a.MinRequests < 0 {
		errs = append(errs, field.Invalid(p.Child("minRequests"), *a.MinRequests, "must be >= 0"))
	}
	if a.MaxErrorRate != nil {
		errs = append(errs, validatePercentage(p.Child("maxErrorRate"), *a.MaxErrorRate)...)
	}
	if a.FailureLimit != nil && *a.FailureLimit < 1 {
		errs = append(errs, field.Invalid(p.Child("failureLimit"), *a.FailureLimit, "must be at least 1"))
	}
	switch a.OnInsufficientTraffic {
	case "", InsufficientTrafficPause, InsufficientTrafficFail:
	default:
		errs = append(errs, field.NotSupported(p.Child("onInsufficientTraffic"), a.OnInsufficientTraffic, []string{"Pause", "Fail"}))
	}
	switch a.Provider {
	case "", "lrs", "metricsService", "prometheus":
	default:
		errs = append(errs, field.NotSupported(p.Child("provider"), a.Provider, []string{"lrs", "metricsService", "prometheus"}))
	}
	if c := a.CompareWithStable; c != nil {
		if c.Confidence != nil && (*c.Confidence <= 0 || *c.Confidence >= 1) {
			errs = append(errs, field.Invalid(p.Child("compareWithStable", "confidence"), *c.Confidence, "must be between 0 and 1, e.g. 0.99"))
		}
		if c.MaxLatencyRatio != nil && *c.MaxLatencyRatio <= 0 {
			errs = append(errs, field.Invalid(p.Child("compareWithStable", "maxLatencyRatio"), *c.MaxLatencyRatio, "must be greater than 0"))
		}
	}
	for i, m := range a.Metrics {
		mp := p.Child("metrics").Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(mp.Child("name"), "a metric needs a name"))
		}
		if m.Query == "" {
			errs = append(errs, field.Required(mp.Child("query"), "a metric needs a PromQL query"))
		}
		if m.Min == nil && m.Max == nil {
			errs = append(errs, field.Required(mp.Child("max"), "a metric needs min, max or both"))
		}
		if m.Min != nil && m.Max != nil && *m.Min > *m.Max {
			errs = append(errs, field.Invalid(mp.Child("min"), *m.Min, "must not exceed max"))
		}
	}
	return errs
}

var webhookTypes = map[WebhookType]bool{
	WebhookPreRollout: true, WebhookStep: true, WebhookConfirmPromotion: true,
	WebhookPostRollout: true, WebhookRollback: true, WebhookEvent: true,
}

var webhookTypeNames = map[string]bool{
	string(WebhookPreRollout): true, string(WebhookStep): true, string(WebhookConfirmPromotion): true,
	string(WebhookPostRollout): true, string(WebhookRollback): true, string(WebhookEvent): true,
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
