package canary

import (
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/metrics"
)

// plan is what a rollout follows: its Canary's spec, defaulted and parsed
// once per version of the spec. transition reads it and never changes it;
// a new spec is a new plan (specChanged).
type plan struct {
	obj              *v1alpha1.Canary // defaulted copy
	release          string           // the canary upstream: releaseID(obj)
	weights          []int32
	limits           Limits
	interval         time.Duration
	maxStep          time.Duration
	settle           time.Duration // Config.Settle
	canaryT, stableT metrics.Target
	groupID          string
}

func newPlan(c *v1alpha1.Canary, settle time.Duration) *plan {
	obj := c.DeepCopy()
	obj.Default()
	st, cn := obj.Spec.Stable.In(obj.Namespace), obj.Spec.Canary.In(obj.Namespace)
	return &plan{
		obj: obj, release: releaseID(obj), weights: obj.Weights(), limits: LimitsOf(obj.Spec.Analysis),
		interval: obj.Spec.Analysis.Interval.Get(10 * time.Second),
		maxStep:  obj.Spec.Analysis.MaxStepDuration.Get(10 * time.Minute),
		settle:   settle,
		stableT:  metrics.Target{Namespace: st.Namespace, Upstream: st.Name, Cluster: ident.ClusterName(ident.NewKey(st.Namespace, st.Name)), Canary: cn.Name, Stable: st.Name},
		canaryT:  metrics.Target{Namespace: cn.Namespace, Upstream: cn.Name, Cluster: ident.ClusterName(ident.NewKey(cn.Namespace, cn.Name)), Canary: cn.Name, Stable: st.Name},
		groupID:  obj.Spec.UpstreamGroup.In(obj.Namespace).String(),
	}
}

// strategy is the plan's strategy (defaulted: canary).
func (p *plan) strategy() v1alpha1.CanaryStrategy {
	if p.obj.Spec.Strategy == "" {
		return v1alpha1.StrategyCanary
	}
	return p.obj.Spec.Strategy
}

// bake is analysis.bakeTime (0: none).
func (p *plan) bake() time.Duration { return p.obj.Spec.Analysis.BakeTime.Get(0) }

// releaseID is the canary upstream a rollout is for.
func releaseID(c *v1alpha1.Canary) string { return c.Spec.Canary.In(c.Namespace).String() }

// rollout is the runner's record of one Canary: the machine's state and
// what the runner needs to carry out its effects.
type rollout struct {
	key       ident.Key
	id        string
	src       *v1alpha1.Canary // the store's object, to notice changes
	st        state
	lastSaved string // the saved status, encoded, to skip equal writes
	// unsaved holds the status and releases whose save failed, retried
	// with backoff (retrySaves) until they are saved: a rollback must not
	// be lost. A later successful save of the status supersedes unsaved.
	unsaved         *v1alpha1.CanaryStatus
	unsavedReleases map[int]Release
	saveRetryAt     time.Time
	saveBackoff     time.Duration
}

// clusterIndex finds the rollouts that judge a cluster (as canary or
// stable), for the reports about it.
type clusterIndex map[string][]*rollout

// set adds (add) or removes r under its plan's clusters.
func (x clusterIndex) set(r *rollout, add bool) {
	p := r.st.plan
	for _, c := range []string{p.canaryT.Cluster, p.stableT.Cluster} {
		list := x[c]
		for i, y := range list {
			if y == r {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if add {
			list = append(list, r)
		}
		if len(list) == 0 {
			delete(x, c)
		} else {
			x[c] = list
		}
	}
}
