package xds

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/serin-dev/serin/snapshot"
)

// autoEnvoy plays an Envoy over SotW: wildcard CDS and LDS, EDS and RDS by
// the names those carry, ACKing everything. Every RDS ACK is reported.
func autoEnvoy(ctx context.Context, conn *grpc.ClientConn, id string, rdsAcked chan<- string) error {
	s, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return err
	}
	n := node(id, "default", "")
	send := func(typeURL string, names []string, r *discoveryv3.DiscoveryResponse) error {
		req := &discoveryv3.DiscoveryRequest{Node: n, TypeUrl: typeURL, ResourceNames: names}
		if r != nil {
			req.VersionInfo, req.ResponseNonce = r.GetVersionInfo(), r.GetNonce()
		}
		return s.Send(req)
	}
	if err := send(cds, nil, nil); err != nil {
		return err
	}
	if err := send(lds, nil, nil); err != nil {
		return err
	}
	var edsNames []string
	for {
		r, err := s.Recv()
		if err != nil {
			return nil
		}
		switch r.GetTypeUrl() {
		case cds:
			names := resourceNames(r.GetResources())
			if !slices.Equal(names, edsNames) {
				edsNames = names
				if err := send(eds, edsNames, nil); err != nil {
					return err
				}
			}
			err = send(cds, nil, r)
		case eds:
			err = send(eds, edsNames, r)
		case lds:
			if err := send(rds, []string{"http"}, nil); err != nil {
				return err
			}
			err = send(lds, nil, r)
		case rds:
			err = send(rds, []string{"http"}, r)
			select {
			case rdsAcked <- r.GetVersionInfo():
			case <-ctx.Done():
			}
		}
		if err != nil {
			return err
		}
	}
}

// BenchmarkPushToACK: time from a weight change (Cache.Update) until 100
// simulated Envoys have ACKed the new routes. Reports p50 and p99.
func BenchmarkPushToACK(b *testing.B) {
	const nodes = 100
	cache := snapshot.NewCache()
	defer cache.Close()
	srv, err := New(cache)
	if err != nil {
		b.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	gs := NewGRPCServer()
	srv.Register(gs)
	go gs.Serve(lis)
	defer func() { srv.Stop(); gs.GracefulStop() }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if err := cache.Update(defaultFleet(app(90, 10).Resources())); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	acked := make(chan string, nodes)
	done := make(chan struct{}, nodes)
	for i := range nodes {
		go func() { _ = autoEnvoy(ctx, conn, fmt.Sprintf("envoy-%d", i), acked); done <- struct{}{} }()
	}
	waitAll := func(version string) {
		for got := 0; got < nodes; {
			if v := <-acked; version == "" || v == version {
				got++
			}
		}
	}
	waitAll("")

	var lat []time.Duration
	w := uint32(10)
	for b.Loop() {
		w = w%80 + 1
		start := time.Now()
		if err := cache.Update(defaultFleet(app(100-w, w).Resources())); err != nil {
			b.Fatal(err)
		}
		// The nodes subscribe to route configuration "http" only; their
		// version is that subset's.
		waitAll(snapshot.SetVersion([]*snapshot.Resource{cache.Snapshot("default").Get(snapshot.KindRoute, "http")}))
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	cancel()
	for range nodes {
		<-done
	}
}
