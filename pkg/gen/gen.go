// Package gen generates deterministic serin configurations of any size, for
// benchmarks and load tests: N VirtualServices, each with one route to an
// UpstreamGroup of two Upstreams (v1 at 90, v2 at 10) that also mirrors a
// share of requests to v2. The same Config always gives the same objects.
package gen

import (
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/store"
	"github.com/serin-dev/serin/translator"
)

// Config says what to generate.
type Config struct {
	// VirtualServices is the number of services; each brings one
	// VirtualService, one UpstreamGroup and two Upstreams.
	VirtualServices int
	// Namespace of every object; default "default".
	Namespace string
	// MirrorPercentage mirrored to v2; default 10.
	MirrorPercentage float64
	// Weights of v1 and v2; default 90 and 10.
	StableWeight, CanaryWeight int64
}

func (c Config) withDefaults() Config {
	if c.Namespace == "" {
		c.Namespace = v1alpha1.DefaultNamespace
	}
	if c.MirrorPercentage == 0 {
		c.MirrorPercentage = 10
	}
	if c.StableWeight == 0 && c.CanaryWeight == 0 {
		c.StableWeight, c.CanaryWeight = 90, 10
	}
	return c
}

// Service is the objects of one generated service.
type Service struct {
	Stable, Canary *v1alpha1.Upstream
	Group          *v1alpha1.UpstreamGroup
	VirtualService *v1alpha1.VirtualService
}

// Name is the base name of service i: "svc-00042". Names sort in index order
// up to 100,000 services.
func Name(i int) string {
	s := strconv.Itoa(i)
	for len(s) < 5 {
		s = "0" + s
	}
	return "svc-" + s
}

// Domain is the one domain of service i, a plain name (no wildcard), so it
// also gets an API listener: "svc-00042.example.com".
func Domain(i int) string { return Name(i) + ".example.com" }

// Services returns the generated services in index order.
func Services(cfg Config) []Service {
	cfg = cfg.withDefaults()
	out := make([]Service, cfg.VirtualServices)
	for i := range out {
		out[i] = service(cfg, i)
	}
	return out
}

func service(cfg Config, i int) Service {
	base := Name(i)
	stable, canary := base+"-v1", base+"-v2"
	return Service{
		Stable: upstream(cfg.Namespace, stable, hostAddr(2*i)),
		Canary: upstream(cfg.Namespace, canary, hostAddr(2*i+1)),
		Group: &v1alpha1.UpstreamGroup{
			TypeMeta:   typeMeta(v1alpha1.KindUpstreamGroup),
			ObjectMeta: metav1.ObjectMeta{Name: base, Namespace: cfg.Namespace},
			Spec: v1alpha1.UpstreamGroupSpec{Destinations: []v1alpha1.WeightedDestination{
				{Destination: v1alpha1.Destination{Upstream: v1alpha1.ResourceRef{Name: stable}}, Weight: cfg.StableWeight},
				{Destination: v1alpha1.Destination{Upstream: v1alpha1.ResourceRef{Name: canary}}, Weight: cfg.CanaryWeight},
			}},
		},
		VirtualService: &v1alpha1.VirtualService{
			TypeMeta:   typeMeta(v1alpha1.KindVirtualService),
			ObjectMeta: metav1.ObjectMeta{Name: base, Namespace: cfg.Namespace},
			Spec: v1alpha1.VirtualServiceSpec{VirtualHost: v1alpha1.VirtualHost{
				Domains: []string{Domain(i)},
				Routes: []v1alpha1.Route{{
					Matchers:    []v1alpha1.Matcher{{Prefix: "/"}},
					RouteAction: &v1alpha1.RouteAction{UpstreamGroup: &v1alpha1.ResourceRef{Name: base}},
					Options: &v1alpha1.RouteOptions{
						Shadowing: &v1alpha1.Mirror{Upstream: v1alpha1.ResourceRef{Name: canary}, Percentage: cfg.MirrorPercentage},
					},
				}},
			}},
		},
	}
}

func upstream(ns, name, addr string) *v1alpha1.Upstream {
	return &v1alpha1.Upstream{
		TypeMeta:   typeMeta(v1alpha1.KindUpstream),
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.UpstreamSpec{Static: &v1alpha1.StaticUpstream{Hosts: []v1alpha1.Host{
			{Addr: addr, Port: 8080},
		}}},
	}
}

func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: v1alpha1.GroupName + "/" + v1alpha1.Version, Kind: kind}
}

// hostAddr is a distinct address in 10.0.0.0/8 for each upstream index.
func hostAddr(j int) string {
	j++ // skip 10.0.0.0
	return "10." + strconv.Itoa((j>>16)&0xff) + "." + strconv.Itoa((j>>8)&0xff) + "." + strconv.Itoa(j&0xff)
}

// Entries returns the generated objects as store entries: per service the
// two Upstreams, the group and the VirtualService.
func Entries(cfg Config) []store.Entry {
	svcs := Services(cfg)
	out := make([]store.Entry, 0, 4*len(svcs))
	for _, s := range svcs {
		out = append(out,
			store.Entry{Obj: s.Stable}, store.Entry{Obj: s.Canary},
			store.Entry{Obj: s.Group}, store.Entry{Obj: s.VirtualService})
	}
	return out
}

// Input returns the generated objects as a translator input, each slice
// in namespace/name order as a store read gives them.
func Input(cfg Config) *translator.Input {
	svcs := Services(cfg)
	in := &translator.Input{
		Upstreams:       make([]translator.Object[*v1alpha1.Upstream], 0, 2*len(svcs)),
		UpstreamGroups:  make([]translator.Object[*v1alpha1.UpstreamGroup], 0, len(svcs)),
		VirtualServices: make([]translator.Object[*v1alpha1.VirtualService], 0, len(svcs)),
	}
	// Revision 1 for everything: a caller that edits an object gives the
	// edited copy a higher one, as the store would.
	for _, s := range svcs {
		in.Upstreams = append(in.Upstreams, translator.Object[*v1alpha1.Upstream]{Obj: s.Stable, Rev: 1}, translator.Object[*v1alpha1.Upstream]{Obj: s.Canary, Rev: 1})
		in.UpstreamGroups = append(in.UpstreamGroups, translator.Object[*v1alpha1.UpstreamGroup]{Obj: s.Group, Rev: 1})
		in.VirtualServices = append(in.VirtualServices, translator.Object[*v1alpha1.VirtualService]{Obj: s.VirtualService, Rev: 1})
	}
	return in
}
