package canary

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// A gate's answer belongs to the call that asked: an approval of release
// 1's pre-rollout gate, arriving after release 2 started and asked the
// same-named gate again, must not open release 2's gate.
func TestStaleGateAnswerOpensNothing(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p WebhookPayload
		json.NewDecoder(r.Body).Decode(&p)
		if p.Release != "default/app-v2" {
			http.Error(w, "change freeze", http.StatusForbidden)
		}
	}))
	defer srv.Close()
	hooks := func(c *v1alpha1.Canary) {
		c.Spec.Webhooks = []v1alpha1.CanaryWebhook{{Name: "freeze", Type: v1alpha1.WebhookPreRollout, URL: srv.URL}}
	}
	f := newFixture(t, nil, nil, testCanary("app", hooks))
	f.due() // release 1 asks
	var stale gateResult
	select {
	case stale = <-f.e.gates:
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook answer")
	}
	if !stale.ok {
		t.Fatalf("release 1's gate answered %q", stale.msg)
	}
	// Release 2 starts before the answer is handled and asks again.
	f.put(testCanary("app", hooks, func(c *v1alpha1.Canary) { c.Spec.Canary.Name = "app-v3"; c.Generation = 2 }))
	f.e.sync(context.Background(), f.clk.Now())
	f.due()
	f.e.gateDone(context.Background(), stale)
	if v := f.view("app"); v.Phase != v1alpha1.PhasePending || v.Release != "default/app-v3" {
		t.Fatalf("release 1's approval opened release 2's gate: %s %s weight %d", v.Phase, v.Release, v.Weight)
	}
	f.clk.Add(2 * time.Second)
	f.due()
	if v := f.view("app"); v.Phase != v1alpha1.PhasePending {
		t.Fatalf("after the next check: %s", v.Phase)
	}
}
