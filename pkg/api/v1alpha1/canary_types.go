package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +genclient
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=cn,categories=serin
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Step",type=integer,JSONPath=`.status.step`
// +kubebuilder:printcolumn:name="Weight",type=integer,JSONPath=`.status.weight`
// +kubebuilder:printcolumn:name="Canary",type=string,JSONPath=`.spec.canary.name`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Canary walks a release through weighted steps of an UpstreamGroup, judging
// each step on the numbers the data plane reports, and promotes or rolls back.
type Canary struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec CanarySpec `json:"spec"`
	// +optional
	Status CanaryStatus `json:"status,omitempty"`
}

// CanarySpec names the group and the two upstreams, the steps and the analysis.
type CanarySpec struct {
	// UpstreamGroup whose weights the engine drives. Its spec is never rewritten:
	// the engine's weights override it while a rollout is active.
	UpstreamGroup ResourceRef `json:"upstreamGroup"`
	// Stable is the upstream that serves today; it must be in the group.
	Stable ResourceRef `json:"stable"`
	// Canary is the new release; it must be in the group. Changing it starts a
	// new rollout.
	Canary ResourceRef `json:"canary"`
	// Mirror is an optional shadow phase before any live traffic.
	// +optional
	Mirror *CanaryMirror `json:"mirror,omitempty"`
	// Steps are the canary weights in percent, in order. Either steps or
	// stepWeight (with maxWeight) is given.
	// +optional
	Steps []CanaryStep `json:"steps,omitempty"`
	// StepWeight adds this much weight per step up to MaxWeight, then 100.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	StepWeight *int32 `json:"stepWeight,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	MaxWeight *int32 `json:"maxWeight,omitempty"`
	// +optional
	Analysis CanaryAnalysis `json:"analysis,omitempty"`
	// +optional
	Webhooks []CanaryWebhook `json:"webhooks,omitempty"`
	// Suspend stops the engine from acting on this canary.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
	// Strategy is how the release takes traffic: canary (default: weighted
	// steps), blueGreen (mirror, then all traffic at once) or abTest (a
	// cohort matched by header or cookie gets the canary, then all traffic).
	// +optional
	Strategy CanaryStrategy `json:"strategy,omitempty"`
	// ABTest is the cohort of the abTest strategy.
	// +optional
	ABTest *CanaryABTest `json:"abTest,omitempty"`
	// Stickiness keeps a user on one version while the canary's share
	// grows: routes hash on the header or cookie and pick the version by
	// that hash, canary first, so a user in the canary at 5% is still in it
	// at 20%. Proxyless gRPC clients ignore it and pick at random.
	// +optional
	Stickiness *CanaryStickiness `json:"stickiness,omitempty"`
}

// CanaryStrategy is how a release takes traffic.
// +kubebuilder:validation:Enum=canary;blueGreen;abTest
type CanaryStrategy string

const (
	StrategyCanary    CanaryStrategy = "canary"
	StrategyBlueGreen CanaryStrategy = "blueGreen"
	StrategyABTest    CanaryStrategy = "abTest"
)

// CanaryABTest is the cohort sent to the canary in the abTest strategy:
// requests that match every header (and the cookie, when given) go to the
// canary; everyone else stays on stable until promotion.
type CanaryABTest struct {
	// Headers that a request must all match.
	// +optional
	Headers []HeaderMatcher `json:"headers,omitempty"`
	// Cookie that a request must carry with this value.
	// +optional
	Cookie *CookieMatcher `json:"cookie,omitempty"`
	// Duration the cohort is judged at least before promotion. Default:
	// one passing check.
	// +optional
	Duration Duration `json:"duration,omitempty"`
}

// CookieMatcher matches a cookie by name and exact value.
type CookieMatcher struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength=1
	Value string `json:"value"`
}

// CanaryStickiness is what identifies a user: a request header, or a
// cookie (Envoy sets it when it is missing if the Upstreams balance by
// hash, loadBalancer.ringHash; otherwise the application sets it).
// Exactly one is given.
type CanaryStickiness struct {
	// Header such as x-user-id.
	// +optional
	Header string `json:"header,omitempty"`
	// Cookie Envoy hashes on; with ring-hash Upstreams Envoy also sets it
	// (with the TTL) when absent.
	// +optional
	Cookie *StickyCookie `json:"cookie,omitempty"`
}

// StickyCookie is a cookie Envoy generates to pin a user to a version.
type StickyCookie struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// TTL of the cookie Envoy sets. Default 24h.
	// +optional
	TTL Duration `json:"ttl,omitempty"`
	// Path of the cookie. Default "/".
	// +optional
	Path string `json:"path,omitempty"`
}

// CanaryMirror mirrors live traffic to the canary before it takes any.
type CanaryMirror struct {
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Percentage float64 `json:"percentage"`
	// Duration of the shadow phase.
	Duration Duration `json:"duration"`
}

// CanaryStep is one weight and an optional pause after it passes.
type CanaryStep struct {
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Weight int32 `json:"weight"`
	// Pause holds the step at least this long before it can pass.
	// +optional
	Pause Duration `json:"pause,omitempty"`
}

// InsufficientTrafficAction is what happens when a step never sees enough requests.
// +kubebuilder:validation:Enum=Pause;Fail
type InsufficientTrafficAction string

const (
	InsufficientTrafficPause InsufficientTrafficAction = "Pause"
	InsufficientTrafficFail  InsufficientTrafficAction = "Fail"
)

// CanaryAnalysis is how each step is judged.
type CanaryAnalysis struct {
	// Interval between checks. Default 10s.
	// +optional
	Interval Duration `json:"interval,omitempty"`
	// MinRequests is the number of canary requests a step needs before it can
	// pass or fail. Default 100.
	// +optional
	MinRequests *int64 `json:"minRequests,omitempty"`
	// MaxStepDuration bounds a step that lacks traffic. Default 10m.
	// +optional
	MaxStepDuration Duration `json:"maxStepDuration,omitempty"`
	// OnInsufficientTraffic is Pause (default) or Fail.
	// +optional
	OnInsufficientTraffic InsufficientTrafficAction `json:"onInsufficientTraffic,omitempty"`
	// MaxErrorRate is the largest canary error rate in percent since the step began.
	// +optional
	MaxErrorRate *float64 `json:"maxErrorRate,omitempty"`
	// MaxLatencyP99 is the largest canary p99 latency.
	// +optional
	MaxLatencyP99 Duration `json:"maxLatencyP99,omitempty"`
	// CompareWithStable adds statistical tests against the stable upstream.
	// +optional
	CompareWithStable *CompareWithStable `json:"compareWithStable,omitempty"`
	// FailureLimit is the number of consecutive failed checks that roll back. Default 2.
	// +optional
	FailureLimit *int32 `json:"failureLimit,omitempty"`
	// Provider is where numbers come from: lrs (default), metricsService or prometheus.
	// +optional
	// +kubebuilder:validation:Enum=lrs;metricsService;prometheus
	Provider string `json:"provider,omitempty"`
	// Metrics are extra Prometheus queries with bounds.
	// +optional
	Metrics []CanaryMetric `json:"metrics,omitempty"`
	// BakeTime keeps judging once the canary has all traffic (after the
	// last step, promote --full, or a blueGreen/abTest switch): a failure
	// during it rolls back; the release is Succeeded only after it.
	// Default 0 (no bake).
	// +optional
	BakeTime Duration `json:"bakeTime,omitempty"`
}

// CompareWithStable tests the canary against the stable over the same window.
type CompareWithStable struct {
	// Confidence of the error-rate test, e.g. 0.99.
	// +optional
	Confidence *float64 `json:"confidence,omitempty"`
	// MaxLatencyRatio is the largest canary/stable p99 ratio, e.g. 1.5.
	// +optional
	MaxLatencyRatio *float64 `json:"maxLatencyRatio,omitempty"`
}

// CanaryMetric is a Prometheus query that must stay within bounds.
type CanaryMetric struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Query is PromQL; {{canary}}, {{stable}}, {{namespace}} and {{interval}}
	// are substituted before it runs.
	// +kubebuilder:validation:MinLength=1
	Query string `json:"query"`
	// +optional
	Min *float64 `json:"min,omitempty"`
	// +optional
	Max *float64 `json:"max,omitempty"`
}

// WebhookType says when a webhook is called.
// +kubebuilder:validation:Enum=pre-rollout;step;confirm-promotion;post-rollout;rollback;event
type WebhookType string

const (
	WebhookPreRollout       WebhookType = "pre-rollout"
	WebhookStep             WebhookType = "step"
	WebhookConfirmPromotion WebhookType = "confirm-promotion"
	WebhookPostRollout      WebhookType = "post-rollout"
	WebhookRollback         WebhookType = "rollback"
	WebhookEvent            WebhookType = "event"
)

// CanaryWebhook is an HTTP POST the engine makes at points of a rollout.
// Gating types (pre-rollout, step, confirm-promotion) hold the rollout until
// the hook answers 2xx.
type CanaryWebhook struct {
	// +kubebuilder:validation:MinLength=1
	Name string      `json:"name"`
	Type WebhookType `json:"type"`
	// +kubebuilder:validation:MinLength=1
	URL string `json:"url"`
	// Timeout default 10s.
	// +optional
	Timeout Duration `json:"timeout,omitempty"`
	// +optional
	Metadata map[string]string `json:"metadata,omitempty"`
}

// CanaryPhase is where a rollout is.
// +kubebuilder:validation:Enum=Pending;Mirroring;Progressing;Paused;Promoting;Baking;Succeeded;RolledBack;Failed;Error
type CanaryPhase string

const (
	PhasePending     CanaryPhase = "Pending"
	PhaseMirroring   CanaryPhase = "Mirroring"
	PhaseProgressing CanaryPhase = "Progressing"
	PhasePaused      CanaryPhase = "Paused"
	PhasePromoting   CanaryPhase = "Promoting"
	// PhaseBaking: the canary has all traffic and is still judged
	// (analysis.bakeTime); a failure rolls back.
	PhaseBaking     CanaryPhase = "Baking"
	PhaseSucceeded  CanaryPhase = "Succeeded"
	PhaseRolledBack CanaryPhase = "RolledBack"
	PhaseFailed     CanaryPhase = "Failed"
	// PhaseError: the engine cannot read the saved state; it keeps the
	// weights last served and does not act until an operator does.
	PhaseError CanaryPhase = "Error"
)

// CanaryStatus is the engine's state; it survives restarts and leader changes.
type CanaryStatus struct {
	// +optional
	Phase CanaryPhase `json:"phase,omitempty"`
	// Release is the canary upstream this rollout is for (namespace/name).
	// +optional
	Release string `json:"release,omitempty"`
	// Step is the index into the steps; -1 during mirroring.
	// +optional
	Step int32 `json:"step"`
	// Weight is the canary's current weight in percent.
	// +optional
	Weight int32 `json:"weight"`
	// StepStartTime is when the current step began; checks count only
	// requests since then.
	// +optional
	StepStartTime *metav1.Time `json:"stepStartTime,omitempty"`
	// FailedChecks counts consecutive failed checks in this step.
	// +optional
	FailedChecks int32 `json:"failedChecks,omitempty"`
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// History has one entry per decision, newest last (bounded).
	// +optional
	History []CanaryDecision `json:"history,omitempty"`
}

// CanaryDecision is one judgement with the numbers behind it.
type CanaryDecision struct {
	Time    metav1.Time `json:"time"`
	Step    int32       `json:"step"`
	Weight  int32       `json:"weight"`
	Verdict string      `json:"verdict"`
	Reason  string      `json:"reason"`
	// Manual is set on a decision an operator made (promote, pause,
	// resume, abort, retry, undo); Actor says who (the API peer).
	// +optional
	Manual bool `json:"manual,omitempty"`
	// +optional
	Actor string `json:"actor,omitempty"`
	// +optional
	CanaryRequests int64 `json:"canaryRequests,omitempty"`
	// +optional
	CanaryErrors int64 `json:"canaryErrors,omitempty"`
	// +optional
	StableRequests int64 `json:"stableRequests,omitempty"`
	// +optional
	StableErrors int64 `json:"stableErrors,omitempty"`
	// Error rates in percent, as strings to keep the CRD free of floats.
	// +optional
	CanaryErrorRate string `json:"canaryErrorRate,omitempty"`
	// +optional
	StableErrorRate string `json:"stableErrorRate,omitempty"`
	// +optional
	CanaryP99 string `json:"canaryP99,omitempty"`
	// +optional
	StableP99 string `json:"stableP99,omitempty"`
}

// +kubebuilder:object:root=true

// CanaryList is a list of Canaries.
type CanaryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Canary `json:"items"`
}
