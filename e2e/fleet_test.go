package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/adsclient"
)

// TestTwoFleets: Gateways put VirtualServices in fleets; proxyless gRPC
// clients in each fleet (node.cluster) get their fleet's configuration.
// The "edge" fleet sends every call of xds:///myapp to v2, while the
// default fleet keeps 90/10. Delta xDS clients get the same split per
// fleet (grpc-go v1.85 speaks only state-of-the-world, so delta is checked
// with the Envoy-like ADS client).
func TestTwoFleets(t *testing.T) {
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	dir := canaryDir(t, v1, v2)
	edge := edgeFleetYAML
	if err := os.WriteFile(filepath.Join(dir, "edge.yaml"), []byte(edge), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startSerin(t, dir)

	def := runClient(t, s, "default", "xds:///myapp", 2000)
	assertBinomial(t, "default fleet v2 at 90/10", def.Totals["v2"], 2000, 0.10)
	e := runClient(t, s, "edge", "xds:///myapp", 500)
	if e.Totals["v2"] != 500 {
		t.Fatalf("edge fleet: %v, want all 500 calls on v2", e.Totals)
	}
	// A node whose cluster names no fleet gets the default fleet.
	other := runClient(t, s, "no-such-fleet", "xds:///myapp", 1000)
	assertBinomial(t, "unknown fleet falls back to default", other.Totals["v2"], 1000, 0.10)

	for _, fleet := range []string{"default", "edge"} {
		c := adsConnect(t, s, adsclient.Config{Node: envoyNode("delta-"+fleet, fleet), Delta: true, Decode: true})
		waitClient(t, c, "a complete configuration in fleet "+fleet, complete)
		w := routeWeights(c, "myapp")
		want := map[string]map[string]uint32{
			"default": {"myapp-v1_default": 90, "myapp-v2_default": 10},
			"edge":    {"myapp-v1_default": 0, "myapp-v2_default": 100},
		}[fleet]
		for k, v := range want {
			if w[k] != v {
				t.Errorf("delta client in fleet %s: weights %v, want %v", fleet, w, want)
				break
			}
		}
	}
}

// TestRestartKeepsClientsRouting: while serin is down, connected gRPC
// clients keep routing on their last configuration; when it is back they
// resync and follow changes made meanwhile.
func TestRestartKeepsClientsRouting(t *testing.T) {
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	dir := canaryDir(t, v1, v2)
	s := startSerin(t, dir)
	live := startLiveClient(t, s, "default", "xds:///myapp", 400)
	waitFor(t, 20*time.Second, "live traffic", func() bool { _, n := live.collect(t, 300*time.Millisecond); return n > 0 })

	s.stop()
	live.drain()
	w, n := live.collect(t, 2*time.Second)
	if n < 200 || w["v1"]+w["v2"] != n {
		t.Fatalf("with serin down: %d calls, %v; want ~800 successful calls on the last configuration", n, w)
	}
	t.Logf("with serin down for 2s: %d calls, all successful (%v)", n, w)

	writeGroup(t, dir, 0, 100) // changed while serin is down
	s.restart(t)
	var took time.Duration
	restarted := time.Now()
	waitFor(t, 30*time.Second, "clients to resync with the restarted serin", func() bool {
		w, n := live.collect(t, 250*time.Millisecond)
		if n > 20 && w["v2"] == n {
			took = time.Since(restarted)
			return true
		}
		return false
	})
	t.Logf("clients resynced %v after serin was ready again", took.Round(10*time.Millisecond))
}
