package xds

import (
	"cmp"
	"slices"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	lrsv3 "github.com/envoyproxy/go-control-plane/envoy/service/load_stats/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
)

// LoadReport is one node's report for one cluster over one interval,
// summed over localities. Counts are for the interval; InProgress is the
// node's current gauge.
type LoadReport struct {
	NodeID     string        `json:"node"`
	Fleet      string        `json:"fleet"`
	Cluster    string        `json:"cluster"`
	Successful uint64        `json:"successful"`
	Error      uint64        `json:"error"`
	Issued     uint64        `json:"issued"`
	Dropped    uint64        `json:"dropped"`
	InProgress uint64        `json:"inProgress"`
	Interval   time.Duration `json:"interval"`
	Received   time.Time     `json:"received"`
}

// LoadTotals are a cluster's cumulative counts since serin started, summed
// over every reporting node and locality. InProgress is the sum of each
// connected reporter's latest gauge.
type LoadTotals struct {
	Cluster    string    `json:"cluster"`
	Successful uint64    `json:"successful"`
	Error      uint64    `json:"error"`
	Issued     uint64    `json:"issued"`
	Dropped    uint64    `json:"dropped"`
	InProgress uint64    `json:"inProgress"`
	Reports    uint64    `json:"reports"`
	Updated    time.Time `json:"updated"`
}

// LoadStore keeps LRS totals per cluster and fans reports out.
type LoadStore struct {
	mu       sync.Mutex
	totals   map[string]*LoadTotals
	progress map[string]map[int64]uint64 // cluster -> LRS stream -> in progress
	subs     map[int]func(LoadReport)
	nextSub  int
}

func newLoadStore() *LoadStore {
	return &LoadStore{totals: map[string]*LoadTotals{}, progress: map[string]map[int64]uint64{}, subs: map[int]func(LoadReport){}}
}

// Totals returns every cluster's totals, sorted by cluster.
func (l *LoadStore) Totals() []LoadTotals {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]LoadTotals, 0, len(l.totals))
	for _, t := range l.totals {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b LoadTotals) int { return cmp.Compare(a.Cluster, b.Cluster) })
	return out
}

// Total returns one cluster's totals.
func (l *LoadStore) Total(cluster string) (LoadTotals, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.totals[cluster]
	if !ok {
		return LoadTotals{}, false
	}
	return *t, true
}

// Subscribe calls fn for every per-cluster report, on the reporting
// node's goroutine: fn must return quickly. cancel removes it.
func (l *LoadStore) Subscribe(fn func(LoadReport)) (cancel func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	id := l.nextSub
	l.nextSub++
	l.subs[id] = fn
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.subs, id)
	}
}

func (l *LoadStore) add(stream int64, node *corev3.Node, fleet string, cs *endpointv3.ClusterStats, now time.Time) {
	r := LoadReport{
		NodeID: node.GetId(), Fleet: fleet, Cluster: cs.GetClusterName(),
		Dropped: cs.GetTotalDroppedRequests(), Interval: cs.GetLoadReportInterval().AsDuration(), Received: now,
	}
	for _, u := range cs.GetUpstreamLocalityStats() {
		r.Successful += u.GetTotalSuccessfulRequests()
		r.Error += u.GetTotalErrorRequests()
		r.Issued += u.GetTotalIssuedRequests()
		r.InProgress += u.GetTotalRequestsInProgress()
	}
	l.mu.Lock()
	t := l.totals[r.Cluster]
	if t == nil {
		t = &LoadTotals{Cluster: r.Cluster}
		l.totals[r.Cluster] = t
	}
	t.Successful += r.Successful
	t.Error += r.Error
	t.Issued += r.Issued
	t.Dropped += r.Dropped
	t.Reports++
	t.Updated = now
	if l.progress[r.Cluster] == nil {
		l.progress[r.Cluster] = map[int64]uint64{}
	}
	l.progress[r.Cluster][stream] = r.InProgress
	l.sumProgress(r.Cluster)
	subs := make([]func(LoadReport), 0, len(l.subs))
	for _, fn := range l.subs {
		subs = append(subs, fn)
	}
	l.mu.Unlock()
	for _, fn := range subs {
		fn(r)
	}
}

// drop forgets a closed LRS stream's in-progress gauges.
func (l *LoadStore) drop(stream int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c, m := range l.progress {
		if _, ok := m[stream]; ok {
			delete(m, stream)
			l.sumProgress(c)
		}
	}
}

func (l *LoadStore) sumProgress(cluster string) {
	var sum uint64
	for _, v := range l.progress[cluster] {
		sum += v
	}
	if t := l.totals[cluster]; t != nil {
		t.InProgress = sum
	}
}

// lrsService implements envoy.service.load_stats.v3.LoadReportingService.
type lrsService struct{ s *Server }

// StreamLoadStats asks the client for every cluster's load every interval
// and adds each report to the LoadStore.
func (l lrsService) StreamLoadStats(ss grpc.BidiStreamingServer[lrsv3.LoadStatsRequest, lrsv3.LoadStatsResponse]) error {
	s := l.s
	s.mu.Lock()
	s.nextID++
	id := s.nextID
	s.mu.Unlock()
	defer s.loads.drop(id)

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
			s.loads.add(id, node, fleet, cs, now)
		}
		if len(req.GetClusterStats()) > 0 {
			s.metrics.loadReports.Inc()
		}
		return nil
	}
	return loop(ss.Context(), s.done, ss.Recv, handle, nil, nil, nil)
}
