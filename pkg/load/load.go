// Package load keeps the load that clients report (LRS): per-interval
// reports fanned out to subscribers, and per-cluster totals. It knows
// nothing of the protocol: the xds package's LRS service turns each
// ClusterStats into a Report and adds it here; the metrics LRS provider
// and the peers poller read from here. Both sides depend on this package,
// neither on the other.
package load

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// Report is one node's report for one cluster over one interval, summed
// over localities. Counts are for the interval; InProgress is the node's
// current gauge.
type Report struct {
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

// Totals are a cluster's cumulative counts since serin started, summed
// over every reporting node and locality. InProgress is the sum of each
// connected reporter's latest gauge.
type Totals struct {
	Cluster    string    `json:"cluster"`
	Successful uint64    `json:"successful"`
	Error      uint64    `json:"error"`
	Issued     uint64    `json:"issued"`
	Dropped    uint64    `json:"dropped"`
	InProgress uint64    `json:"inProgress"`
	Reports    uint64    `json:"reports"`
	Updated    time.Time `json:"updated"`
}

// Store keeps totals per cluster and fans reports out.
type Store struct {
	mu       sync.Mutex
	totals   map[string]*Totals
	progress map[string]map[int64]uint64 // cluster -> reporter -> in progress
	subs     map[int]func(Report)
	nextSub  int
	// maxClusters bounds totals: beyond it the cluster reported least
	// recently is forgotten (0: no bound).
	maxClusters int
}

// Option configures a Store.
type Option func(*Store)

// WithMaxClusters keeps totals for at most n clusters: adding another
// forgets the one whose last report is oldest. Clusters come and go with
// releases, and reporters name what they like, so without a bound the
// store would only grow.
func WithMaxClusters(n int) Option { return func(l *Store) { l.maxClusters = n } }

// NewStore returns an empty store.
func NewStore(opts ...Option) *Store {
	l := &Store{totals: map[string]*Totals{}, progress: map[string]map[int64]uint64{}, subs: map[int]func(Report){}}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Totals returns every cluster's totals, sorted by cluster.
func (l *Store) Totals() []Totals {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Totals, 0, len(l.totals))
	for _, t := range l.totals {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Totals) int { return cmp.Compare(a.Cluster, b.Cluster) })
	return out
}

// Total returns one cluster's totals.
func (l *Store) Total(cluster string) (Totals, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.totals[cluster]
	if !ok {
		return Totals{}, false
	}
	return *t, true
}

// Subscribe calls fn for every per-cluster report, on the reporting
// node's goroutine: fn must return quickly. cancel removes it.
func (l *Store) Subscribe(fn func(Report)) (cancel func()) {
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

// Add counts r, reported by reporter (an LRS stream), and hands it to the
// subscribers.
func (l *Store) Add(reporter int64, r Report) {
	l.mu.Lock()
	t := l.totals[r.Cluster]
	if t == nil {
		if l.maxClusters > 0 && len(l.totals) >= l.maxClusters {
			l.evictOldest()
		}
		t = &Totals{Cluster: r.Cluster}
		l.totals[r.Cluster] = t
	}
	t.Successful += r.Successful
	t.Error += r.Error
	t.Issued += r.Issued
	t.Dropped += r.Dropped
	t.Reports++
	t.Updated = r.Received
	if l.progress[r.Cluster] == nil {
		l.progress[r.Cluster] = map[int64]uint64{}
	}
	l.progress[r.Cluster][reporter] = r.InProgress
	l.sumProgress(r.Cluster)
	subs := make([]func(Report), 0, len(l.subs))
	for _, fn := range l.subs {
		subs = append(subs, fn)
	}
	l.mu.Unlock()
	for _, fn := range subs {
		fn(r)
	}
}

// Drop forgets a reporter that left: its in-progress gauges no longer
// count.
func (l *Store) Drop(reporter int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c, m := range l.progress {
		if _, ok := m[reporter]; ok {
			delete(m, reporter)
			if len(m) == 0 {
				delete(l.progress, c) // nothing of the reporter is kept
			}
			l.sumProgress(c)
		}
	}
}

// evictOldest forgets the cluster whose last report is oldest. It walks
// every cluster, but runs only when a new cluster arrives at the bound.
func (l *Store) evictOldest() {
	var oldest *Totals
	for _, t := range l.totals {
		if oldest == nil || t.Updated.Before(oldest.Updated) {
			oldest = t
		}
	}
	if oldest != nil {
		delete(l.totals, oldest.Cluster)
		delete(l.progress, oldest.Cluster)
	}
}

func (l *Store) sumProgress(cluster string) {
	var sum uint64
	for _, v := range l.progress[cluster] {
		sum += v
	}
	if t := l.totals[cluster]; t != nil {
		t.InProgress = sum
	}
}
