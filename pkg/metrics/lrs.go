package metrics

import (
	"context"
	"time"

	"github.com/serin-dev/serin/pkg/load"
)

// LRS turns the load reports that clients send to serin's own LRS service
// into windows. Each report covers one client's interval (load reports are
// deltas by protocol), so summing them is exact across the fleet and
// immune to reconnects: a client that reconnects simply reports its next
// interval. Requests are completed calls (successful + error); LRS carries
// no latency, so windows from LRS have none.
type LRS struct {
	l *ledger
}

// NewLRS returns an empty LRS provider. now may be nil (time.Now).
func NewLRS(now func() time.Time) *LRS { return &LRS{l: newLedger(now)} }

// Name implements Provider.
func (p *LRS) Name() string { return "lrs" }

// Observe adds one client's report for one cluster.
func (p *LRS) Observe(cluster string, successful, failed uint64, at time.Time) {
	p.l.add(cluster, successful+failed, failed, Histogram{}, at)
}

// Attach feeds every report added to loads (by the xDS server's LRS
// service) into p.
func (p *LRS) Attach(loads *load.Store) (cancel func()) {
	return loads.Subscribe(func(r load.Report) {
		if r.Successful+r.Error == 0 {
			return // an idle interval: nothing to count or to react to
		}
		p.Observe(r.Cluster, r.Successful, r.Error, r.Received)
	})
}

// Mark implements Provider.
func (p *LRS) Mark(t Target, start time.Time) Mark { return p.l.mark(t, start) }

// Window implements Provider.
func (p *LRS) Window(_ context.Context, t Target, m Mark) (Window, error) {
	return p.l.window(t, m), nil
}

// Notify implements Notifier: fn runs for every report with requests.
func (p *LRS) Notify(fn func(cluster string, at time.Time)) (cancel func()) { return p.l.Notify(fn) }

// Totals returns one cluster's totals since serin started.
func (p *LRS) Totals(cluster string) (Totals, bool) { return p.l.Totals(cluster) }
