// Package peers sums the load that other serin replicas receive into the
// leader's LRS provider. Every replica serves xDS and receives the LRS
// reports of the proxies connected to it, but only the leader runs the
// canary engine: the leader polls each peer's GET /api/v1/loadreports
// (cumulative totals since that peer started), turns the totals into
// deltas and feeds them to the engine next to its own clients' reports.
package peers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/serin-dev/serin/pkg/load"
)

// InstanceHeader carries a replica's instance id on /api/v1/loadreports,
// so that a poller recognizes itself among the discovered peers.
const InstanceHeader = "X-Serin-Instance"

// LoadReportsPath is the admin endpoint polled on each peer.
const LoadReportsPath = "/api/v1/loadreports"

// Defaults of Config.
const (
	DefaultInterval = time.Second
	// DefaultTimeout bounds each poll (discovery and every peer's GET,
	// fetched in parallel). It is below the interval so that a hung or
	// partitioned peer can never stack polls up or delay the next one, and
	// far above what the endpoint needs (an in-memory map encoded as
	// JSON): a peer that slow counts at the next poll instead, since
	// totals are cumulative and nothing is lost.
	DefaultTimeout = 800 * time.Millisecond
	// errorEvery is how often one peer's repeated failures are logged.
	errorEvery = 30 * time.Second
	// maxBody caps a peer's answer (about 200 bytes per cluster).
	maxBody = 64 << 20
)

// Sink receives a peer's new load on one cluster; metrics.LRS.Observe.
type Sink func(cluster string, successful, failed uint64, at time.Time)

// Discover returns the base URLs of the peers' admin APIs (for example
// http://10.0.0.5:19000). It may include this replica: the poller
// recognizes itself by its instance id.
type Discover func(ctx context.Context) ([]string, error)

// Config configures a Poller.
type Config struct {
	// Self is this replica's instance id (the admin API's InstanceHeader).
	Self string
	// Discover lists the peers at every poll.
	Discover Discover
	// Sink receives the deltas.
	Sink Sink
	// IsLeader gates polling; nil means always. When it turns false every
	// peer's baseline is forgotten, so leading again counts only new load.
	IsLeader func() bool
	// Interval between polls; DefaultInterval when zero.
	Interval time.Duration
	// Timeout of one poll; DefaultTimeout when zero.
	Timeout time.Duration
	// Client; a plain http.Client when nil (each poll's context bounds it).
	Client *http.Client
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Log; slog.Default when nil.
	Log *slog.Logger
}

// Poller polls the peers while this replica leads.
type Poller struct {
	cfg     Config
	tracker *tracker
	self    map[string]bool // base URLs that answered with our own id
	errs    *errorLog
	leading bool
}

// New returns a Poller.
func New(cfg Config) (*Poller, error) {
	if cfg.Discover == nil || cfg.Sink == nil {
		return nil, fmt.Errorf("peers: Discover and Sink are required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cfg.Log = cfg.Log.With("component", "peers")
	return &Poller{cfg: cfg, tracker: newTracker(), self: map[string]bool{}, errs: newErrorLog(cfg.Log, errorEvery, cfg.Now)}, nil
}

// Run polls every interval until ctx ends. It runs on its own goroutine
// and only calls Sink, so the canary engine never waits for a peer.
func (p *Poller) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		p.Poll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Poll polls every peer once (if this replica leads) and feeds the deltas
// to the sink. Run calls it; tests call it directly.
func (p *Poller) Poll(ctx context.Context) {
	if p.cfg.IsLeader != nil && !p.cfg.IsLeader() {
		if p.leading {
			p.tracker.reset()
			clear(p.self)
			p.leading = false
		}
		return
	}
	p.leading = true
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	urls, err := p.cfg.Discover(ctx)
	if err != nil {
		p.errs.log("discover", "discovering peers", err)
		return // keep every baseline: the peers are likely still there
	}
	p.errs.ok("discover")
	current := make(map[string]bool, len(urls))
	var todo []string
	for _, u := range urls {
		u = strings.TrimRight(u, "/")
		if u == "" || current[u] {
			continue
		}
		current[u] = true
		if !p.self[u] {
			todo = append(todo, u)
		}
	}
	p.tracker.retain(current)
	p.errs.retain(current)
	for u := range p.self {
		if !current[u] {
			delete(p.self, u)
		}
	}

	results := make([]fetched, len(todo))
	var wg sync.WaitGroup
	for i, u := range todo {
		wg.Go(func() { results[i] = p.fetch(ctx, u) })
	}
	wg.Wait()
	for i, r := range results {
		u := todo[i]
		switch {
		case r.err != nil:
			// Keep the baseline: the next answer's totals include what
			// this one would have counted.
			p.errs.log(u, "polling peer", r.err)
		case r.instance == p.cfg.Self && p.cfg.Self != "":
			p.self[u] = true // our own clients reach the engine directly
		default:
			p.errs.ok(u)
			for _, d := range p.tracker.observe(u, r.instance, r.totals) {
				p.cfg.Sink(d.Cluster, d.Successful, d.Failed, r.at)
			}
		}
	}
}

type fetched struct {
	instance string
	totals   []load.Totals
	at       time.Time
	err      error
}

func (p *Poller) fetch(ctx context.Context, base string) fetched {
	var f fetched
	tok := ""
	// A peer answers in pages (the admin API bounds every list); follow
	// them, up to maxPages.
	for page := 0; ; page++ {
		if page == maxPages {
			return fetched{err: fmt.Errorf("GET %s: more than %d pages", LoadReportsPath, maxPages)}
		}
		u := base + LoadReportsPath + "?limit=" + strconv.Itoa(pageLimit)
		if tok != "" {
			u += "&continue=" + url.QueryEscape(tok)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return fetched{err: err}
		}
		resp, err := p.cfg.Client.Do(req)
		if err != nil {
			return fetched{err: err}
		}
		if resp.StatusCode != http.StatusOK {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			return fetched{err: fmt.Errorf("GET %s: %s", LoadReportsPath, resp.Status)}
		}
		f.instance = resp.Header.Get(InstanceHeader)
		if f.instance == p.cfg.Self && f.instance != "" {
			resp.Body.Close()
			return fetched{instance: f.instance} // no need to read our own totals
		}
		var part []load.Totals
		err = json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&part)
		resp.Body.Close()
		if err != nil {
			return fetched{err: fmt.Errorf("GET %s: %w", LoadReportsPath, err)}
		}
		f.totals = append(f.totals, part...)
		if tok = resp.Header.Get(continueHeader); tok == "" {
			break
		}
	}
	f.at = p.cfg.Now()
	return f
}

// Paging through a peer's load reports (see the admin API's lists).
const (
	pageLimit      = 5000
	maxPages       = 20
	continueHeader = "X-Serin-Continue"
)
