package canary

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/store"
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

func (e *Engine) viewOf(r *rollout) View {
	a := r.obj.Spec.Analysis
	v := View{
		Namespace: r.key.Namespace, Name: r.key.Name, Phase: r.status.Phase, Release: r.status.Release,
		Stable: r.stableT.Namespace + "/" + r.stableT.Upstream, Group: r.groupID, Provider: a.Provider,
		Step: r.status.Step, Steps: r.weights, Weight: r.status.Weight, FailedChecks: r.status.FailedChecks,
		Suspended: r.obj.Spec.Suspend, Message: r.message, Live: r.live,
		Limits: LimitsView{
			Interval: a.Interval.Get(0).String(), MinRequests: r.limits.MinRequests, MaxStepDuration: r.maxStep.String(),
			MaxErrorRate: a.MaxErrorRate, Confidence: r.limits.Confidence, MaxLatencyRatio: r.limits.MaxLatencyRatio,
			OnInsufficient: string(a.OnInsufficientTraffic),
		},
		Decisions: slices.Clone(r.decisions),
	}
	if r.limits.MaxLatencyP99 > 0 {
		v.Limits.MaxLatencyP99 = r.limits.MaxLatencyP99.String()
	}
	if a.FailureLimit != nil {
		v.Limits.FailureLimit = *a.FailureLimit
	}
	if !r.stepStart.IsZero() {
		t := r.stepStart
		v.StepStarted = &t
	}
	if !r.liveAt.IsZero() {
		t := r.liveAt
		v.LiveAt = &t
	}
	if v.Decisions == nil {
		v.Decisions = []DecisionView{}
	}
	return v
}

// publish refreshes r's view for the admin API.
func (e *Engine) publish(r *rollout) {
	v := e.viewOf(r)
	e.viewMu.Lock()
	e.views[r.id] = v
	e.viewMu.Unlock()
}

// List returns every Canary's view sorted by namespace/name.
func (e *Engine) List() []View {
	e.viewMu.RLock()
	out := make([]View, 0, len(e.views))
	for _, v := range e.views {
		out = append(out, v)
	}
	e.viewMu.RUnlock()
	slices.SortFunc(out, func(a, b View) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// Get returns one Canary's view.
func (e *Engine) Get(key store.Key) (View, bool) {
	e.viewMu.RLock()
	defer e.viewMu.RUnlock()
	v, ok := e.views[key.String()]
	return v, ok
}

// History returns a Canary's releases, oldest first.
func (e *Engine) History(key store.Key) ([]Release, error) {
	return e.cfg.Releases.Releases(key)
}

func encode(st *v1alpha1.CanaryStatus) string {
	b, _ := json.Marshal(st)
	return string(b)
}
