package translator

import (
	"maps"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// canaryResult is what a Canary adds to the configuration: the clusters
// of its upstreams, which must exist (warm) before the engine routes to them.
type canaryResult struct {
	refs []string
	// claims is set when the Canary is valid: it claims the release of
	// group, and since (its creationTimestamp) dates the claim.
	claims bool
	group  ident.Key
	since  metav1.Time
}

// compileCanary reports on a Canary: Validate's problems, and a Warning
// for each reference that names nothing (or something rejected), or an
// upstream that is not a destination of the group. The engine acts on
// canaries; the translator only reads their effect (Input.Overrides).
func compileCanary(c *compiler, cn *cell[*v1alpha1.Canary, canaryResult]) canaryResult {
	if c.p.rejectAll(cn.obj.Validate()) {
		return canaryResult{}
	}
	res := canaryResult{claims: true, group: ident.RefKey(cn.obj.Spec.UpstreamGroup, c.ns), since: cn.obj.CreationTimestamp}
	g, why := c.lookupGroup(cn.obj.Spec.UpstreamGroup, false)
	if why != "" {
		c.p.warn("spec.upstreamGroup", why)
		g = nil
	}
	for _, u := range []struct {
		field string
		ref   v1alpha1.ResourceRef
	}{{"spec.stable", cn.obj.Spec.Stable}, {"spec.canary", cn.obj.Spec.Canary}} {
		cl, why := c.reference(u.ref)
		if cl == "" {
			c.p.warn(u.field, why)
			continue
		}
		if g != nil && !hasCluster(g.res.clusters, cl) {
			c.p.warn(u.field, "Upstream "+ident.RefKey(u.ref, c.ns).String()+" is not a destination of UpstreamGroup "+g.key.String())
		}
		if st := cn.obj.Spec.Stickiness; st != nil && st.Cookie != nil {
			c.cookieNeedsHashLB(u.field, u.ref)
		}
	}
	res.refs = c.refsCopy()
	return res
}

func sameCanary(a, b canaryResult) (shape, content bool) {
	shape = slices.Equal(a.refs, b.refs) && a.claims == b.claims && a.group == b.group && a.since.Equal(&b.since)
	return shape, shape
}

// claimGroups settles which Canary releases a group that several claim:
// the oldest claim (v1alpha1.OlderClaim); the others are Rejected. It
// reports whether the rejections changed.
func (t *Translator) claimGroups() bool {
	var holder map[ident.Key]*canaryCell
	for _, c := range t.canaries.order {
		if !c.res.claims {
			continue
		}
		if holder == nil {
			holder = map[ident.Key]*canaryCell{}
		}
		if h := holder[c.res.group]; h == nil || olderCanary(c, h) {
			holder[c.res.group] = c
		}
	}
	var out map[ident.Key]Problem
	for _, c := range t.canaries.order {
		if h := holder[c.res.group]; c.res.claims && h != c {
			if out == nil {
				out = map[ident.Key]Problem{}
			}
			out[c.key] = Problem{Severity: v1alpha1.StateRejected, Field: "spec.upstreamGroup",
				Message: "UpstreamGroup " + c.res.group.String() + " is already released by Canary " + h.key.String() + " (the oldest claim wins)"}
		}
	}
	moved := !maps.Equal(out, t.canaryClaims)
	t.canaryClaims = out
	return moved
}

type canaryCell = cell[*v1alpha1.Canary, canaryResult]

func olderCanary(a, b *canaryCell) bool {
	return v1alpha1.OlderClaim(
		&metav1.ObjectMeta{Namespace: a.key.Namespace, Name: a.key.Name, CreationTimestamp: a.res.since},
		&metav1.ObjectMeta{Namespace: b.key.Namespace, Name: b.key.Name, CreationTimestamp: b.res.since})
}

func hasCluster(ws []WeightedCluster, name string) bool {
	for _, w := range ws {
		if w.Name == name {
			return true
		}
	}
	return false
}

// cookieNeedsHashLB warns when a sticky cookie will not be set: Envoy
// generates a hash policy's cookie (with its TTL) only while a hash load
// balancer (ring hash) picks the endpoint; choosing among weighted
// clusters hashes on the cookie but never sets it. With round robin the
// application must set the cookie, or users without one are split at
// random on every request.
func (c *compiler) cookieNeedsHashLB(field string, ref v1alpha1.ResourceRef) {
	u := c.t.ups.cells[ident.RefKey(ref, c.ns)]
	if u == nil {
		return // reported as missing above
	}
	c.readNode(&u.node, true)
	if lb := u.obj.Spec.LoadBalancer; lb == nil || lb.RingHash == nil {
		c.p.warn(field, "stickiness.cookie: Envoy sets the cookie only when the Upstream balances by hash (spec.loadBalancer.ringHash); "+
			"with "+lbName(lb)+" the application must set it, or requests without it are split at random")
	}
}

func lbName(lb *v1alpha1.LoadBalancer) string {
	switch {
	case lb == nil || lb.RoundRobin != nil:
		return "round robin"
	case lb.LeastRequest != nil:
		return "least request"
	case lb.Random != nil:
		return "random"
	}
	return "its load balancer"
}
