package translator

import (
	"reflect"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// upstreamResult is an Upstream compiled: its cluster, nil when rejected.
type upstreamResult struct {
	cluster *Cluster
}

// compileUpstream validates one Upstream and builds its cluster unless it
// is rejected.
func compileUpstream(c *compiler, u *cell[*v1alpha1.Upstream, upstreamResult]) upstreamResult {
	if c.p.rejectAll(u.obj.Validate()) {
		return upstreamResult{}
	}
	cl := c.clusterIR(u.key, &u.obj.Spec)
	if c.p.rejected() {
		return upstreamResult{}
	}
	return upstreamResult{cluster: cl}
}

// sameUpstream: readers see only whether the Upstream is accepted; an equal
// cluster keeps the old one, so that its messages are reused.
func sameUpstream(a, b upstreamResult) (shape, content bool) {
	shape = (a.cluster == nil) == (b.cluster == nil)
	return shape, shape && reflect.DeepEqual(a.cluster, b.cluster)
}

// clusterIR applies defaults to an Upstream's spec. Problems Validate does
// not know about (things Envoy would refuse) are reported on the Upstream.
func (c *compiler) clusterIR(k ident.Key, s *v1alpha1.UpstreamSpec) *Cluster {
	p := &c.p
	cl := &Cluster{
		Name:           ident.ClusterName(k),
		Upstream:       k.Ref(v1alpha1.KindUpstream),
		ConnectTimeout: s.ConnectTimeout.Get(defaultConnectTimeout),
		HTTP2:          s.UseHttp2 != nil && *s.UseHttp2,
		LoadReporting:  c.t.opts.LoadReporting,
	}
	cl.HealthChecks = healthChecksIR(p, s.HealthChecks)
	cl.Outlier = outlierIR(s.OutlierDetection)
	cl.Breakers = breakersIR(s.CircuitBreakers)
	cl.LB = loadBalancerIR(p, s.LoadBalancer)
	cl.TLS = tlsIR(p, s)
	switch {
	case s.Static != nil:
		cl.Localities = staticLocalities(p, s.Static.Hosts)
	case s.Kube != nil:
		cl.Localities = kubeLocalities(p, k, s.Kube, c.t.in.Endpoints[k])
	}
	return cl
}

// defaultConnectTimeout is Envoy's own default, written out so the cluster
// says what it does.
var defaultConnectTimeout = v1alpha1.DefaultConnectTimeout.Get(0)

// headerSafe reports whether s can go in an HTTP header or a field Envoy
// checks like one: no NUL, CR or LF.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 0, '\r', '\n':
			return false
		}
	}
	return true
}
