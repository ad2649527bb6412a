package canary

import (
	"cmp"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// View is a Canary as the admin API shows it: status, limits and the live
// numbers of the current step.
type View struct {
	Namespace    string               `json:"namespace"`
	Name         string               `json:"name"`
	Phase        v1alpha1.CanaryPhase `json:"phase"`
	Release      string               `json:"release"`
	Stable       string               `json:"stable"`
	Group        string               `json:"upstreamGroup"`
	Provider     string               `json:"provider"`
	Step         int32                `json:"step"`
	Steps        []int32              `json:"steps"`
	Weight       int32                `json:"weight"`
	StepStarted  *time.Time           `json:"stepStarted,omitempty"`
	FailedChecks int32                `json:"failedChecks"`
	Suspended    bool                 `json:"suspended,omitempty"`
	// Message says why the rollout waits (a gate, a pause, a provider).
	Message string     `json:"message,omitempty"`
	Limits  LimitsView `json:"limits"`
	// Live is the latest check of the current step.
	Live   *Verdict   `json:"live,omitempty"`
	LiveAt *time.Time `json:"liveAt,omitempty"`
	// Decisions are the release's latest decisions, newest last.
	Decisions []DecisionView `json:"decisions"`
}

// LimitsView is the analysis as applied.
type LimitsView struct {
	Interval        string   `json:"interval"`
	MinRequests     int64    `json:"minRequests"`
	MaxStepDuration string   `json:"maxStepDuration"`
	MaxErrorRate    *float64 `json:"maxErrorRate,omitempty"`
	MaxLatencyP99   string   `json:"maxLatencyP99,omitempty"`
	Confidence      float64  `json:"confidence,omitempty"`
	MaxLatencyRatio float64  `json:"maxLatencyRatio,omitempty"`
	FailureLimit    int32    `json:"failureLimit"`
	OnInsufficient  string   `json:"onInsufficientTraffic"`
}

// DecisionView is a decision with its precise time (At; the status keeps
// seconds) and, when the engine still has it, the full judgement.
type DecisionView struct {
	v1alpha1.CanaryDecision
	At        time.Time `json:"at"`
	Judgement *Verdict  `json:"judgement,omitempty"`
}

// viewOf is r's view for the admin API.
func viewOf(r *rollout) View {
	s, p := &r.st, r.st.plan
	a := p.obj.Spec.Analysis
	v := View{
		Namespace: r.key.Namespace, Name: r.key.Name, Phase: s.status.Phase, Release: s.status.Release,
		Stable: p.stableT.Namespace + "/" + p.stableT.Upstream, Group: p.groupID, Provider: a.Provider,
		Step: s.status.Step, Steps: p.weights, Weight: s.status.Weight, FailedChecks: s.status.FailedChecks,
		Suspended: p.obj.Spec.Suspend, Message: s.message, Live: s.live,
		Limits: LimitsView{
			Interval: a.Interval.Get(0).String(), MinRequests: p.limits.MinRequests, MaxStepDuration: p.maxStep.String(),
			MaxErrorRate: a.MaxErrorRate, Confidence: p.limits.Confidence, MaxLatencyRatio: p.limits.MaxLatencyRatio,
			OnInsufficient: string(a.OnInsufficientTraffic),
		},
		Decisions: slices.Clone(s.decisions),
	}
	if p.limits.MaxLatencyP99 > 0 {
		v.Limits.MaxLatencyP99 = p.limits.MaxLatencyP99.String()
	}
	if a.FailureLimit != nil {
		v.Limits.FailureLimit = *a.FailureLimit
	}
	if !s.stepStart.IsZero() {
		t := s.stepStart
		v.StepStarted = &t
	}
	if !s.liveAt.IsZero() {
		t := s.liveAt
		v.LiveAt = &t
	}
	if v.Decisions == nil {
		v.Decisions = []DecisionView{}
	}
	return v
}

// viewSet holds the views the admin API reads, off the engine's loop.
type viewSet struct {
	mu sync.RWMutex
	m  map[string]View
}

func (vs *viewSet) set(id string, v View) {
	vs.mu.Lock()
	vs.m[id] = v
	vs.mu.Unlock()
}

func (vs *viewSet) drop(id string) {
	vs.mu.Lock()
	delete(vs.m, id)
	vs.mu.Unlock()
}

// prune drops the views of the Canaries not in live.
func (vs *viewSet) prune(live map[string]bool) {
	vs.mu.Lock()
	for id := range vs.m {
		if !live[id] {
			delete(vs.m, id)
		}
	}
	vs.mu.Unlock()
}

// List returns every Canary's view sorted by namespace/name.
func (e *Engine) List() []View {
	e.views.mu.RLock()
	out := make([]View, 0, len(e.views.m))
	for _, v := range e.views.m {
		out = append(out, v)
	}
	e.views.mu.RUnlock()
	slices.SortFunc(out, func(a, b View) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// Get returns one Canary's view.
func (e *Engine) Get(key ident.Key) (View, bool) {
	e.views.mu.RLock()
	defer e.views.mu.RUnlock()
	v, ok := e.views.m[key.String()]
	return v, ok
}

// History returns a Canary's releases, oldest first.
func (e *Engine) History(key ident.Key) ([]Release, error) {
	return e.cfg.Releases.Releases(key)
}

func encode(st *v1alpha1.CanaryStatus) string {
	b, _ := json.Marshal(st)
	return string(b)
}
