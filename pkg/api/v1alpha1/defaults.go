package v1alpha1

// Defaults applied by Default(). They are the values the translator assumes
// when a field is empty, written down once.
const (
	// DefaultConnectTimeout is Envoy's own default; written out so the
	// cluster says what it does.
	DefaultConnectTimeout = Duration("5s")
	// DefaultBindAddress listens on every IPv4 and IPv6 address.
	DefaultBindAddress = "::"
	// DefaultAnalysisInterval is how often a canary step is judged.
	DefaultAnalysisInterval = Duration("10s")
	// DefaultMinRequests is enough canary requests per step for a 1% error
	// rate to show up as one or more errors with good probability.
	DefaultMinRequests = int64(100)
	// DefaultMaxStepDuration bounds a step that lacks traffic.
	DefaultMaxStepDuration = Duration("10m")
	// DefaultFailureLimit is the consecutive failed checks before rollback.
	DefaultFailureLimit = int32(2)
	// DefaultWebhookTimeout bounds a webhook call.
	DefaultWebhookTimeout = Duration("10s")
	// DefaultStickyCookieTTL is how long a sticky-canary cookie Envoy sets lives.
	DefaultStickyCookieTTL = Duration("24h")
)

func defaultNamespace(ns *string) {
	if *ns == "" {
		*ns = DefaultNamespace
	}
}

// Default fills in the namespace and connection defaults.
func (u *Upstream) Default() {
	defaultNamespace(&u.Namespace)
	if u.Spec.ConnectTimeout == "" {
		u.Spec.ConnectTimeout = DefaultConnectTimeout
	}
	if k := u.Spec.Kube; k != nil && k.ServiceNamespace == "" {
		k.ServiceNamespace = u.Namespace
	}
}

// Default fills in the namespace.
func (g *UpstreamGroup) Default() { defaultNamespace(&g.Namespace) }

// Default fills in the namespace.
func (v *VirtualService) Default() { defaultNamespace(&v.Namespace) }

// Default fills in the namespace, bind address, port and fleet.
func (g *Gateway) Default() {
	defaultNamespace(&g.Namespace)
	if g.Spec.BindAddress == "" {
		g.Spec.BindAddress = DefaultBindAddress
	}
	if g.Spec.BindPort == 0 {
		g.Spec.BindPort = DefaultGatewayPort
	}
	if g.Spec.Fleet == "" {
		g.Spec.Fleet = DefaultFleet
	}
}

// Default fills in the namespace and the analysis defaults.
func (c *Canary) Default() {
	defaultNamespace(&c.Namespace)
	a := &c.Spec.Analysis
	if a.Interval == "" {
		a.Interval = DefaultAnalysisInterval
	}
	if a.MinRequests == nil {
		v := DefaultMinRequests
		a.MinRequests = &v
	}
	if a.MaxStepDuration == "" {
		a.MaxStepDuration = DefaultMaxStepDuration
	}
	if a.OnInsufficientTraffic == "" {
		a.OnInsufficientTraffic = InsufficientTrafficPause
	}
	if a.FailureLimit == nil {
		v := DefaultFailureLimit
		a.FailureLimit = &v
	}
	if a.Provider == "" {
		a.Provider = "lrs"
	}
	if c.Spec.Strategy == "" {
		c.Spec.Strategy = StrategyCanary
	}
	if st := c.Spec.Stickiness; st != nil && st.Cookie != nil {
		if st.Cookie.TTL == "" {
			st.Cookie.TTL = DefaultStickyCookieTTL
		}
		if st.Cookie.Path == "" {
			st.Cookie.Path = "/"
		}
	}
	for i := range c.Spec.Webhooks {
		if c.Spec.Webhooks[i].Timeout == "" {
			c.Spec.Webhooks[i].Timeout = DefaultWebhookTimeout
		}
	}
}

// Weights returns the canary weights the steps walk through, in order:
// spec.steps, or stepWeight increments up to maxWeight followed by 100.
func (c *Canary) Weights() []int32 {
	if c.Spec.Strategy == StrategyBlueGreen || c.Spec.Strategy == StrategyABTest {
		return []int32{100} // one switch, after the mirror or the cohort
	}
	if len(c.Spec.Steps) > 0 {
		out := make([]int32, len(c.Spec.Steps))
		for i, s := range c.Spec.Steps {
			out[i] = s.Weight
		}
		return out
	}
	if c.Spec.StepWeight == nil || *c.Spec.StepWeight <= 0 {
		return nil
	}
	max := int32(100)
	if c.Spec.MaxWeight != nil {
		max = *c.Spec.MaxWeight
	}
	var out []int32
	for w := *c.Spec.StepWeight; w < max; w += *c.Spec.StepWeight {
		out = append(out, w)
	}
	out = append(out, max)
	if max < 100 {
		out = append(out, 100)
	}
	return out
}
