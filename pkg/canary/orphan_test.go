package canary

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/metrics"
	"github.com/serin-dev/serin/pkg/store"
)

// A deleted Canary's override goes on every replica: followers (which
// mirror the status) and a new leader (which never knew the Canary).
func TestDeletedCanaryStateIsRemoved(t *testing.T) {
	k := ident.Key{Namespace: "default", Name: "app"}
	withStatus := testCanary("app", func(c *v1alpha1.Canary) {
		c.Status = v1alpha1.CanaryStatus{Phase: v1alpha1.PhaseProgressing, Release: "default/app-v2", Step: 2, Weight: 20}
	})
	for _, leader := range []bool{false, true} {
		name := "follower"
		if leader {
			name = "new leader"
		}
		t.Run(name, func(t *testing.T) {
			f := &fixture{t: t, clk: &clock{t: time.Unix(1_700_000_000, 0)}, st: store.New()}
			f.lrs = metrics.NewLRS(f.clk.Now)
			f.put(withStatus.DeepCopy(), testCanary("other"))
			leading := false
			e, err := New(Config{Store: f.st, Providers: map[string]metrics.Provider{"lrs": f.lrs}, Now: f.clk.Now,
				IsLeader: func() bool { return leading }, Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			f.e = e
			e.Restore(context.Background()) // a follower mirrors the status
			if w := f.weights("app"); w["default/app-v2"] != 20 {
				t.Fatalf("mirrored weights %v", w)
			}
			if err := f.st.Update(func(tx *store.WriteTxn) error { return tx.Delete(v1alpha1.KindCanary, k) }); err != nil {
				t.Fatal(err)
			}
			if leader {
				leading = true
				e.sync(context.Background(), f.clk.Now())
			} else {
				e.follow(context.Background(), f.clk.Now())
			}
			if st, ok := f.st.Read().CanaryState(k); ok {
				t.Fatalf("the deleted Canary's override is still served: %v", st.Weights)
			}
			if _, ok := e.Get(k); ok {
				t.Fatal("the deleted Canary is still listed")
			}
			if leader {
				if _, ok := f.st.Read().CanaryState(ident.Key{Namespace: "default", Name: "other"}); !ok {
					t.Fatal("the leader dropped a live Canary's state")
				}
			}
		})
	}
}
