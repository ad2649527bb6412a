package snapshot

import (
	"slices"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"

	"github.com/serin-dev/serin/translator"
)

// Make-before-break for removals. The server pushes in CDS -> EDS -> LDS ->
// RDS order, which is right for additions (a new cluster arrives before the
// route naming it) but wrong for removals: a cluster removed in the same
// version as the route that named it would vanish while the node still
// routes to it. So a cluster that leaves the translator output stays served
// (with its ClusterLoadAssignment) for the drain period: the first version
// has the new routes and the old cluster, and a later version, published by
// a timer, drops the cluster.

// drained is a cluster kept after it left the output.
type drained struct {
	until    time.Time
	cluster  *Resource
	endpoint *Resource // its ClusterLoadAssignment, if it was served
}

// retain updates the fleet's draining clusters against the new output and
// returns the resources still to serve, and their cluster names sorted.
// Callers hold updateMu.
func (c *Cache) retain(fleet string, res *translator.Resources, prev *Snapshot, now time.Time) ([NumKinds][]*Resource, []string) {
	var extra [NumKinds][]*Resource
	if c.drain <= 0 || prev == nil {
		delete(c.draining, fleet)
		return extra, nil
	}
	live := map[string]bool{}
	for _, cl := range res.Clusters {
		live[cl.GetName()] = true
	}
	liveEDS := map[string]bool{}
	for _, e := range res.Endpoints {
		liveEDS[e.GetClusterName()] = true
	}
	wasDraining := map[string]bool{}
	for _, n := range prev.draining {
		wasDraining[n] = true
	}
	d := c.draining[fleet]
	if d == nil {
		d = map[string]*drained{}
		c.draining[fleet] = d
	}
	// Clusters served as live last time and gone now start draining. Ones
	// that were already draining keep their deadline (or stay gone).
	for _, r := range prev.Resources(KindCluster) {
		if live[r.Name] || wasDraining[r.Name] {
			continue
		}
		dr := &drained{until: now.Add(c.drain), cluster: r}
		if cl, ok := r.Message.(*clusterv3.Cluster); ok {
			dr.endpoint = prev.Get(KindEndpoint, edsName(cl))
		}
		d[r.Name] = dr
	}
	var names []string
	for name, dr := range d {
		if live[name] || !now.Before(dr.until) {
			delete(d, name)
			continue
		}
		names = append(names, name)
		extra[KindCluster] = append(extra[KindCluster], dr.cluster)
		if dr.endpoint != nil && !liveEDS[dr.endpoint.Name] {
			extra[KindEndpoint] = append(extra[KindEndpoint], dr.endpoint)
		}
	}
	if len(d) == 0 {
		delete(c.draining, fleet)
	}
	slices.Sort(names)
	return extra, names
}

// scheduleDrain arms the timer for the earliest drain deadline; when it
// fires, the last output is published again without the expired clusters.
func (c *Cache) scheduleDrain(now time.Time) {
	var first time.Time
	for _, d := range c.draining {
		for _, dr := range d {
			if first.IsZero() || dr.until.Before(first) {
				first = dr.until
			}
		}
	}
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if first.IsZero() {
		return
	}
	c.timer = time.AfterFunc(first.Sub(now), c.expire)
}

func (c *Cache) expire() {
	c.updateMu.Lock()
	defer c.updateMu.Unlock()
	if c.closed || c.last == nil {
		return
	}
	if err := c.publish(time.Now()); err != nil {
		c.log.Error("republish after drain", "err", err)
	}
}

// edsName is the name a cluster asks EDS for.
func edsName(c *clusterv3.Cluster) string {
	if n := c.GetEdsClusterConfig().GetServiceName(); n != "" {
		return n
	}
	return c.GetName()
}
