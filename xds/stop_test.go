package xds

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A request naming an older nonce is stale: ignored, even with an error.
func TestStaleNonceIgnored(t *testing.T) {
	e := start(t)
	update(t, e, app(90, 10))
	c := e.sotw(t, node("envoy-1", "default", ""))
	c.request(cds, nil, "")
	old := c.expect(cds)
	c.ack(old, nil)
	update(t, e, app(90, 10, 5))
	c.expect(cds)
	c.last[cds] = old // answer the older response
	c.request(cds, nil, "too late")
	c.quiet(200 * time.Millisecond)
	for _, n := range e.srv.Nodes() {
		if n.Types[0].LastNack != nil {
			t.Fatalf("stale NACK recorded: %+v", n.Types[0].LastNack)
		}
	}
	select {
	case n := <-e.nacks:
		t.Fatalf("stale NACK reported: %+v", n)
	default:
	}
	b, err := json.Marshal(e.srv.Nodes())
	if err != nil || !strings.Contains(string(b), `"protocol":"sotw"`) || !strings.Contains(string(b), `"sentNonce":"2"`) {
		t.Errorf("nodes JSON = %s, %v", b, err)
	}
}

// Stop ends every stream with Unavailable so the grpc.Server can stop
// gracefully and clients reconnect elsewhere.
func TestStopEndsStreams(t *testing.T) {
	e := start(t)
	update(t, e, app(1))
	c := e.sotw(t, node("envoy-1", "default", ""))
	c.request(cds, nil, "")
	c.expect(cds)
	e.srv.Stop()
	select {
	case err := <-c.errc:
		if status.Code(err) != codes.Unavailable {
			t.Errorf("stream ended with %v, want Unavailable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open after Stop")
	}
	waitFor(t, "registry empty", func() bool { return len(e.srv.Nodes()) == 0 })
}
