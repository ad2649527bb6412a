package controlplane

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/store"
	"github.com/serin-dev/serin/translator"
)

// ResourceStatus is one object's translation result with its NACKs folded
// in, as the admin API lists it (GET /api/v1/resources) and the status
// writer reads it.
type ResourceStatus struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	State     string `json:"state"`
	Reason    string `json:"reason,omitempty"`
	// Origin is file:line in file mode.
	Origin string `json:"origin,omitempty"`
}

// Nack is a configuration rejection a node reported, attributed to the
// objects whose resources were in the rejected response.
type Nack struct {
	Node    string    `json:"node"`
	TypeURL string    `json:"typeUrl"`
	Version string    `json:"version"`
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
}

// Reports keeps the latest translation report of every object and the
// NACKs attributed to it. NACKs turn an Accepted object into a Warning that
// names the node and Envoy's message, until that node ACKs a later version
// of the same type or goes away.
type Reports struct {
	mu      sync.RWMutex
	reports []translator.Report
	index   map[ident.Ref]int
	origins map[ident.Ref]string
	// nacks by object, then by node+"\x00"+typeURL.
	nacks map[ident.Ref]map[string]Nack
	extra func() []ResourceStatus
	// live returns a check of whether a recorded NACK still stands (the
	// node is connected and has not been sent a later version of that
	// type). It is called once per read, so it can index the nodes once.
	live func() func(Nack) bool
	// liveCheck is the last check live returned, reused for liveTTL so that
	// a status pass asking for every object's NACKs indexes the nodes once.
	liveCheck func(Nack) bool
	liveAt    time.Time
}

// liveTTL bounds how stale a NACK's "still stands" answer may be: well
// under the status writer's 1 s pass, far above one pass's duration.
const liveTTL = 100 * time.Millisecond

// NewReports returns an empty set.
func NewReports() *Reports {
	return &Reports{nacks: map[ident.Ref]map[string]Nack{}}
}

// SetExtra adds entries that are not objects (files that failed to load).
func (r *Reports) SetExtra(fn func() []ResourceStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.extra = fn
}

// SetLive installs the check that drops NACKs that no longer stand; fn is
// called once per read and returns the check for that read. Without one, a
// NACK stands until ClearNacks.
func (r *Reports) SetLive(fn func() func(Nack) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live = fn
	r.liveCheck = nil
}

// SetTranslation replaces the reports with a new translation's.
func (r *Reports) SetTranslation(reports []translator.Report, txn *store.ReadTxn) {
	origins := make(map[ident.Ref]string, len(reports))
	index := make(map[ident.Ref]int, len(reports))
	for i, rep := range reports {
		index[rep.Ref] = i
		if o, ok := txn.Origin(rep.Kind, ident.Key{Namespace: rep.Namespace, Name: rep.Name}); ok && o.File != "" {
			origins[rep.Ref] = o.String()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reports = reports
	r.index = index
	r.origins = origins
}

// RecordNack attributes a NACK to objects.
func (r *Reports) RecordNack(n Nack, objs []ident.Ref) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range objs {
		m := r.nacks[o]
		if m == nil {
			m = map[string]Nack{}
			r.nacks[o] = m
		}
		m[n.Node+"\x00"+n.TypeURL] = n
	}
}

// ClearNacks forgets the NACKs of a node for a type (it ACKed a later
// version), or for every type when typeURL is empty (it disconnected).
func (r *Reports) ClearNacks(node, typeURL string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for o, m := range r.nacks {
		for k, n := range m {
			if n.Node == node && (typeURL == "" || n.TypeURL == typeURL) {
				delete(m, k)
			}
		}
		if len(m) == 0 {
			delete(r.nacks, o)
		}
	}
}

// Nacks returns the NACKs attributed to one object, oldest first.
func (r *Reports) Nacks(o ident.Ref) []Nack {
	live := r.prune()
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Nack, 0, len(r.nacks[o]))
	for _, n := range r.nacks[o] {
		if live(n) {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// Get returns one object's report with its NACKs folded in.
func (r *Reports) Get(o ident.Ref) (translator.Report, bool) {
	live := r.prune()
	r.mu.RLock()
	defer r.mu.RUnlock()
	i, ok := r.index[o]
	if !ok {
		return translator.Report{}, false
	}
	return r.withNacks(r.reports[i], live), true
}

// prune forgets the NACKs that no longer stand, so the bookkeeping does not
// grow with every node that ever connected, and returns the check it used.
func (r *Reports) prune() func(Nack) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live == nil {
		return func(Nack) bool { return true }
	}
	if r.liveCheck != nil && time.Since(r.liveAt) < liveTTL {
		return r.liveCheck
	}
	live := r.live()
	r.liveCheck, r.liveAt = live, time.Now()
	for o, m := range r.nacks {
		for k, n := range m {
			if !live(n) {
				delete(m, k)
			}
		}
		if len(m) == 0 {
			delete(r.nacks, o)
		}
	}
	return live
}

// withNacks folds NACKs into a report; callers hold mu.
func (r *Reports) withNacks(rep translator.Report, live func(Nack) bool) translator.Report {
	m := r.nacks[rep.Ref]
	if len(m) == 0 {
		return rep
	}
	keys := make([]string, 0, len(m))
	for k, n := range m {
		if live(n) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return rep
	}
	sort.Strings(keys)
	reasons := make([]string, 0, len(keys)+1)
	if rep.Reason != "" {
		reasons = append(reasons, rep.Reason)
	}
	for _, k := range keys {
		n := m[k]
		reasons = append(reasons, fmt.Sprintf("node %s rejected %s version %s: %s", n.Node, shortType(n.TypeURL), n.Version, n.Message))
	}
	if rep.State == v1alpha1.StateAccepted {
		rep.State = v1alpha1.StateWarning
	}
	rep.Reason = strings.Join(reasons, "; ")
	return rep
}

func shortType(typeURL string) string {
	if i := strings.LastIndexByte(typeURL, '.'); i >= 0 {
		return typeURL[i+1:]
	}
	return typeURL
}

// List renders every object's state for the admin API, NACKs folded in.
func (r *Reports) List() []ResourceStatus {
	live := r.prune()
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]ResourceStatus, 0, len(r.reports))
	if r.extra != nil {
		out = append(out, r.extra()...)
	}
	for _, rep := range r.reports {
		rep = r.withNacks(rep, live)
		out = append(out, ResourceStatus{
			Kind: rep.Kind, Namespace: rep.Namespace, Name: rep.Name,
			State: string(rep.State), Reason: rep.Reason, Origin: r.origins[rep.Ref],
		})
	}
	return out
}
