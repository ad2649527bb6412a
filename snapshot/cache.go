package snapshot

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/serin-dev/serin/translator"
)

// DefaultDrain is how long a removed cluster is still served after the
// routes stop naming it. Routes reach every node and are ACKed in well under
// 100 ms (the push-to-ACK p99 target for 100 Envoys); two seconds is twenty
// times that, enough for a slow node or a GC pause, and short enough that a
// dead cluster's health checks and connection pools don't linger.
const DefaultDrain = 2 * time.Second

// Option configures a Cache.
type Option func(*Cache)

// WithDrain sets how long removed clusters outlive the routes that named
// them. Zero removes them in the same version (no make-before-break).
func WithDrain(d time.Duration) Option { return func(c *Cache) { c.drain = d } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(c *Cache) { c.log = l } }

// Cache holds the current snapshot of every fleet and tells subscribers
// which fleets changed.
type Cache struct {
	log   *slog.Logger
	drain time.Duration

	// updateMu serializes publishing: Update, drain expiry and the
	// notifications that follow them, so subscribers see changes in order.
	updateMu sync.Mutex
	last     *translator.Output
	draining map[string]map[string]*drained // fleet -> cluster name
	checkers map[string]*checker            // fleet -> memoized consistency check
	timer    *time.Timer
	closed   bool

	mu      sync.RWMutex
	snaps   map[string]*Snapshot
	subs    map[int]func(changed []string)
	nextSub int
	ready   chan struct{}
}

// NewCache returns an empty cache; it is ready after the first Update.
func NewCache(opts ...Option) *Cache {
	c := &Cache{
		log:      slog.Default(),
		drain:    DefaultDrain,
		draining: map[string]map[string]*drained{},
		checkers: map[string]*checker{},
		snaps:    map[string]*Snapshot{},
		subs:     map[int]func([]string){},
		ready:    make(chan struct{}),
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// ErrClosed is returned by Update after Close.
var ErrClosed = errors.New("snapshot cache closed")

// Update publishes translator output. The output must not be modified
// afterwards. Fleets whose snapshot is unchanged are left alone and their
// subscribers are not woken. A fleet whose output fails Check keeps its
// previous snapshot; the error names the fleet and every dangling reference,
// and the other fleets are still published.
func (c *Cache) Update(out *translator.Output) error {
	c.updateMu.Lock()
	defer c.updateMu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.last = out
	return c.publish(time.Now())
}

// Close stops the drain timer; later Updates fail.
func (c *Cache) Close() {
	c.updateMu.Lock()
	defer c.updateMu.Unlock()
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
	}
}

// Ready is closed once the default fleet has a snapshot.
func (c *Cache) Ready() <-chan struct{} { return c.ready }

// Snapshot returns the fleet's snapshot, the default fleet's when the fleet
// does not exist, or nil before the first Update.
func (c *Cache) Snapshot(fleet string) *Snapshot {
	_, s := c.Resolve(fleet)
	return s
}

// Resolve returns the first candidate that names a fleet, and its snapshot;
// DefaultFleet when none does. Empty candidates are skipped.
func (c *Cache) Resolve(candidates ...string) (string, *Snapshot) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, f := range candidates {
		if s, ok := c.snaps[f]; ok && f != "" {
			return f, s
		}
	}
	return DefaultFleet, c.snaps[DefaultFleet]
}

// Fleets returns the names of the published fleets, sorted.
func (c *Cache) Fleets() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]string, 0, len(c.snaps))
	for f := range c.snaps {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// Subscribe calls fn after every publish that changed something, with the
// names of the fleets whose snapshot changed, appeared or disappeared (a
// node whose candidate fleet appears or disappears moves). Calls are
// serialized and in publish order; fn must return quickly. cancel removes it.
func (c *Cache) Subscribe(fn func(changed []string)) (cancel func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.nextSub
	c.nextSub++
	c.subs[id] = fn
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.subs, id)
	}
}

// publish rebuilds every fleet from c.last; callers hold updateMu.
func (c *Cache) publish(now time.Time) error {
	c.mu.RLock()
	old := c.snaps
	c.mu.RUnlock()

	next := make(map[string]*Snapshot, len(c.last.Fleets))
	var changed []string
	var errs []error
	for _, fleet := range slices.Sorted(maps.Keys(c.last.Fleets)) {
		res, prev := c.last.Fleets[fleet], old[fleet]
		if res == nil {
			res = &translator.Resources{}
		}
		ck := c.checkers[fleet]
		if ck == nil {
			ck = newChecker()
			c.checkers[fleet] = ck
		}
		if err := ck.check(res); err != nil {
			errs = append(errs, fmt.Errorf("fleet %q not published, it is inconsistent: %w", fleet, err))
			if prev != nil {
				next[fleet] = prev
			}
			continue
		}
		extra, draining := c.retain(fleet, res, prev, now)
		s, err := build(fleet, res, prev, extra)
		if err != nil {
			errs = append(errs, fmt.Errorf("fleet %q not published: %w", fleet, err))
			if prev != nil {
				next[fleet] = prev
			}
			continue
		}
		s.draining = draining
		s.Published = now
		if prev.Equal(s) {
			s.Published = prev.Published
		} else {
			changed = append(changed, fleet)
		}
		next[fleet] = s
	}
	for fleet := range old {
		if _, ok := next[fleet]; !ok {
			changed = append(changed, fleet)
			delete(c.draining, fleet)
			delete(c.checkers, fleet)
		}
	}

	c.mu.Lock()
	c.snaps = next
	subs := make([]func([]string), 0, len(c.subs))
	for _, id := range slices.Sorted(maps.Keys(c.subs)) {
		subs = append(subs, c.subs[id])
	}
	c.mu.Unlock()

	if next[DefaultFleet] != nil {
		select {
		case <-c.ready:
		default:
			close(c.ready)
		}
	}
	c.scheduleDrain(now)
	if len(changed) > 0 {
		slices.Sort(changed)
		c.log.Debug("snapshot published", "changed", changed)
		for _, fn := range subs {
			fn(changed)
		}
	}
	return errors.Join(errs...)
}
