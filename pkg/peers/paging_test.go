package peers_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/admin"
	"github.com/serin-dev/serin/pkg/load"
	"github.com/serin-dev/serin/pkg/peers"
)

// TestPollerFollowsPages: a peer's admin API answers its load reports in
// pages (admin.MaxPageLimit at most); the poller reads every page, so a
// peer with more clusters than a page still counts them all.
func TestPollerFollowsPages(t *testing.T) {
	const n = 12_345 // three pages of 5,000
	var mu sync.Mutex
	bump := uint64(0)
	peer := httptest.NewServer(admin.New(admin.Backend{Instance: "peer-1", LoadReports: func() []load.Totals {
		mu.Lock()
		defer mu.Unlock()
		out := make([]load.Totals, n)
		for i := range out {
			out[i] = load.Totals{Cluster: fmt.Sprintf("c%05d", i), Successful: 10 + bump, Reports: 1}
		}
		return out
	}}, nil, ""))
	t.Cleanup(peer.Close)

	var got sync.Map
	p, err := peers.New(peers.Config{
		Self:     "me",
		Discover: func(context.Context) ([]string, error) { return []string{peer.URL}, nil },
		Sink: func(cluster string, ok, _ uint64, _ time.Time) {
			got.Store(cluster, ok)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	p.Poll(context.Background()) // the baseline
	mu.Lock()
	bump = 3
	mu.Unlock()
	p.Poll(context.Background())
	count := 0
	got.Range(func(k, v any) bool {
		if v.(uint64) != 3 {
			t.Errorf("%s: delta %d, want 3", k, v)
		}
		count++
		return true
	})
	if count != n {
		t.Fatalf("deltas for %d clusters, want %d: pages were not followed", count, n)
	}
}
