package loadtest

import (
	"slices"
	"sort"
	"time"
)

// Change is one weight change: service Service's canary weight set to
// Weight at At.
type Change struct {
	Seq     int
	Service int
	Weight  uint32
	At      time.Time
}

// BaseCanaryWeight is gen's default canary weight; change k sets
// CanaryWeight(k), unique and increasing.
const BaseCanaryWeight = 10

// CanaryWeight is the canary weight change k writes.
func CanaryWeight(k int) uint32 { return BaseCanaryWeight + 1 + uint32(k) }

// Summary is a latency distribution in milliseconds.
type Summary struct {
	N      int     `json:"n"`
	Min    float64 `json:"min_ms"`
	Median float64 `json:"median_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
}

// Summarize sorts d and summarizes it.
func Summarize(d []time.Duration) Summary {
	if len(d) == 0 {
		return Summary{}
	}
	slices.Sort(d)
	ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
	q := func(p float64) time.Duration {
		i := int(p*float64(len(d))+0.999999) - 1 // nearest rank
		return d[min(max(i, 0), len(d)-1)]
	}
	return Summary{N: len(d), Min: ms(d[0]), Median: ms(q(0.5)), P99: ms(q(0.99)), Max: ms(d[len(d)-1])}
}

// Latencies returns, for every (ACKing client, change) pair, the time from
// the change to the client's first ACK of a route version containing it,
// and how many pairs never converged. NACKing clients are left out (their
// cost is counted in responses).
func (f *Fleet) Latencies(changes []Change) (lat []time.Duration, missing int) {
	for _, m := range f.members {
		if m.nacker {
			continue
		}
		m.mu.Lock()
		evs := slices.Clone(m.events)
		m.mu.Unlock()
		for _, ch := range changes {
			i := sort.Search(len(evs), func(i int) bool { return !evs[i].at.Before(ch.At) })
			found := false
			for ; i < len(evs); i++ {
				if f.reg.Contains(evs[i].ver, ch.Service, ch.Weight) {
					lat = append(lat, evs[i].at.Sub(ch.At))
					found = true
					break
				}
			}
			if !found {
				missing++
			}
		}
	}
	return lat, missing
}

// Converged reports whether every ACKing client has ACKed a route version
// containing ch.
func (f *Fleet) Converged(ch Change) bool {
	for _, m := range f.members {
		if m.nacker {
			continue
		}
		m.mu.Lock()
		ok := len(m.events) > 0 && f.reg.Contains(m.events[len(m.events)-1].ver, ch.Service, ch.Weight)
		m.mu.Unlock()
		if !ok {
			return false
		}
	}
	return true
}

// NackerRouteResponses returns the route responses the NACKing clients
// received after their first, in total, and how many NACKing clients there
// are.
func (f *Fleet) NackerRouteResponses() (responses, clients int) {
	for _, m := range f.members {
		if !m.nacker {
			continue
		}
		clients++
		m.mu.Lock()
		responses += max(len(m.events)-1, 0)
		m.mu.Unlock()
	}
	return responses, clients
}
