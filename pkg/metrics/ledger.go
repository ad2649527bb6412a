package metrics

import (
	"sync"
	"time"
)

// Totals are one cluster's counts since the provider started, summed over
// every reporting client. They only grow: each provider turns what its
// peers send (LRS deltas, Envoy's cumulative counters, interval histograms)
// into increments first, so client reconnects and counter resets never
// make them go back.
type Totals struct {
	Requests uint64
	Errors   uint64
	Latency  Histogram
	// First is when the cluster's first data arrived; Updated the latest.
	First   time.Time
	Updated time.Time
}

// ledger keeps Totals per cluster and tells subscribers about increments.
// LRS and the metrics service share it.
type ledger struct {
	now func() time.Time

	mu     sync.RWMutex
	totals map[string]*Totals
	subs   map[int]func(string, time.Time)
	nextID int
}

func newLedger(now func() time.Time) *ledger {
	if now == nil {
		now = time.Now
	}
	return &ledger{now: now, totals: map[string]*Totals{}, subs: map[int]func(string, time.Time){}}
}

// add records an increment for cluster and notifies subscribers.
func (l *ledger) add(cluster string, requests, errors uint64, latency Histogram, at time.Time) {
	l.mu.Lock()
	t := l.totals[cluster]
	if t == nil {
		t = &Totals{First: at}
		l.totals[cluster] = t
	}
	t.Requests += requests
	t.Errors += errors
	t.Latency.add(latency)
	t.Updated = at
	var subs []func(string, time.Time)
	if len(l.subs) > 0 {
		subs = make([]func(string, time.Time), 0, len(l.subs))
		for _, fn := range l.subs {
			subs = append(subs, fn)
		}
	}
	l.mu.Unlock()
	for _, fn := range subs {
		fn(cluster, at)
	}
}

// Notify implements Notifier.
func (l *ledger) Notify(fn func(string, time.Time)) (cancel func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	id := l.nextID
	l.nextID++
	l.subs[id] = fn
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.subs, id)
	}
}

// Totals returns a copy of one cluster's totals.
func (l *ledger) Totals(cluster string) (Totals, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	t, ok := l.totals[cluster]
	if !ok {
		return Totals{}, false
	}
	c := *t
	c.Latency = t.Latency.clone()
	return c, true
}

// mark snapshots a cluster's totals as a window's beginning. A cluster
// with no data yet gets zero totals: everything that arrives counts.
func (l *ledger) mark(t Target, start time.Time) Mark {
	tot, _ := l.Totals(t.Cluster)
	return Mark{Time: start, base: &tot}
}

// window is the difference between now and the mark.
func (l *ledger) window(t Target, m Mark) Window {
	now := l.now()
	w := Window{From: m.Time, To: now}
	l.mu.RLock()
	cur, ok := l.totals[t.Cluster]
	if !ok {
		l.mu.RUnlock()
		return w
	}
	if m.base == nil {
		// No baseline (restart): the provider's data all came after the
		// step began, as long as it started after it.
		if cur.First.After(w.From) {
			w.From = cur.First
		}
		w.Requests, w.Errors = cur.Requests, cur.Errors
		w.Latency = cur.Latency.clone()
		l.mu.RUnlock()
		return w
	}
	w.Requests = sat(cur.Requests, m.base.Requests)
	w.Errors = sat(cur.Errors, m.base.Errors)
	w.Latency = cur.Latency.sub(m.base.Latency)
	l.mu.RUnlock()
	return w
}

// sat is a - b, or 0 when b > a (which totals that only grow rule out).
func sat(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}
