package translator

import (
	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// upstreamEntry is one Upstream and, unless it was rejected, its cluster.
type upstreamEntry struct {
	key     key
	ref     ident.Ref
	cluster *Cluster // nil when rejected
}

// compileUpstreams validates every Upstream and builds its cluster.
func (c *compiler) compileUpstreams() {
	list, keys, reps := objects(c, v1alpha1.KindUpstream, c.in.Upstreams)
	entries := make([]upstreamEntry, len(list))
	for i, u := range list {
		k := keys[i]
		e := &entries[i]
		*e = upstreamEntry{key: k, ref: objRef(v1alpha1.KindUpstream, k)}
		c.upstreams[k] = e
		c.compileUpstream(e, u, reps[i])
	}
}

// compileUpstream validates one Upstream, reporting at rep, and builds its
// cluster unless it is rejected.
func (c *compiler) compileUpstream(e *upstreamEntry, u *v1alpha1.Upstream, rep int32) {
	if c.rep.rejectAll(rep, u.Validate()) {
		return
	}
	p := problems{rep: c.rep, i: rep}
	e.cluster = c.clusterIR(&p, e, &u.Spec)
	if p.rejected() {
		e.cluster = nil
	}
}

// clusterIR applies defaults to an Upstream's spec. Problems Validate does
// not know about (things Envoy would refuse) are reported on the Upstream.
func (c *compiler) clusterIR(p *problems, e *upstreamEntry, s *v1alpha1.UpstreamSpec) *Cluster {
	cl := &Cluster{
		Name:           resourceName(e.key),
		Upstream:       e.ref,
		ConnectTimeout: s.ConnectTimeout.Get(defaultConnectTimeout),
		HTTP2:          s.UseHttp2 != nil && *s.UseHttp2,
		LoadReporting:  c.opts.LoadReporting,
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
		cl.Localities = c.kubeLocalities(p, e.key, s.Kube)
	}
	return cl
}

// defaultConnectTimeout is Envoy's own default, written out so the cluster
// says what it does.
var defaultConnectTimeout = v1alpha1.DefaultConnectTimeout.Get(0)

// lookupUpstream resolves a reference from namespace ns. It returns the
// cluster, or "" and why there is none ("Upstream ns/name not found").
func (c *compiler) lookupUpstream(r v1alpha1.ResourceRef, ns string) (*Cluster, string) {
	k := refKey(r, ns)
	e, ok := c.upstreams[k]
	if !ok {
		return nil, "Upstream " + k.String() + " not found"
	}
	if e.cluster == nil {
		return nil, "Upstream " + k.String() + " is rejected"
	}
	return e.cluster, ""
}

// reference resolves an upstream reference made by an accepted object and
// records the cluster as referenced.
func (c *compiler) reference(r v1alpha1.ResourceRef, ns string) (*Cluster, string) {
	cl, why := c.lookupUpstream(r, ns)
	if cl != nil {
		c.referenced[cl.Name] = cl
	}
	return cl, why
}

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
