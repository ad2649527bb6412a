package xds

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/serin-dev/serin/snapshot"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a real gRPC server on 127.0.0.1:0 serving a cache.
type env struct {
	cache *snapshot.Cache
	srv   *Server
	reg   *prometheus.Registry
	conn  *grpc.ClientConn
	nacks chan Nack
}

func start(t *testing.T, cacheOpts ...snapshot.Option) *env {
	t.Helper()
	return startWith(t, nil, cacheOpts...)
}

// startWith is start with server options (e.g. WithLimits); later options
// override the defaults it sets.
func startWith(t testing.TB, srvOpts []Option, cacheOpts ...snapshot.Option) *env {
	t.Helper()
	return startGRPC(t, nil, srvOpts, cacheOpts...)
}

// startGRPC is startWith with options for the gRPC server too.
func startGRPC(t testing.TB, grpcOpts []grpc.ServerOption, srvOpts []Option, cacheOpts ...snapshot.Option) *env {
	t.Helper()
	e := &env{cache: snapshot.NewCache(cacheOpts...), reg: prometheus.NewRegistry(), nacks: make(chan Nack, 16)}
	srv, err := New(e.cache, append([]Option{WithRegisterer(e.reg), WithNackHandler(func(n Nack) { e.nacks <- n })}, srvOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := NewGRPCServer(grpcOpts...)
	srv.Register(gs)
	served := make(chan struct{})
	go func() { defer close(served); _ = gs.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	e.conn = conn
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		gs.GracefulStop()
		<-served
		e.cache.Close()
	})
	return e
}

func node(id, cluster string, role string) *corev3.Node {
	n := &corev3.Node{Id: id, Cluster: cluster}
	if role != "" {
		n.Metadata, _ = structpb.NewStruct(map[string]any{"role": role})
	}
	return n
}

// sotwClient is a raw ADS state-of-the-world client.
type sotwClient struct {
	t      *testing.T
	node   *corev3.Node
	stream grpc.BidiStreamingClient[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse]
	resps  chan *discoveryv3.DiscoveryResponse
	errc   chan error // the stream's end
	// last response per type, for ACKs
	last map[string]*discoveryv3.DiscoveryResponse
	// end closes the stream, as a node that leaves.
	end context.CancelFunc
}

func (e *env) sotw(t *testing.T, n *corev3.Node) *sotwClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := discoveryv3.NewAggregatedDiscoveryServiceClient(e.conn).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := &sotwClient{t: t, node: n, stream: st, resps: make(chan *discoveryv3.DiscoveryResponse, 100), errc: make(chan error, 1), last: map[string]*discoveryv3.DiscoveryResponse{}, end: cancel}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			r, err := st.Recv()
			if err != nil {
				c.errc <- err
				return
			}
			c.resps <- r
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

// request sends a request for typeURL naming names; it ACKs (or, with
// nackMsg, NACKs) the last response of that type.
func (c *sotwClient) request(typeURL string, names []string, nackMsg string) {
	c.t.Helper()
	req := &discoveryv3.DiscoveryRequest{Node: c.node, TypeUrl: typeURL, ResourceNames: names}
	if l := c.last[typeURL]; l != nil {
		req.ResponseNonce = l.GetNonce()
		req.VersionInfo = l.GetVersionInfo()
		if nackMsg != "" {
			req.VersionInfo = "" // the last accepted one; none here
			req.ErrorDetail = &statuspb.Status{Code: 3, Message: nackMsg}
		}
	}
	// io.EOF: the server already ended the stream (a refusal can come
	// before it reads anything); the status is what Recv gives, on errc.
	if err := c.stream.Send(req); err != nil && !errors.Is(err, io.EOF) {
		c.t.Fatal(err)
	}
}

func (c *sotwClient) ack(r *discoveryv3.DiscoveryResponse, names []string) {
	c.t.Helper()
	c.request(r.GetTypeUrl(), names, "")
}

// expect returns the next response, which must be of typeURL.
func (c *sotwClient) expect(typeURL string) *discoveryv3.DiscoveryResponse {
	c.t.Helper()
	select {
	case r := <-c.resps:
		if r.GetTypeUrl() != typeURL {
			c.t.Fatalf("got a %s response, want %s", short(r.GetTypeUrl()), short(typeURL))
		}
		c.last[typeURL] = r
		validate(c.t, r.GetResources())
		return r
	case <-time.After(5 * time.Second):
		c.t.Fatalf("no %s response", short(typeURL))
	}
	return nil
}

// quiet asserts that no response arrives for d.
func (c *sotwClient) quiet(d time.Duration) {
	c.t.Helper()
	select {
	case r := <-c.resps:
		c.t.Fatalf("unexpected %s response %v", short(r.GetTypeUrl()), resourceNames(r.GetResources()))
	case <-time.After(d):
	}
}

// count counts responses over d.
func (c *sotwClient) count(d time.Duration) int {
	n := 0
	deadline := time.After(d)
	for {
		select {
		case <-c.resps:
			n++
		case <-deadline:
			return n
		}
	}
}

func short(typeURL string) string {
	if k, ok := snapshot.KindOf(typeURL); ok {
		return k.String()
	}
	return typeURL
}

// validate decodes every resource and runs its generated ValidateAll, the
// check go-control-plane applies.
func validate(t *testing.T, as []*anypb.Any) {
	t.Helper()
	for _, a := range as {
		m, err := a.UnmarshalNew()
		if err != nil {
			t.Fatalf("decode %s: %v", a.GetTypeUrl(), err)
		}
		v, ok := m.(interface{ ValidateAll() error })
		if !ok {
			t.Fatalf("%T has no ValidateAll", m)
		}
		if err := v.ValidateAll(); err != nil {
			t.Errorf("%T: %v", m, err)
		}
	}
}

func resourceNames(as []*anypb.Any) []string {
	var out []string
	for _, a := range as {
		m, err := a.UnmarshalNew()
		if err != nil {
			continue
		}
		switch r := m.(type) {
		case interface{ GetClusterName() string }:
			out = append(out, r.GetClusterName())
		case interface{ GetName() string }:
			out = append(out, r.GetName())
		}
	}
	slices.Sort(out)
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
