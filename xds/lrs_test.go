package xds

import (
	"context"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	lrsv3 "github.com/envoyproxy/go-control-plane/envoy/service/load_stats/v3"

	"github.com/serin-dev/serin/pkg/load"
)

func stats(cluster string, succ, errs, inProgress uint64) *endpointv3.ClusterStats {
	loc := func(region string, s, e, p uint64) *endpointv3.UpstreamLocalityStats {
		return &endpointv3.UpstreamLocalityStats{
			Locality:                &corev3.Locality{Region: region},
			TotalSuccessfulRequests: s, TotalErrorRequests: e, TotalIssuedRequests: s + e, TotalRequestsInProgress: p,
		}
	}
	// Split over two localities; the store sums them.
	return &endpointv3.ClusterStats{
		ClusterName: cluster,
		UpstreamLocalityStats: []*endpointv3.UpstreamLocalityStats{
			loc("a", succ/2, errs/2, inProgress/2), loc("b", succ-succ/2, errs-errs/2, inProgress-inProgress/2),
		},
	}
}

func TestLRS(t *testing.T) {
	e := start(t)
	update(t, e, app(90, 10))
	reports := make(chan load.Report, 10)
	defer e.srv.Loads().Subscribe(func(r load.Report) { reports <- r })()

	open := func(id string) (lrsv3.LoadReportingService_StreamLoadStatsClient, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		s, err := lrsv3.NewLoadReportingServiceClient(e.conn).StreamLoadStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(&lrsv3.LoadStatsRequest{Node: node(id, "default", "")}); err != nil {
			t.Fatal(err)
		}
		resp, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if !resp.GetSendAllClusters() || resp.GetLoadReportingInterval().AsDuration() != time.Second {
			t.Fatalf("LRS response = %v", resp)
		}
		return s, cancel
	}
	// Reports count only for clusters the node was served: a and b
	// receive CDS on ADS first, as every real client does.
	for _, id := range []string{"a", "b"} {
		c := e.sotw(t, node(id, "default", ""))
		c.request(cds, nil, "")
		c.expect(cds)
	}
	a, cancelA := open("a")
	b, cancelB := open("b")
	defer cancelB()
	send := func(s lrsv3.LoadReportingService_StreamLoadStatsClient, cs ...*endpointv3.ClusterStats) {
		if err := s.Send(&lrsv3.LoadStatsRequest{ClusterStats: cs}); err != nil {
			t.Fatal(err)
		}
	}
	send(a, stats("myapp-v1_default", 90, 2, 4), stats("myapp-v2_default", 10, 1, 0))
	send(b, stats("myapp-v1_default", 900, 20, 6))
	send(a, stats("myapp-v1_default", 10, 0, 2))
	for range 4 {
		select {
		case r := <-reports:
			if r.Fleet != "default" || (r.NodeID != "a" && r.NodeID != "b") {
				t.Errorf("report = %+v", r)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("missing report")
		}
	}
	v1, ok := e.srv.Loads().Total("myapp-v1_default")
	if !ok || v1.Successful != 1000 || v1.Error != 22 || v1.Issued != 1022 || v1.InProgress != 2+6 || v1.Reports != 3 {
		t.Errorf("v1 totals = %+v", v1)
	}
	if all := e.srv.Loads().Totals(); len(all) != 2 || all[1].Cluster != "myapp-v2_default" || all[1].Successful != 10 {
		t.Errorf("totals = %+v", all)
	}
	// A reporter that leaves no longer counts as in progress.
	cancelA()
	waitFor(t, "in-progress drop", func() bool {
		v1, _ := e.srv.Loads().Total("myapp-v1_default")
		return v1.InProgress == 6
	})
}
