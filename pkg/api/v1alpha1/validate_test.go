package v1alpha1

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func u32(v uint32) *uint32 { return &v }

func meta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: "default"} }

func group(ws ...int64) *UpstreamGroup {
	g := &UpstreamGroup{ObjectMeta: meta("g")}
	for i, w := range ws {
		g.Spec.Destinations = append(g.Spec.Destinations, WeightedDestination{
			Destination: Destination{Upstream: ResourceRef{Name: "u" + string(rune('a'+i))}}, Weight: w,
		})
	}
	return g
}

func static(port uint32) *Upstream {
	return &Upstream{ObjectMeta: meta("u"), Spec: UpstreamSpec{Static: &StaticUpstream{Hosts: []Host{{Addr: "127.0.0.1", Port: port}}}}}
}

func vs(mutate func(*VirtualService)) *VirtualService {
	v := &VirtualService{ObjectMeta: meta("v"), Spec: VirtualServiceSpec{VirtualHost: VirtualHost{
		Domains: []string{"myapp"},
		Routes: []Route{{
			Matchers:    []Matcher{{Prefix: "/"}},
			RouteAction: &RouteAction{UpstreamGroup: &ResourceRef{Name: "g"}},
		}},
	}}}
	if mutate != nil {
		mutate(v)
	}
	return v
}

func canary(mutate func(*Canary)) *Canary {
	c := &Canary{ObjectMeta: meta("c"), Spec: CanarySpec{
		UpstreamGroup: ResourceRef{Name: "g"}, Stable: ResourceRef{Name: "v1"}, Canary: ResourceRef{Name: "v2"},
		Steps: []CanaryStep{{Weight: 1}, {Weight: 5}, {Weight: 100}},
	}}
	c.Default()
	if mutate != nil {
		mutate(c)
	}
	return c
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		obj  interface {
			Validate() field.ErrorList
		}
		want []string // substrings, one per expected error, in order
	}{
		{"upstream ok", static(8080), nil},
		{"port 0", static(0), []string{"spec.static.hosts[0].port: Invalid value: 0: must be between 1 and 65535"}},
		{"port 70000", static(70000), []string{"spec.static.hosts[0].port: Invalid value: 70000"}},
		{"neither static nor kube", &Upstream{ObjectMeta: meta("u")}, []string{"spec: Required value: one of static or kube"}},
		{"both static and kube", func() *Upstream {
			u := static(80)
			u.Spec.Kube = &KubeUpstream{ServiceName: "svc", ServicePort: 80}
			return u
		}(), []string{"only one of static or kube"}},
		{"bad connect timeout", func() *Upstream { u := static(80); u.Spec.ConnectTimeout = "5 secs"; return u }(),
			[]string{"spec.connectTimeout: Invalid value: \"5 secs\": not a duration"}},
		{"health check needs one kind", func() *Upstream {
			u := static(80)
			u.Spec.HealthChecks = []HealthCheck{{Interval: "1s", Timeout: "1s"}}
			return u
		}(), []string{"spec.healthChecks[0]: Invalid value: 0: exactly one of"}},
		{"kube port", &Upstream{ObjectMeta: meta("u"), Spec: UpstreamSpec{Kube: &KubeUpstream{ServiceName: "svc"}}},
			[]string{"spec.kube.servicePort"}},
		{"two lb policies", func() *Upstream {
			u := static(80)
			u.Spec.LoadBalancer = &LoadBalancer{Random: &RandomLB{}, RoundRobin: &RoundRobinLB{}}
			return u
		}(), []string{"spec.loadBalancer: Invalid value: 2"}},
		{"bad root ca", func() *Upstream { u := static(80); u.Spec.SslConfig = &SslConfig{RootCa: "nope"}; return u }(),
			[]string{"spec.sslConfig.rootCa"}},
		{"host weight 0", func() *Upstream { u := static(80); u.Spec.Static.Hosts[0].Weight = u32(0); return u }(),
			[]string{"spec.static.hosts[0].weight"}},

		{"group ok", group(90, 10), nil},
		{"group with a zero weight", group(100, 0), nil},
		{"negative weight", group(90, -1), []string{"spec.destinations[1].weight: Invalid value: -1: must be >= 0"}},
		{"zero total", group(0, 0), []string{"spec.destinations: Invalid value: 0: weights must add up to more than 0"}},
		{"empty group", group(), []string{"spec.destinations: Required value"}},
		{"bad ref", func() *UpstreamGroup {
			g := group(1)
			g.Spec.Destinations[0].Destination.Upstream.Name = "Not_A_Name"
			return g
		}(), []string{"spec.destinations[0].destination.upstream.name"}},

		{"vs ok", vs(nil), nil},
		{"no domains", vs(func(v *VirtualService) { v.Spec.VirtualHost.Domains = nil }), []string{"spec.virtualHost.domains: Required value"}},
		{"empty domain", vs(func(v *VirtualService) { v.Spec.VirtualHost.Domains = []string{""} }), []string{"spec.virtualHost.domains[0]: Required value"}},
		{"duplicate domain in one vs", vs(func(v *VirtualService) { v.Spec.VirtualHost.Domains = []string{"a", "a"} }), []string{"spec.virtualHost.domains[1]: Duplicate value"}},
		{"bad wildcard", vs(func(v *VirtualService) { v.Spec.VirtualHost.Domains = []string{"a.*.b"} }), []string{"spec.virtualHost.domains[0]: Invalid value"}},
		{"bad regex", vs(func(v *VirtualService) { v.Spec.VirtualHost.Routes[0].Matchers[0] = Matcher{Regex: "/a("} }),
			[]string{"spec.virtualHost.routes[0].matchers[0].regex: Invalid value: \"/a(\": not an RE2 regular expression"}},
		{"prefix and exact", vs(func(v *VirtualService) { v.Spec.VirtualHost.Routes[0].Matchers[0].Exact = "/x" }),
			[]string{"spec.virtualHost.routes[0].matchers[0]: Invalid value: 2: at most one of prefix, exact or regex"}},
		{"mirror percentage", vs(func(v *VirtualService) {
			v.Spec.VirtualHost.Routes[0].Options = &RouteOptions{Shadowing: &Mirror{Upstream: ResourceRef{Name: "v2"}, Percentage: 101}}
		}), []string{"spec.virtualHost.routes[0].options.shadowing.percentage: Invalid value: 101"}},
		{"mirrors percentage", vs(func(v *VirtualService) {
			v.Spec.VirtualHost.Routes[0].Options = &RouteOptions{Mirrors: []Mirror{{Upstream: ResourceRef{Name: "v2"}, Percentage: 5}, {Upstream: ResourceRef{Name: "v3"}, Percentage: -1}}}
		}), []string{"spec.virtualHost.routes[0].options.mirrors[1].percentage"}},
		{"single and group", vs(func(v *VirtualService) {
			v.Spec.VirtualHost.Routes[0].RouteAction.Single = &Destination{Upstream: ResourceRef{Name: "x"}}
		}), []string{"spec.virtualHost.routes[0].routeAction: Invalid value: 2"}},
		{"no action", vs(func(v *VirtualService) { v.Spec.VirtualHost.Routes[0].RouteAction = nil }), []string{"spec.virtualHost.routes[0].routeAction: Required value"}},
		{"bad timeout and retry", vs(func(v *VirtualService) {
			v.Spec.VirtualHost.Routes[0].Options = &RouteOptions{Timeout: "soon", Retries: &RetryPolicy{RetryOn: "5xx,sometimes", PerTryTimeout: "1s"}}
		}), []string{"spec.virtualHost.routes[0].options.timeout", "spec.virtualHost.routes[0].options.retries.retryOn: Unsupported value: \"sometimes\""}},
		{"bad header regex and method", vs(func(v *VirtualService) {
			v.Spec.VirtualHost.Routes[0].Matchers[0].Headers = []HeaderMatcher{{Name: "x", Value: "[", Regex: true}}
			v.Spec.VirtualHost.Routes[0].Matchers[0].Methods = []string{"get"}
		}), []string{"matchers[0].headers[0].value", "matchers[0].methods[0]"}},

		{"gateway ok", &Gateway{ObjectMeta: meta("gw"), Spec: GatewaySpec{BindPort: 8080}}, nil},
		{"gateway port", &Gateway{ObjectMeta: meta("gw"), Spec: GatewaySpec{BindPort: 70000, BindAddress: "example.com"}},
			[]string{"spec.bindAddress", "spec.bindPort: Invalid value: 70000"}},

		{"canary ok", canary(nil), nil},
		{"canary steps decrease", canary(func(c *Canary) { c.Spec.Steps = []CanaryStep{{Weight: 5}, {Weight: 1}} }), []string{"spec.steps[1].weight: Invalid value: 1: steps must increase"}},
		{"canary same upstream", canary(func(c *Canary) { c.Spec.Canary = c.Spec.Stable }), []string{"spec.canary: Invalid value"}},
		{"canary bad analysis", canary(func(c *Canary) {
			e := 150.0
			c.Spec.Analysis.MaxErrorRate = &e
			c.Spec.Analysis.Interval = "x"
		}), []string{"spec.analysis.interval", "spec.analysis.maxErrorRate"}},
		{"canary webhook", canary(func(c *Canary) {
			c.Spec.Webhooks = []CanaryWebhook{{Name: "w", Type: "later", URL: "ftp://x", Timeout: "1s"}}
		}), []string{"spec.webhooks[0].type: Unsupported value", "spec.webhooks[0].url"}},
		{"canary no steps", canary(func(c *Canary) { c.Spec.Steps = nil }), []string{"spec.steps: Required value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := tt.obj.Validate()
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(tt.want), errs.ToAggregate())
			}
			for i, w := range tt.want {
				if !strings.Contains(errs[i].Error(), w) {
					t.Errorf("error %d = %q, want it to contain %q", i, errs[i].Error(), w)
				}
			}
		})
	}
}

func TestCanaryStrategies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Canary)
		want   []string
	}{
		{"canary with steps", nil, nil},
		{"unknown strategy", func(c *Canary) { c.Spec.Strategy = "big-bang" }, []string{"spec.strategy: Unsupported value"}},
		{"blueGreen needs a mirror", func(c *Canary) { c.Spec.Strategy = StrategyBlueGreen; c.Spec.Steps = nil },
			[]string{"spec.mirror: Required value"}},
		{"blueGreen with steps", func(c *Canary) {
			c.Spec.Strategy = StrategyBlueGreen
			c.Spec.Mirror = &CanaryMirror{Percentage: 100, Duration: "1m"}
		}, []string{"spec.steps: Invalid value: 3: the blueGreen strategy switches all traffic at once"}},
		{"blueGreen ok", func(c *Canary) {
			c.Spec.Strategy, c.Spec.Steps = StrategyBlueGreen, nil
			c.Spec.Mirror = &CanaryMirror{Percentage: 100, Duration: "1m"}
		}, nil},
		{"abTest needs a cohort", func(c *Canary) { c.Spec.Strategy, c.Spec.Steps = StrategyABTest, nil },
			[]string{"spec.abTest: Required value"}},
		{"abTest empty cohort", func(c *Canary) {
			c.Spec.Strategy, c.Spec.Steps, c.Spec.ABTest = StrategyABTest, nil, &CanaryABTest{}
		}, []string{"spec.abTest: Required value: at least one header or a cookie"}},
		{"abTest bad cookie", func(c *Canary) {
			c.Spec.Strategy, c.Spec.Steps = StrategyABTest, nil
			c.Spec.ABTest = &CanaryABTest{Cookie: &CookieMatcher{Name: "a b", Value: "x;y"}}
		}, []string{"spec.abTest.cookie.name: Invalid value", "spec.abTest.cookie.value: Invalid value"}},
		{"abTest ok", func(c *Canary) {
			c.Spec.Strategy, c.Spec.Steps = StrategyABTest, nil
			c.Spec.ABTest = &CanaryABTest{Headers: []HeaderMatcher{{Name: "x-beta", Value: "1"}}, Duration: "5m"}
		}, nil},
		{"abTest cohort on a canary", func(c *Canary) {
			c.Spec.ABTest = &CanaryABTest{Headers: []HeaderMatcher{{Name: "x-beta", Value: "1"}}}
		}, []string{"spec.abTest: Invalid value: \"\": only for strategy abTest"}},
		{"stickiness both", func(c *Canary) {
			c.Spec.Stickiness = &CanaryStickiness{Header: "x-user-id", Cookie: &StickyCookie{Name: "u"}}
		}, []string{"spec.stickiness: Invalid value: \"\": exactly one of header or cookie"}},
		{"stickiness bad header", func(c *Canary) { c.Spec.Stickiness = &CanaryStickiness{Header: "x user"} },
			[]string{"spec.stickiness.header: Invalid value"}},
		{"stickiness header ok", func(c *Canary) { c.Spec.Stickiness = &CanaryStickiness{Header: "x-user-id"} }, nil},
		{"stickiness cookie ok", func(c *Canary) {
			c.Spec.Stickiness = &CanaryStickiness{Cookie: &StickyCookie{Name: "serin-canary", TTL: "1h"}}
		}, nil},
		{"bad bake time", func(c *Canary) { c.Spec.Analysis.BakeTime = "soon" }, []string{"spec.analysis.bakeTime: Invalid value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := canary(tc.mutate).Validate()
			if len(errs) != len(tc.want) {
				t.Fatalf("got %d errors, want %d: %v", len(errs), len(tc.want), errs)
			}
			for i, w := range tc.want {
				if !strings.Contains(errs[i].Error(), w) {
					t.Errorf("error %d = %q, want it to contain %q", i, errs[i].Error(), w)
				}
			}
		})
	}
	bg := canary(func(c *Canary) { c.Spec.Strategy = StrategyBlueGreen; c.Spec.Steps = nil })
	if got := bg.Weights(); len(got) != 1 || got[0] != 100 {
		t.Errorf("blueGreen Weights() = %v, want [100]", got)
	}
}

func TestCanaryWeights(t *testing.T) {
	sw, mw := int32(20), int32(50)
	c := canary(func(c *Canary) { c.Spec.Steps = nil; c.Spec.StepWeight = &sw; c.Spec.MaxWeight = &mw })
	got := c.Weights()
	want := []int32{20, 40, 50, 100}
	if len(got) != len(want) {
		t.Fatalf("Weights() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Weights() = %v, want %v", got, want)
		}
	}
}
