package xds

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serin-dev/serin/pkg/ident"
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
		want := []ident.Ref{{Kind: "Upstream", Namespace: "default", Name: "myapp-v1"}, {Kind: "Upstream", Namespace: "default", Name: "myapp-v2"}}
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

// Envoy keeps error_detail and the rejected nonce on every later request of
// the type until a new response comes, e.g. when its EDS subscription
// changes after a NACK. That is one rejection: one metric increment, one
// hook call; the subscription change itself is still served.
func TestRepeatedErrorDetailCountsOneNack(t *testing.T) {
	e := start(t)
	update(t, e, app(90, 10))
	c := e.sotw(t, node("envoy-1", "default", ""))
	c.request(cds, nil, "")
	r := c.expect(cds)
	clusters := resourceNames(r.GetResources())
	c.request(eds, clusters, "")
	c.ack(r, nil)
	c.expect(eds)
	c.request(eds, clusters, "bad endpoint")
	// Same nonce, same error, one cluster fewer: a subscription change.
	c.request(eds, clusters[:1], "bad endpoint")
	r = c.expect(eds)
	if got := resourceNames(r.GetResources()); !slices.Equal(got, clusters[:1]) {
		t.Errorf("EDS after the subscription change = %v, want %v", got, clusters[:1])
	}
	c.ack(r, clusters[:1])

	select {
	case n := <-e.nacks:
		if n.TypeURL != eds || n.Message != "bad endpoint" {
			t.Errorf("nack = %+v", n)
		}
	case <-time.After(time.Second):
		t.Fatal("no NACK hook call")
	}
	select {
	case n := <-e.nacks:
		t.Errorf("second NACK hook call for the same response: %+v", n)
	case <-time.After(200 * time.Millisecond):
	}
	var m dto.Metric
	if err := e.srv.metrics.nacks.WithLabelValues("endpoint").Write(&m); err != nil || m.GetCounter().GetValue() != 1 {
		t.Errorf("serin_xds_nacks_total{type=endpoint} = %v, want 1", m.GetCounter().GetValue())
	}
}

// A NACK's JSON is a node's lastNack in GET /api/v1/nodes: what the node
// rejected and why, not the names and objects (thousands) nor the node and
// type, which the enclosing entry gives.
func TestNackJSONIsTheNodeListingsLastNack(t *testing.T) {
	b, err := json.Marshal(Nack{NodeID: "n", TypeURL: cds, Version: "v", Nonce: "3", Message: "m", Time: time.Unix(0, 0).UTC(),
		Resources: []string{"a"}, Objects: []ident.Ref{{Kind: "Upstream", Name: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"version":"v","nonce":"3","message":"m","time":"1970-01-01T00:00:00Z"}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
}
