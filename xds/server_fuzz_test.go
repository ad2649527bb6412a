package xds

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	lrsv3 "github.com/envoyproxy/go-control-plane/envoy/service/load_stats/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/serin-dev/serin/snapshot"
	st "github.com/serin-dev/serin/snapshot/snapshottest"
	"github.com/serin-dev/serin/translator"
)

const (
	// fuzzOpDeadline bounds one op (a send and the responses it causes to
	// be checked): the server answers a loopback request in well under a
	// millisecond, so 5 s only fires on a hang, not on a busy 2-core box.
	fuzzOpDeadline = 5 * time.Second
	// fuzzMaxOps keeps one input to a few milliseconds, so the fuzzer
	// explores many short sequences rather than a few long ones.
	fuzzMaxOps = 32
)

// FuzzServer plays arbitrary SotW, delta and LRS requests, decoded from the
// input as a sequence of small ops, at a real gRPC server over loopback.
// It asserts that every response is well formed, that no op hangs, that
// the server still serves a fresh client afterwards and that, once the
// streams close, the goroutine count returns to what it was before.
func FuzzServer(f *testing.F) {
	for _, seed := range fuzzSeeds {
		f.Add(seed)
	}
	e := startFuzz(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		e.play(t, data)
	})
}

// fuzzSeeds are op sequences a real client sends, for the fuzzer to mutate:
// an Envoy handshake, a NACK, delta subscribe and unsubscribe, load reports,
// and a snapshot update in between. testdata/fuzz/FuzzServer holds them too.
var fuzzSeeds = [][]byte{
	// SotW: wildcard CDS, then ACK it.
	{opSotW, 0, 0, nonceNone, 0, 0, 1, 0, 0, opSotW, 0, 0, nonceLast, 1, 0, 0},
	// SotW: EDS by name, NACK it with an error detail, then a new node.
	{opSotW, 1, 1, 0, nonceNone, 0, 0, 1, 1, 0, opSotW, 1, 1, 0, nonceLast, 0, 1, 0, 1, 2, 1},
	// Delta: subscribe to listeners and routes, unsubscribe one.
	{opDelta, 2, 1, 4, 0, nonceNone, 0, 1, 0, 0, opDelta, 3, 1, 5, 0, nonceLast, 0, 0, opDelta, 3, 0, 1, 5, nonceLast, 0, 0},
	// LRS: two reports, a snapshot update, a third.
	{opLRS, 1, 0, 0, 2, 0, 9, 3, 1, 1, 4, opLRS, 0, 1, 1, 0, 0, 0, opUpdate, 50, 50, opLRS, 0, 1, 2, 7, 7, 7},
	// All three at once with unknown and empty type URLs.
	{opSotW, 5, 0, nonceRandom, 'x', 2, 0, 0, opDelta, 4, 0, 0, nonceRandom, 'y', 1, 0, opLRS, 1, 3, 1, 255, 255, 255, 255},
}

// Op codes: the first byte of each op, modulo opCount.
const (
	opSotW = iota
	opDelta
	opLRS
	opUpdate
	opClose // ends one of the open streams; the next op reopens it
	opCount
)

// Nonce choices.
const (
	nonceNone = iota
	nonceLast
	nonceRandom
	nonceCount
)

// fuzzTypes are the type URLs an op picks from: the four served ones, then
// ones the server must ignore.
var fuzzTypes = []string{
	snapshot.ClusterType, snapshot.EndpointType, snapshot.ListenerType, snapshot.RouteType,
	"type.googleapis.com/envoy.config.cluster.v3.Nope", "",
	"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
}

// fuzzNames are resource names an op picks from: those in the snapshot,
// wildcards, and names it does not have.
var fuzzNames = []string{
	"myapp-v1_default", "myapp-v2_default", "http", "myapp", "*", "", "nope", "myapp-v3_default",
}

// fuzzNodes are node ids, clusters and roles an op picks from; "edge" is a
// second fleet, the rest fall back to "default".
var fuzzNodes = []string{"", "a", "default", "edge", "ns~edge", "ns~", "~", strings.Repeat("n", 300)}

// startFuzz starts one server for the whole fuzz run (starting one per
// input would measure gRPC's startup rather than the server), NACKs
// discarded instead of queued for a test to read.
func startFuzz(tb testing.TB) *env {
	tb.Helper()
	e := startWith(tb, []Option{WithLogger(slog.New(slog.DiscardHandler)), WithNackHandler(func(Nack) {})})
	if err := e.cache.Update(fuzzOutput(90, 10)); err != nil {
		tb.Fatal(err)
	}
	// One round trip now, so the connection's goroutines, client and
	// server side, are in every input's baseline rather than counted as
	// the first input's leak. (The client is Ready before the server's
	// transport goroutines have all started; a response is after.)
	ctx, cancel := context.WithTimeout(context.Background(), fuzzOpDeadline)
	defer cancel()
	warm, err := discoveryv3.NewAggregatedDiscoveryServiceClient(e.conn).StreamAggregatedResources(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if err := warm.Send(&discoveryv3.DiscoveryRequest{Node: node("warm", "default", ""), TypeUrl: snapshot.ClusterType}); err != nil {
		tb.Fatal(err)
	}
	if _, err := warm.Recv(); err != nil {
		tb.Fatalf("warm-up: %v", err)
	}
	return e
}

// fuzzOutput is a snapshot with a default and an edge fleet.
func fuzzOutput(w1, w2 uint32) *translator.Output {
	return st.Output(map[string]*translator.Resources{
		"default": st.App{Name: "myapp", Weights: []uint32{w1, w2}}.Resources(),
		"edge":    st.App{Name: "myapp", Weights: []uint32{w2, w1}}.Resources(),
	})
}

// fuzzBytes reads the input; past its end every read is zero.
type fuzzBytes struct{ b []byte }

func (r *fuzzBytes) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzBytes) pick(n int) int { return int(r.byte()) % n }

func (r *fuzzBytes) str(pool []string) string {
	return pool[r.pick(len(pool))]
}

// raw is a short string taken from the input (up to 15 bytes). Invalid
// UTF-8 is replaced: grpc-go's client refuses to marshal it, so a real
// client cannot send it.
func (r *fuzzBytes) raw() string {
	n := min(r.pick(16), len(r.b))
	s := strings.ToValidUTF8(string(r.b[:n]), "?")
	r.b = r.b[n:]
	return s
}

func (r *fuzzBytes) names() []string {
	out := make([]string, r.pick(4))
	for i := range out {
		out[i] = r.str(fuzzNames)
	}
	return out
}

// node is nil (a later request on a stream usually has none) or a node
// from the pools, with a role in its metadata half the time.
func (r *fuzzBytes) node() *corev3.Node {
	c := r.byte()
	if c%3 == 0 {
		return nil
	}
	n := &corev3.Node{Id: r.str(fuzzNodes), Cluster: r.str(fuzzNodes)}
	if c%2 == 0 {
		n.Metadata, _ = structpb.NewStruct(map[string]any{"role": r.str(fuzzNodes)})
	}
	return n
}

func (r *fuzzBytes) nonce(last string) string {
	switch r.pick(nonceCount) {
	case nonceLast:
		return last
	case nonceRandom:
		return r.raw()
	}
	return ""
}

func (r *fuzzBytes) errorDetail() *statuspb.Status {
	switch r.pick(3) {
	case 1:
		return &statuspb.Status{Code: 3, Message: "fuzz: rejected"}
	case 2:
		return &statuspb.Status{} // present but empty: still a NACK
	}
	return nil
}

// fuzzStream is a client stream with a reader that keeps every response
// (so the server never blocks on flow control) and the last nonce per type.
type fuzzStream[Req, Resp any] struct {
	stream grpc.BidiStreamingClient[Req, Resp]
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	resps []*Resp
	last  map[string]string // type URL -> nonce
	err   error             // what ended Recv
}

func openFuzz[Req, Resp any](t *testing.T, open func(context.Context, ...grpc.CallOption) (grpc.BidiStreamingClient[Req, Resp], error),
	nonce func(*Resp) (typeURL, nonce string)) *fuzzStream[Req, Resp] {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := open(ctx)
	if err != nil {
		cancel()
		t.Fatalf("open stream: %v", err)
	}
	fs := &fuzzStream[Req, Resp]{stream: s, cancel: cancel, done: make(chan struct{}), last: map[string]string{}}
	go func() {
		defer close(fs.done)
		for {
			r, err := s.Recv()
			fs.mu.Lock()
			if err != nil {
				fs.err = err
				fs.mu.Unlock()
				return
			}
			fs.resps = append(fs.resps, r)
			if nonce != nil {
				u, n := nonce(r)
				fs.last[u] = n
			}
			fs.mu.Unlock()
		}
	}()
	return fs
}

func (fs *fuzzStream[Req, Resp]) lastNonce(typeURL string) string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.last[typeURL]
}

// take returns the responses received so far.
func (fs *fuzzStream[Req, Resp]) take() []*Resp {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := fs.resps
	fs.resps = nil
	return out
}

// close ends the stream as a client that goes away, and waits for its reader.
func (fs *fuzzStream[Req, Resp]) close() {
	fs.cancel()
	<-fs.done
}

type (
	sotwStream  = fuzzStream[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse]
	deltaStream = fuzzStream[discoveryv3.DeltaDiscoveryRequest, discoveryv3.DeltaDiscoveryResponse]
	lrsStream   = fuzzStream[lrsv3.LoadStatsRequest, lrsv3.LoadStatsResponse]
)

// fuzzRun is the state of one input: up to one stream per protocol.
type fuzzRun struct {
	t     *testing.T
	e     *env
	sotw  *sotwStream
	delta *deltaStream
	lrs   *lrsStream
	// lrsAnswered is set once the LRS stream got its one response.
	lrsAnswered bool
	// deltaKnown are, per type URL, the names the delta client subscribed
	// to, said it had, or was sent: the only ones the server may remove.
	deltaKnown map[string]map[string]bool
}

func (run *fuzzRun) knowDelta(typeURL string, names ...string) {
	if run.deltaKnown == nil {
		run.deltaKnown = map[string]map[string]bool{}
	}
	if run.deltaKnown[typeURL] == nil {
		run.deltaKnown[typeURL] = map[string]bool{}
	}
	for _, n := range names {
		run.deltaKnown[typeURL][n] = true
	}
}

func (e *env) play(t *testing.T, data []byte) {
	// Baseline after earlier inputs' streams are gone: the connection's
	// own goroutines are in it, so only what this input leaks shows.
	base := runtime.NumGoroutine()
	r := &fuzzBytes{b: data}
	run := &fuzzRun{t: t, e: e}
	defer run.closeAll()
	for i := 0; i < fuzzMaxOps && len(r.b) > 0; i++ {
		op := r.pick(opCount)
		run.bounded(i, op, func() { run.do(op, r) })
	}
	run.closeAll()
	run.probe()
	settled(t, e.srv, base)
}

// bounded runs fn, failing the input if it takes longer than
// fuzzOpDeadline; cancelling the streams unblocks a send stuck on flow
// control, so fn returns and the failure is reported, not a hung worker.
func (run *fuzzRun) bounded(i, op int, fn func()) {
	timer := time.AfterFunc(fuzzOpDeadline, func() {
		for _, c := range run.cancels() {
			c()
		}
	})
	start := time.Now()
	fn()
	if !timer.Stop() {
		run.t.Fatalf("op %d (code %d) took %v, over %v:\n%s", i, op, time.Since(start), fuzzOpDeadline, stacks())
	}
}

func (run *fuzzRun) cancels() []context.CancelFunc {
	var out []context.CancelFunc
	if run.sotw != nil {
		out = append(out, run.sotw.cancel)
	}
	if run.delta != nil {
		out = append(out, run.delta.cancel)
	}
	if run.lrs != nil {
		out = append(out, run.lrs.cancel)
	}
	return out
}

func (run *fuzzRun) do(op int, r *fuzzBytes) {
	t := run.t
	switch op {
	case opSotW:
		if run.sotw == nil {
			run.sotw = openFuzz(t, discoveryv3.NewAggregatedDiscoveryServiceClient(run.e.conn).StreamAggregatedResources,
				func(r *discoveryv3.DiscoveryResponse) (string, string) { return r.GetTypeUrl(), r.GetNonce() })
		}
		typeURL := r.str(fuzzTypes)
		req := &discoveryv3.DiscoveryRequest{TypeUrl: typeURL, ResourceNames: r.names()}
		req.ResponseNonce = r.nonce(run.sotw.lastNonce(typeURL))
		req.VersionInfo = r.raw()
		req.ErrorDetail = r.errorDetail()
		req.Node = r.node()
		send(t, run.sotw.stream.Send, req)
	case opDelta:
		if run.delta == nil {
			run.delta = openFuzz(t, discoveryv3.NewAggregatedDiscoveryServiceClient(run.e.conn).DeltaAggregatedResources,
				func(r *discoveryv3.DeltaDiscoveryResponse) (string, string) { return r.GetTypeUrl(), r.GetNonce() })
		}
		typeURL := r.str(fuzzTypes)
		req := &discoveryv3.DeltaDiscoveryRequest{
			TypeUrl:                  typeURL,
			ResourceNamesSubscribe:   r.names(),
			ResourceNamesUnsubscribe: r.names(),
		}
		if n := r.pick(3); n > 0 {
			req.InitialResourceVersions = map[string]string{}
			for range n {
				req.InitialResourceVersions[r.str(fuzzNames)] = r.raw()
			}
		}
		req.ResponseNonce = r.nonce(run.delta.lastNonce(typeURL))
		req.ErrorDetail = r.errorDetail()
		req.Node = r.node()
		run.knowDelta(typeURL, req.ResourceNamesSubscribe...)
		for n := range req.InitialResourceVersions {
			run.knowDelta(typeURL, n)
		}
		send(t, run.delta.stream.Send, req)
	case opLRS:
		if run.lrs == nil {
			run.lrs = openFuzz(t, lrsv3.NewLoadReportingServiceClient(run.e.conn).StreamLoadStats, nil)
			run.lrsAnswered = false
		}
		req := &lrsv3.LoadStatsRequest{Node: r.node()}
		for range r.pick(4) {
			req.ClusterStats = append(req.ClusterStats, r.clusterStats())
		}
		send(t, run.lrs.stream.Send, req)
		if !run.lrsAnswered {
			// The first request of an LRS stream always gets the one
			// response: wait for it, which bounds the handler too.
			run.lrsAnswered = true
			waitUntil(t, "the LRS response", func() bool {
				run.lrs.mu.Lock()
				defer run.lrs.mu.Unlock()
				return len(run.lrs.resps) > 0 || run.lrs.err != nil
			})
		}
	case opUpdate:
		if err := run.e.cache.Update(fuzzOutput(uint32(r.byte()), uint32(r.byte()))); err != nil {
			t.Fatalf("snapshot update: %v", err)
		}
	case opClose:
		switch r.pick(3) {
		case 0:
			run.closeSotW()
		case 1:
			run.closeDelta()
		case 2:
			run.closeLRS()
		}
	}
	run.check()
}

func (r *fuzzBytes) clusterStats() *endpointv3.ClusterStats {
	n := func() uint64 { return uint64(r.byte()) << (r.pick(8) * 8) } // up to 2^63
	cs := &endpointv3.ClusterStats{ClusterName: r.str(fuzzNames), ClusterServiceName: r.raw(), TotalDroppedRequests: n()}
	for range r.pick(3) {
		cs.UpstreamLocalityStats = append(cs.UpstreamLocalityStats, &endpointv3.UpstreamLocalityStats{
			Locality:                &corev3.Locality{Region: r.raw()},
			TotalSuccessfulRequests: n(), TotalErrorRequests: n(), TotalIssuedRequests: n(), TotalRequestsInProgress: n(),
		})
	}
	return cs
}

// send sends req; an error means the server ended the stream, which it
// may do (a stop), but not for a request it could have ignored.
func send[Req any](t *testing.T, fn func(*Req) error, req *Req) {
	t.Helper()
	if err := fn(req); err != nil {
		t.Fatalf("send %v: %v", req, err)
	}
}

// check validates every response received so far, and that no stream
// ended with an error (serin ends a stream only when it stops).
func (run *fuzzRun) check() {
	t := run.t
	t.Helper()
	if run.sotw != nil {
		for _, r := range run.sotw.take() {
			checkSotW(t, r)
		}
		ended(t, "sotw", &run.sotw.mu, &run.sotw.err)
	}
	if run.delta != nil {
		for _, r := range run.delta.take() {
			checkDelta(t, r, run.deltaKnown[r.GetTypeUrl()])
			for _, res := range r.GetResources() {
				run.knowDelta(r.GetTypeUrl(), res.GetName())
			}
		}
		ended(t, "delta", &run.delta.mu, &run.delta.err)
	}
	if run.lrs != nil {
		resps := run.lrs.take()
		if len(resps) > 1 {
			t.Errorf("LRS sent %d responses, want only the first", len(resps))
		}
		for _, r := range resps {
			if !r.GetSendAllClusters() || r.GetLoadReportingInterval().AsDuration() <= 0 {
				t.Errorf("LRS response %v", r)
			}
		}
		ended(t, "lrs", &run.lrs.mu, &run.lrs.err)
	}
}

func ended(t *testing.T, what string, mu *sync.Mutex, err *error) {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if *err != nil {
		t.Fatalf("the server ended the %s stream: %v", what, *err)
	}
}

func checkSotW(t *testing.T, r *discoveryv3.DiscoveryResponse) {
	t.Helper()
	if _, ok := snapshot.KindOf(r.GetTypeUrl()); !ok {
		t.Fatalf("SotW response of unserved type %q", r.GetTypeUrl())
	}
	if r.GetNonce() == "" || r.GetVersionInfo() == "" {
		t.Errorf("SotW %s response without nonce (%q) or version (%q)", short(r.GetTypeUrl()), r.GetNonce(), r.GetVersionInfo())
	}
	for _, a := range r.GetResources() {
		if a.GetTypeUrl() != r.GetTypeUrl() {
			t.Errorf("SotW %s response holds a %s", short(r.GetTypeUrl()), a.GetTypeUrl())
		}
	}
	validate(t, r.GetResources())
}

func checkDelta(t *testing.T, r *discoveryv3.DeltaDiscoveryResponse, known map[string]bool) {
	t.Helper()
	if _, ok := snapshot.KindOf(r.GetTypeUrl()); !ok {
		t.Fatalf("delta response of unserved type %q", r.GetTypeUrl())
	}
	if r.GetNonce() == "" {
		t.Errorf("delta %s response without nonce", short(r.GetTypeUrl()))
	}
	removed := map[string]bool{}
	for _, n := range r.GetRemovedResources() {
		if !known[n] {
			t.Errorf("delta %s response removes %q, which the client never subscribed to, had or was sent", short(r.GetTypeUrl()), n)
		}
		removed[n] = true
	}
	for _, res := range r.GetResources() {
		if res.GetName() == "" || res.GetVersion() == "" || res.GetResource().GetTypeUrl() != r.GetTypeUrl() {
			t.Errorf("delta %s response resource %q version %q of type %s",
				short(r.GetTypeUrl()), res.GetName(), res.GetVersion(), res.GetResource().GetTypeUrl())
		}
		if removed[res.GetName()] {
			t.Errorf("delta %s response both sends and removes %q", short(r.GetTypeUrl()), res.GetName())
		}
		validate(t, []*anypb.Any{res.GetResource()})
	}
}

func (run *fuzzRun) closeSotW() {
	if run.sotw != nil {
		run.sotw.close()
		run.sotw = nil
	}
}

func (run *fuzzRun) closeDelta() {
	if run.delta != nil {
		run.delta.close()
		run.delta = nil
		run.deltaKnown = nil
	}
}

func (run *fuzzRun) closeLRS() {
	if run.lrs != nil {
		run.lrs.close()
		run.lrs = nil
	}
}

func (run *fuzzRun) closeAll() {
	run.closeSotW()
	run.closeDelta()
	run.closeLRS()
}

// probe asks for CDS on a fresh stream: whatever the input did, the server
// must still answer a new client.
func (run *fuzzRun) probe() {
	t := run.t
	s := openFuzz(t, discoveryv3.NewAggregatedDiscoveryServiceClient(run.e.conn).StreamAggregatedResources, nil)
	defer s.close()
	send(t, s.stream.Send, &discoveryv3.DiscoveryRequest{Node: node("probe", "default", ""), TypeUrl: snapshot.ClusterType})
	waitUntil(t, "a CDS response to a fresh client", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.resps) > 0 || s.err != nil
	})
	for _, r := range s.take() {
		checkSotW(t, r)
		if len(r.GetResources()) != 2 {
			t.Errorf("probe got %d clusters, want 2", len(r.GetResources()))
		}
	}
}

// settled waits until the server has no stream left and the goroutine
// count is back to base: a handler that deadlocked, or a goroutine a
// stream leaked, keeps it above.
func settled(t *testing.T, srv *Server, base int) {
	t.Helper()
	deadline := time.Now().Add(fuzzOpDeadline)
	for {
		srv.mu.Lock()
		n := len(srv.streams)
		srv.mu.Unlock()
		g := runtime.NumGoroutine()
		if n == 0 && g <= base {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the streams closed: %d streams open, %d goroutines (baseline %d):\n%s", n, g, base, stacks())
		}
		time.Sleep(time.Millisecond)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(fuzzOpDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v:\n%s", what, fuzzOpDeadline, stacks())
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func stacks() string {
	b := make([]byte, 1<<20)
	return fmt.Sprintf("%s", b[:runtime.Stack(b, true)])
}
