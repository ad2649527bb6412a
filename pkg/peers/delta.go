package peers

import "github.com/serin-dev/serin/pkg/load"

// Delta is one peer's new load on one cluster since the previous poll.
type Delta struct {
	Cluster    string
	Successful uint64
	Failed     uint64
}

// counts is what the tracker keeps of one peer's cluster.
type counts struct{ successful, failed, reports uint64 }

// peerState is the last totals seen from one peer (one base URL).
type peerState struct {
	instance string // the peer's X-Serin-Instance
	clusters map[string]counts
}

// tracker turns each peer's cumulative per-cluster totals (GET
// /api/v1/loadreports: counts since that replica started) into deltas.
// It is used by one goroutine at a time.
type tracker struct {
	peers map[string]*peerState // base URL -> last totals
}

func newTracker() *tracker { return &tracker{peers: map[string]*peerState{}} }

// observe records one peer's totals and returns what is new since the
// previous observe of that peer:
//   - a peer seen for the first time is a baseline: nothing is counted, so
//     a replica that starts leading never counts traffic from before it led
//     (the engine marks its steps at takeover anyway);
//   - a new instance id at a known URL is a restarted peer (or a new pod
//     that got its IP): every total is new traffic since that process
//     started, so all of it counts;
//   - a total that went down means the peer restarted (the only sign of
//     it when a peer sends no instance id): the new total is the delta;
//   - a cluster that a known peer reports for the first time counts whole.
func (t *tracker) observe(url, instance string, totals []load.Totals) []Delta {
	prev, known := t.peers[url]
	next := &peerState{instance: instance, clusters: make(map[string]counts, len(totals))}
	for _, lt := range totals {
		next.clusters[lt.Cluster] = counts{successful: lt.Successful, failed: lt.Error, reports: lt.Reports}
	}
	t.peers[url] = next
	if !known {
		return nil
	}
	restarted := instance != prev.instance
	var out []Delta
	for _, lt := range totals {
		cur := next.clusters[lt.Cluster]
		old, seen := prev.clusters[lt.Cluster]
		if restarted || !seen || cur.successful < old.successful || cur.failed < old.failed || cur.reports < old.reports {
			old = counts{} // the whole total is new
		}
		d := Delta{Cluster: lt.Cluster, Successful: cur.successful - old.successful, Failed: cur.failed - old.failed}
		if d.Successful+d.Failed > 0 {
			out = append(out, d)
		}
	}
	return out
}

// retain forgets every peer not in urls: a peer that left discovery and
// comes back is a baseline again, never counted twice.
func (t *tracker) retain(urls map[string]bool) {
	for u := range t.peers {
		if !urls[u] {
			delete(t.peers, u)
		}
	}
}

// reset forgets every peer (when this replica stops leading).
func (t *tracker) reset() { clear(t.peers) }
