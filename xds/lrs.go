package xds

import (
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	lrsv3 "github.com/envoyproxy/go-control-plane/envoy/service/load_stats/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serin-dev/serin/pkg/load"
)

// report sums one ClusterStats over its localities.
func report(node *corev3.Node, fleet string, cs *endpointv3.ClusterStats, now time.Time) load.Report {
	r := load.Report{
		NodeID: node.GetId(), Fleet: fleet, Cluster: cs.GetClusterName(),
		Dropped: cs.GetTotalDroppedRequests(), Interval: cs.GetLoadReportInterval().AsDuration(), Received: now,
	}
	for _, u := range cs.GetUpstreamLocalityStats() {
		r.Successful += u.GetTotalSuccessfulRequests()
		r.Error += u.GetTotalErrorRequests()
		r.Issued += u.GetTotalIssuedRequests()
		r.InProgress += u.GetTotalRequestsInProgress()
	}
	return r
}

// lrsService implements envoy.service.load_stats.v3.LoadReportingService.
type lrsService struct{ s *Server }

// StreamLoadStats asks the client for every cluster's load every interval
// and adds each report to the load store.
func (l lrsService) StreamLoadStats(ss grpc.BidiStreamingServer[lrsv3.LoadStatsRequest, lrsv3.LoadStatsResponse]) error {
	s := l.s
	s.mu.Lock()
	s.nextID++
	id := s.nextID
	s.mu.Unlock()
	defer s.loads.Drop(id)

	var node *corev3.Node
	var fleet string
	handle := func(req *lrsv3.LoadStatsRequest) error {
		if node == nil {
			node = req.GetNode()
			if node == nil {
				node = &corev3.Node{}
			}
			fleet, _ = s.cache.Resolve(fleetCandidates(node)...)
			if err := ss.Send(&lrsv3.LoadStatsResponse{
				SendAllClusters:       true,
				LoadReportingInterval: durationpb.New(s.lrsInterval),
			}); err != nil {
				return err
			}
		}
		now := time.Now()
		for _, cs := range req.GetClusterStats() {
			s.loads.Add(id, report(node, fleet, cs, now))
		}
		if len(req.GetClusterStats()) > 0 {
			s.metrics.loadReports.Inc()
		}
		return nil
	}
	return loop(ss.Context(), s.done, ss.Recv, handle, nil, nil, nil)
}
