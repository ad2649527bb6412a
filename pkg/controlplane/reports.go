package controlplane

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"

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
	// Serving is set on a Rejected object whose last accepted version is
	// served in its place (translator.Report.Serving).
	Serving *translator.Served `json:"serving,omitempty"`
}

// Reports keeps the latest translation report of every object and folds in
// the NACKs that stand against it: they turn an Accepted object into a
// Warning that names the node and Envoy's message. The xDS server owns the
// NACKs and says which still stand (SetNacks); Reports only reads them.
type Reports struct {
	mu      sync.RWMutex
	reports []translator.Report
	index   map[ident.Ref]int
	origins map[ident.Ref]string
	extra   func() []ResourceStatus
	// nacks returns the NACKs that stand against an object, oldest first.
	nacks func(ident.Ref) []v1alpha1.NackStatus
}

// NewReports returns an empty set.
func NewReports() *Reports {
	return &Reports{}
}

// SetExtra adds entries that are not objects (files that failed to load).
func (r *Reports) SetExtra(fn func() []ResourceStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.extra = fn
}

// SetNacks installs where the NACKs standing against an object come from
// (xds.Server.StandingNacks). Without it, no object shows a NACK.
func (r *Reports) SetNacks(fn func(ident.Ref) []v1alpha1.NackStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nacks = fn
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

// Nacks returns the NACKs that stand against one object, oldest first.
func (r *Reports) Nacks(o ident.Ref) []v1alpha1.NackStatus {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.nacksOf(o)
}

// nacksOf is Nacks; callers hold mu.
func (r *Reports) nacksOf(o ident.Ref) []v1alpha1.NackStatus {
	if r.nacks == nil {
		return nil
	}
	return r.nacks(o)
}

// Get returns one object's report with its NACKs folded in.
func (r *Reports) Get(o ident.Ref) (translator.Report, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	i, ok := r.index[o]
	if !ok {
		return translator.Report{}, false
	}
	return r.withNacks(r.reports[i]), true
}

// withNacks folds the standing NACKs into a report; callers hold mu.
func (r *Reports) withNacks(rep translator.Report) translator.Report {
	ns := r.nacksOf(rep.Ref)
	if len(ns) == 0 {
		return rep
	}
	ns = slices.SortedFunc(slices.Values(ns), func(a, b v1alpha1.NackStatus) int {
		return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.TypeURL, b.TypeURL))
	})
	reasons := make([]string, 0, len(ns)+1)
	if rep.Reason != "" {
		reasons = append(reasons, rep.Reason)
	}
	for _, n := range ns {
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
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]ResourceStatus, 0, len(r.reports))
	if r.extra != nil {
		out = append(out, r.extra()...)
	}
	for _, rep := range r.reports {
		rep = r.withNacks(rep)
		out = append(out, ResourceStatus{
			Kind: rep.Kind, Namespace: rep.Namespace, Name: rep.Name,
			State: string(rep.State), Reason: rep.Reason, Origin: r.origins[rep.Ref],
			Serving: rep.Serving,
		})
	}
	return out
}
