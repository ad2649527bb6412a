package xds

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	xdsgrpc "google.golang.org/grpc/xds" // registers the xds resolver and balancers

	"github.com/serin-dev/serin/pkg/ident"
	st "github.com/serin-dev/serin/snapshot/snapshottest"
	"github.com/serin-dev/serin/translator"
)

// backend is a gRPC server answering health checks.
func backend(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, health.NewServer())
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

// grpcResources: API listener "myapp" splitting over two backends, with
// LRS reporting to the management server itself.
func grpcResources(v1, v2 string, w1, w2 uint32) *translator.Resources {
	r := &translator.Resources{Origins: map[ident.Resource][]ident.Ref{}}
	for i, addr := range []string{v1, v2} {
		name := fmt.Sprintf("myapp-v%d_default", i+1)
		c := st.Cluster(name)
		c.LrsServer = &corev3.ConfigSource{ConfigSourceSpecifier: &corev3.ConfigSource_Self{Self: &corev3.SelfConfigSource{}}}
		r.Clusters = append(r.Clusters, c)
		r.Endpoints = append(r.Endpoints, st.Endpoints(name, addr))
	}
	r.APIListeners = []*listenerv3.Listener{st.APIListener("myapp", "myapp")}
	r.Routes = []*routev3.RouteConfiguration{st.Route("myapp", []string{"myapp"},
		st.Split{Cluster: "myapp-v1_default", Weight: w1}, st.Split{Cluster: "myapp-v2_default", Weight: w2})}
	return r
}

// The real grpc-go xDS client, through this server: named subscriptions
// for all four types, the 90/10 split, a live change to 50/50, LRS.
func TestRealGRPCClient(t *testing.T) {
	e := start(t)
	v1, v2 := backend(t), backend(t)
	if err := e.cache.Update(defaultFleet(grpcResources(v1, v2, 90, 10))); err != nil {
		t.Fatal(err)
	}
	addr := e.conn.Target()
	bootstrap := fmt.Sprintf(`{"xds_servers":[{"server_uri":%q,"channel_creds":[{"type":"insecure"}],"server_features":["xds_v3"]}],
		"node":{"id":"grpc-client","cluster":"default"}}`, addr)
	resolver, err := xdsgrpc.NewXDSResolverWithConfigForTesting([]byte(bootstrap))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient("xds:///myapp", grpc.WithResolvers(resolver), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	split := func(n int) (toV2 int) {
		t.Helper()
		for range n {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			var p peer.Peer
			_, err := client.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Peer(&p))
			cancel()
			if err != nil {
				t.Fatalf("RPC: %v", err)
			}
			if p.Addr.String() == v2 {
				toV2++
			}
		}
		return toV2
	}
	// 1,000 RPCs at 10%: mean 100, sd 9.5; 60..140 is over 4 sd.
	if got := split(1000); got < 60 || got > 140 {
		t.Errorf("v2 got %d of 1000 RPCs at 90/10", got)
	}

	if err := e.cache.Update(defaultFleet(grpcResources(v1, v2, 50, 50))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the 50/50 split", func() bool { got := split(200); return got > 70 && got < 130 })

	for _, n := range e.srv.Nodes() {
		if n.ID != "grpc-client" {
			continue
		}
		if len(n.Types) != 4 {
			t.Errorf("grpc client subscribed to %d types", len(n.Types))
		}
		for _, ts := range n.Types {
			if ts.LastNack != nil || ts.AckedVersion != ts.SentVersion || ts.Wildcard {
				t.Errorf("grpc client %s: %+v", ts.Type, ts)
			}
		}
	}
	waitFor(t, "LRS reports", func() bool {
		a, _ := e.srv.Loads().Total("myapp-v1_default")
		b, _ := e.srv.Loads().Total("myapp-v2_default")
		return a.Successful+b.Successful >= 1000
	})
}
