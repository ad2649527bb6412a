package e2e

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/adsclient"
)

// TestNackIsSeenOnce: a node that rejects a route configuration is sent it
// once, not in a loop; /api/v1/nodes shows its error, the objects behind the
// route turn Warning naming the node, and other nodes keep getting updates.
func TestNackIsSeenOnce(t *testing.T) {
	dir := canaryDir(t, 9001, 9002)
	s := startSerin(t, dir)

	var rejecting atomic.Bool
	const msg = "Proto constraint validation failed (test): the proxy rejects this route"
	bad := adsConnect(t, s, adsclient.Config{
		Node:   envoyNode("envoy-rejects", "default"),
		Decode: true,
		Reject: func(r adsclient.Response) (bool, string) {
			return rejecting.Load() && r.TypeURL == adsclient.RouteType, msg
		},
	})
	good := adsConnect(t, s, adsclient.Config{Node: envoyNode("envoy-accepts", "default"), Decode: true})
	waitClient(t, bad, "a complete configuration", complete)
	waitClient(t, good, "a complete configuration", complete)

	rejecting.Store(true)
	before, _ := bad.Stats(adsclient.RouteType)
	writeGroup(t, dir, 70, 30)
	waitClient(t, good, "70/30 on the accepting node", func(c *adsclient.Client) bool {
		return routeWeights(c, "myapp")["myapp-v2_default"] == 30
	})
	time.Sleep(time.Second)
	after, _ := bad.Stats(adsclient.RouteType)
	if got := after - before; got != 1 {
		t.Fatalf("the rejecting node got %d route responses in the second after the change, want exactly 1", got)
	}
	if w := routeWeights(bad, "myapp"); w["myapp-v2_default"] != 10 {
		t.Errorf("rejecting node holds %v, want its last accepted 90/10", w)
	}

	var nodes []struct {
		ID    string
		Types []struct {
			Type     string
			LastNack *struct{ Version, Message string }
		}
	}
	s.getJSON(t, "/api/v1/nodes", &nodes)
	found := false
	for _, n := range nodes {
		for _, ty := range n.Types {
			if n.ID == "envoy-rejects" && ty.Type == "route" && ty.LastNack != nil && strings.Contains(ty.LastNack.Message, "the proxy rejects this route") {
				found = true
			}
			if n.ID == "envoy-accepts" && ty.LastNack != nil {
				t.Errorf("accepting node shows a NACK: %+v", ty.LastNack)
			}
		}
	}
	if !found {
		t.Errorf("/api/v1/nodes does not show envoy-rejects' route NACK: %+v", nodes)
	}
	vs := s.resources(t)["VirtualService default/myapp"]
	if vs.State != "Warning" || !strings.Contains(vs.Reason, "envoy-rejects") || !strings.Contains(vs.Reason, "the proxy rejects this route") {
		t.Errorf("VirtualService default/myapp = %s %q, want Warning naming the node and its message", vs.State, vs.Reason)
	}

	// The next change reaches both; once the rejecting node accepts again
	// the warning goes away.
	rejecting.Store(false)
	writeGroup(t, dir, 60, 40)
	waitClient(t, bad, "60/40 on the formerly rejecting node", func(c *adsclient.Client) bool {
		return routeWeights(c, "myapp")["myapp-v2_default"] == 40
	})
	waitFor(t, 5*time.Second, "the NACK warning to clear", func() bool {
		return s.resources(t)["VirtualService default/myapp"].State == "Accepted"
	})
}
