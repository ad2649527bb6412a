package canary

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/metrics"
	"github.com/serin-dev/serin/pkg/store"
)

// A replica that lost the lease must not act on a webhook answer to a
// call it made while leading: no step, no store write, no webhooks.
func TestGateAnswerAfterLosingTheLeaseIsDropped(t *testing.T) {
	asked := make(chan struct{}, 1)
	release := make(chan struct{})
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var p WebhookPayload
		json.NewDecoder(r.Body).Decode(&p)
		if p.Type != v1alpha1.WebhookPreRollout {
			return
		}
		select {
		case asked <- struct{}{}:
		default:
		}
		<-release
	}))
	defer srv.Close()
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock()

	f := &fixture{t: t, clk: &clock{t: time.Unix(1_700_000_000, 0)}, st: store.New()}
	f.lrs = metrics.NewLRS(f.clk.Now)
	f.put(testCanary("app", func(c *v1alpha1.Canary) {
		c.Spec.Webhooks = []v1alpha1.CanaryWebhook{
			{Name: "freeze", Type: v1alpha1.WebhookPreRollout, URL: srv.URL},
			{Name: "events", Type: v1alpha1.WebhookEvent, URL: srv.URL},
		}
	}))
	var leading atomic.Bool
	leading.Store(true)
	e, err := New(Config{Store: f.st, Providers: map[string]metrics.Provider{"lrs": f.lrs}, Now: f.clk.Now,
		IsLeader: leading.Load, Tick: 5 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	f.e = e
	if err := e.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	select {
	case <-asked:
	case <-time.After(5 * time.Second):
		t.Fatal("the pre-rollout gate was never asked")
	}
	leading.Store(false)
	time.Sleep(50 * time.Millisecond) // the loop notices
	before := calls.Load()
	unblock()
	time.Sleep(200 * time.Millisecond)
	st, ok := f.st.Read().CanaryState(ident.Key{Namespace: "default", Name: "app"})
	if !ok || st.Status.Phase != v1alpha1.PhasePending || st.Weights["default/app-v2"] != 0 {
		t.Fatalf("a follower acted on a gate answer: %+v", st)
	}
	if n := calls.Load(); n != before {
		t.Fatalf("a follower called %d webhooks", n-before)
	}
}
