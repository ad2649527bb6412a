package xds

import (
	"slices"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serin-dev/serin/translator"
)

// A node that NACKs sees that version once, not in a loop; the registry and
// the hook show its error; other nodes keep receiving updates; new content
// reaches the NACKing node again.
func TestNackIsNotResent(t *testing.T) {
	e := start(t)
	update(t, e, app(90, 10))
	bad := e.sotw(t, node("bad", "default", ""))
	good := e.sotw(t, node("good", "default", ""))
	for _, c := range []*sotwClient{bad, good} {
		c.request(cds, nil, "")
		c.ack(c.expect(cds), nil)
	}

	res := app(90, 10).Resources()
	res.Clusters[1].ConnectTimeout = durationpb.New(7 * time.Second)
	if err := e.cache.Update(&translator.Output{Fleets: map[string]*translator.Resources{"default": res}}); err != nil {
		t.Fatal(err)
	}
	r := bad.expect(cds)
	nacked := r.GetVersionInfo()
	bad.request(cds, nil, "cluster myapp-v2_default: bad connect timeout")
	if n := bad.count(time.Second); n != 0 {
		t.Fatalf("NACKing node got %d more responses in 1s, want none", n)
	}
	g := good.expect(cds)
	if g.GetVersionInfo() != nacked {
		t.Errorf("good node got %s, want %s", g.GetVersionInfo(), nacked)
	}
	good.ack(g, nil)

	select {
	case n := <-e.nacks:
		if n.NodeID != "bad" || n.TypeURL != cds || n.Version != nacked || n.Message != "cluster myapp-v2_default: bad connect timeout" {
			t.Errorf("nack = %+v", n)
		}
		want := []translator.ObjectRef{{Kind: "Upstream", Namespace: "default", Name: "myapp-v1"}, {Kind: "Upstream", Namespace: "default", Name: "myapp-v2"}}
		if !slices.Equal(n.Objects, want) {
			t.Errorf("nack objects = %v, want %v", n.Objects, want)
		}
	case <-time.After(time.Second):
		t.Fatal("no NACK hook call")
	}
	var m dto.Metric
	if err := e.srv.metrics.nacks.WithLabelValues("cluster").Write(&m); err != nil || m.GetCounter().GetValue() != 1 {
		got := m.GetCounter().GetValue()
		t.Errorf("serin_xds_nacks_total = %v", got)
	}

	var badStatus, goodStatus *TypeStatus
	waitFor(t, "good node's ACK", func() bool {
		for _, ns := range e.srv.Nodes() {
			ts := ns.Types[0]
			switch ns.ID {
			case "bad":
				badStatus = &ts
			case "good":
				goodStatus = &ts
			}
		}
		return goodStatus != nil && goodStatus.AckedVersion == nacked
	})
	if badStatus.LastNack == nil || badStatus.LastNack.Version != nacked || badStatus.AckedVersion == nacked ||
		badStatus.LastNack.Message != "cluster myapp-v2_default: bad connect timeout" {
		t.Errorf("bad node status = %+v", badStatus)
	}

	// New content is sent again, once.
	res = app(90, 10).Resources()
	res.Clusters[1].ConnectTimeout = durationpb.New(2 * time.Second)
	if err := e.cache.Update(&translator.Output{Fleets: map[string]*translator.Resources{"default": res}}); err != nil {
		t.Fatal(err)
	}
	r = bad.expect(cds)
	if r.GetVersionInfo() == nacked {
		t.Fatal("NACKed version sent again")
	}
	bad.ack(r, nil)
	bad.quiet(200 * time.Millisecond)
}
