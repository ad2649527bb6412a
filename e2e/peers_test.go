package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/peers"
)

// loadTotal is one entry of /api/v1/loadreports.
type loadTotal struct {
	Cluster    string `json:"cluster"`
	Successful uint64 `json:"successful"`
	Error      uint64 `json:"error"`
}

// loadSum is the number of completed calls serin's LRS service counted.
func (s *serin) loadSum(t testing.TB) uint64 {
	var list []loadTotal
	s.getJSON(t, "/api/v1/loadreports", &list)
	var n uint64
	for _, l := range list {
		n += l.Successful + l.Error
	}
	return n
}

// instance is the X-Serin-Instance id serin names itself with.
func (s *serin) instance(t testing.TB) string {
	resp, err := http.Get("http://" + s.admin + peers.LoadReportsPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get(peers.InstanceHeader)
	if id == "" {
		t.Fatalf("%s has no %s header", peers.LoadReportsPath, peers.InstanceHeader)
	}
	return id
}

// callsThrough runs count calls through s over a few seconds and returns
// s's LRS total once it has settled. grpc-go reports load every second
// and drops its last, unreported interval when it exits, so the total
// counts most of the calls, not all: the test compares what the pollers
// count with what the replicas counted.
func callsThrough(t *testing.T, s *serin, count int) uint64 {
	t.Helper()
	before := s.loadSum(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := clientArgs(s, "default", "xds:///myapp", "--count", fmt.Sprint(count), "--rate", "50", "--concurrency", "4", "--interval", "1h")
	if out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}
	// Settled: unchanged for longer than the 1s report interval.
	last, since := s.loadSum(t), time.Now()
	waitFor(t, 20*time.Second, "load reports on "+s.admin, func() bool {
		if n := s.loadSum(t); n != last {
			last, since = n, time.Now()
		}
		return time.Since(since) > 1500*time.Millisecond
	})
	if last <= before || last > before+uint64(count) {
		t.Fatalf("%s counted %d calls after %d of %d more, want more and at most all", s.admin, last, before, count)
	}
	return last
}

// sumSink records what a poller feeds the LRS provider.
type sumSink struct {
	mu  sync.Mutex
	sum uint64
}

func (s *sumSink) observe(_ string, ok, failed uint64, _ time.Time) {
	s.mu.Lock()
	s.sum += ok + failed
	s.mu.Unlock()
}

func (s *sumSink) take() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.sum
	s.sum = 0
	return n
}

// TestPeersSumBothReplicas: two real serin replicas each receive LRS
// reports from the grpc-go clients connected to them; a peer poller that
// is replica a counts only b's new load (it skips itself by instance id),
// and one outside both counts both, never the traffic from before its
// first poll, and counts a restarted replica's new totals.
func TestPeersSumBothReplicas(t *testing.T) {
	v1, v2 := startBackend(t, "v1"), startBackend(t, "v2")
	dir := canaryDir(t, v1, v2)
	a, b := startSerin(t, dir), startSerin(t, dir)

	// Traffic before the pollers' first poll: a baseline, never counted.
	callsThrough(t, a, 150)

	urls := []string{"http://" + a.admin, "http://" + b.admin}
	discover, err := peers.Static(urls)
	if err != nil {
		t.Fatal(err)
	}
	var asA, outside sumSink
	pollA, err := peers.New(peers.Config{Self: a.instance(t), Discover: discover, Sink: asA.observe})
	if err != nil {
		t.Fatal(err)
	}
	pollAll, err := peers.New(peers.Config{Self: "not-a-replica", Discover: discover, Sink: outside.observe})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	poll := func() { pollA.Poll(ctx); pollAll.Poll(ctx) }
	poll()
	if n, m := asA.take(), outside.take(); n != 0 || m != 0 {
		t.Fatalf("first poll counted %d and %d calls, want baselines only", n, m)
	}
	aTotal, bTotal := a.loadSum(t), b.loadSum(t)

	aNow, bNow := callsThrough(t, a, 150), callsThrough(t, b, 150)
	t.Logf("replicas counted a %d -> %d, b %d -> %d calls", aTotal, aNow, bTotal, bNow)
	poll()
	if n, want := asA.take(), bNow-bTotal; n != want {
		t.Errorf("replica a's poller counted %d calls, want b's %d (a's own reach its engine directly)", n, want)
	}
	if n, want := outside.take(), aNow-aTotal+bNow-bTotal; n != want {
		t.Errorf("outside poller counted %d calls, want a's %d + b's %d", n, aNow-aTotal, bNow-bTotal)
	}
	poll()
	if n, m := asA.take(), outside.take(); n != 0 || m != 0 {
		t.Fatalf("a poll with no new load counted %d and %d calls", n, m)
	}

	// b restarts (same address, a new instance) and serves more calls: its
	// totals start over, and all of them are new.
	aTotal = aNow
	b.stop()
	b.restart(t)
	aNow, bNow = callsThrough(t, a, 150), callsThrough(t, b, 150)
	t.Logf("after b's restart: a %d -> %d, b 0 -> %d calls", aTotal, aNow, bNow)
	poll()
	if n := asA.take(); n != bNow {
		t.Errorf("after b's restart, replica a's poller counted %d calls, want b's %d", n, bNow)
	}
	if n, want := outside.take(), aNow-aTotal+bNow; n != want {
		t.Errorf("after b's restart, the outside poller counted %d calls, want a's %d + b's %d", n, aNow-aTotal, bNow)
	}
}
