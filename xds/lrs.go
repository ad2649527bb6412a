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
// and adds each report to the load store. A report steers canaries, so it
// counts only as far as its sender is trusted: for a cluster that serin
// sent in a CDS response to an ADS stream of the same node id and fleet.
// Anything else (a client that was never served the cluster, or names
// made-up ones) is dropped and counted in serin_xds_lrs_dropped_total.
func (l lrsService) StreamLoadStats(ss grpc.BidiStreamingServer[lrsv3.LoadStatsRequest, lrsv3.LoadStatsResponse]) error {
	s := l.s
	release, err := s.openStream("LRS")
	if err != nil {
		return err
	}
	defer release()
	s.mu.Lock()
	s.nextID++
	id := s.nextID
	s.mu.Unlock()
	defer s.loads.Drop(id)

	var node *corev3.Node
	var candidates []string
	warned := false
	handle := func(req *lrsv3.LoadStatsRequest) error {
		if node == nil {
			node = req.GetNode()
			if node == nil {
				node = &corev3.Node{}
			}
			if err := s.checkNode(node); err != nil {
				return err
			}
			candidates = fleetCandidates(node)
			if err := ss.Send(&lrsv3.LoadStatsResponse{
				SendAllClusters:       true,
				LoadReportingInterval: durationpb.New(s.lrsInterval),
			}); err != nil {
				return err
			}
		}
		css := req.GetClusterStats()
		if len(css) == 0 {
			return nil
		}
		if over(len(css), s.limits.MaxLRSClusters) {
			s.metrics.lrsDropped.WithLabelValues("too_many_clusters").Add(float64(len(css) - s.limits.MaxLRSClusters))
			css = css[:s.limits.MaxLRSClusters]
		}
		// Re-resolved per report, as the node's ADS streams re-resolve
		// on every publish.
		fleet, _ := s.cache.Resolve(candidates...)
		served := s.servedClusters(node.GetId(), fleet)
		now := time.Now()
		kept, notServed := 0, 0
		for _, cs := range css {
			switch {
			case !served.has(cs.GetClusterName()):
				notServed++
			case over(len(cs.GetUpstreamLocalityStats()), s.limits.MaxLRSLocalities):
				s.metrics.lrsDropped.WithLabelValues("too_many_localities").Inc()
			default:
				s.loads.Add(id, report(node, fleet, cs, now))
				kept++
			}
		}
		if notServed > 0 {
			s.metrics.lrsDropped.WithLabelValues("not_served").Add(float64(notServed))
			if !warned { // once per stream: the log is no amplifier
				warned = true
				s.log.Warn("dropping load reports for clusters not served to the reporting node",
					"node", node.GetId(), "fleet", fleet, "clusters", notServed,
					"example", truncateText(firstNotServed(css, served), 256))
			}
		}
		if kept > 0 {
			s.metrics.loadReports.Inc()
		}
		return nil
	}
	return loop(ss.Context(), s.done, ss.Recv, handle, nil, nil, nil)
}

// servedSets are sorted cluster lists, each read only.
type servedSets [][]string

func (ss servedSets) has(cluster string) bool {
	for _, set := range ss {
		if holds(set, cluster) {
			return true
		}
	}
	return false
}

// servedClusters returns what the ADS streams of node id in fleet were
// sent or hold of CDS: the clusters its load reports may name.
func (s *Server) servedClusters(id, fleet string) servedSets {
	s.mu.Lock()
	sts := make([]*stream, 0, len(s.byNode[id]))
	for _, st := range s.byNode[id] {
		sts = append(sts, st)
	}
	s.mu.Unlock()
	var out servedSets
	for _, st := range sts {
		out = append(out, st.heldClusters(fleet)...)
	}
	return out
}

func firstNotServed(css []*endpointv3.ClusterStats, served servedSets) string {
	for _, cs := range css {
		if !served.has(cs.GetClusterName()) {
			return cs.GetClusterName()
		}
	}
	return ""
}
