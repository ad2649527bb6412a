package canary

// The rollout state machine.
//
// transition(s, ev) is all of a rollout's behaviour: from its state and
// what happened it returns the next state and the effects to carry out,
// as data. It does no I/O and reads no clock: time comes in on the event;
// the numbers (window marks, verdicts, the release log, webhook answers)
// are gathered by the runner (runner.go) before it feeds the event, and
// the runner carries out the effects in order (effects.go).
//
// Phases (status.phase):
//
//	Pending ──pre-rollout gates──► Progressing step 0 ─► step 1 ─► … ─► Promoting ──confirm-promotion gates──► (all traffic)
//	   └──(spec.mirror)──► Mirroring ──duration over, not failed──┘
//	(all traffic) ──analysis.bakeTime > 0──► Baking ──bakeTime without a failure──► Succeeded
//	(all traffic) ──no bakeTime──► Succeeded
//	Mirroring, Progressing, Paused, Baking ──hard breach / failureLimit / abort──► RolledBack
//	Progressing ──no traffic for maxStepDuration──► Paused (onInsufficientTraffic: Fail → Failed)
//	Paused ──resume──► the same step (or Mirroring, or the bake where its clock stopped), a fresh window but for the bake
//	Succeeded ──undo──► RolledBack (the stable at 100% again)
//	RolledBack, Failed, Error ──retry──► Pending, a new release number
//	(restored) saved status unreadable ──► Error: the weights of the readable copy (else the stable at 100%), nothing acts
//
// Strategies: canary walks the steps. blueGreen mirrors (spec.mirror),
// then goes to Promoting: all traffic at once after the gates. abTest
// has one step, the cohort: weight 0, the requests matching spec.abTest
// go to the canary; when it passes (after abTest.duration), Promoting.
//
// Paused freezes stepping forward, never the protection: a paused
// rollout's window is still checked, and failures roll back as in a step.
//
// Events, and what they do in each phase ("refused": the operator gets
// ErrConflict; "-": nothing happens):
//
//	event            Pending       Mirroring      Progressing     Promoting      Paused         Baking        Succeeded  RolledBack/Failed  Error
//	restored         saved status of this release resumes as saved (the release log's rollback wins over an older saved status); anything else starts a new release (Pending); an unreadable one: Error
//	specChanged      new spec.canary: new release (Pending); fewer steps: the last step (any non-terminal phase)
//	windowMarked     the step's window gets its baseline (marks) and its first check one interval later
//	checkDue         gates, then   judge mirror   judge step      gates, then    judge: fail    judge: fail   waits      waits              waits
//	                 mirror/step 0                                bake or        rolls back,    rolls back;
//	                                                              Succeeded      never steps    bakeTime over
//	                                                                             forward        → Succeeded
//	  (spec.suspend) holds: message only, in every phase
//	breached         -             RolledBack     RolledBack      -              RolledBack     RolledBack    -          -                  -
//	gateAnswered     records the answer of the call it belongs to (others are stale); re-checks now if a check is scheduled
//	promote          step 0        step 0         next step or    Promoting      next step      Succeeded     refused    refused            the step, a fresh window
//	                                              Promoting       again          (bake: Succ.)
//	promote full     bake/Succ.    bake/Succ.     bake/Succ.      bake/Succ.     bake/Succ.     Succeeded     refused    refused            bake/Succeeded
//	pause            Paused        Paused         Paused          Paused         refused        Paused (clock refused    refused            refused
//	                                                                                            stops)
//	resume           refused       refused        refused         refused        step/mirror/   refused       refused    refused            refused
//	                                                                             bake
//	abort            RolledBack    RolledBack     RolledBack      RolledBack     RolledBack     RolledBack    refused    refused            RolledBack
//	retry            refused       refused        refused         refused        refused        refused       refused    Pending (new)      Pending (new)
//	undo             refused       refused        refused         refused        refused        refused       RolledBack RolledBack (no      RolledBack
//	                                                                                                                     move, no hooks)
//	mirrored         a follower's copy of the leader's status: publish its routes and view, nothing else
//	deleted          the override, the saved status and the view go
//
// blueGreen: promote goes to Promoting (the switch) from any phase before
// it, resume goes back to the mirror. Every decision an operation makes is
// recorded as manual, with the operator (the API peer) as its actor.
//
// Several Canaries on one UpstreamGroup: the runner drives only the oldest
// claim (v1alpha1.OlderClaim); the others wait in Pending, without an
// override, until it is deleted.
//
// Leadership is the runner's: a replica that loses the lease drops every
// state (the new leader owns them) and mirrors; one that gains it starts
// from the saved statuses (restored).
//
// A check in Mirroring or Progressing is judged on the window since the
// step began: the window opens Settle after the step's weights were
// written (windowMarked), and a check before that only reschedules.

import (
	"slices"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/metrics"
)

// state is one rollout's state: its status and the working data of the
// current step. transition never changes the state it is given: it works
// on a copy, and copies a slice or the gates before writing into them.
type state struct {
	plan      *plan
	status    v1alpha1.CanaryStatus
	stepStart time.Time // precise; status.StepStartTime is second-precision once saved
	marks     [2]metrics.Mark
	marked    bool // marks hold the window's baseline
	nextCheck time.Time
	gates     map[string]gate
	release   Release
	decisions []DecisionView // newest last, bounded like status.History
	live      *Verdict
	liveAt    time.Time
	message   string // why the rollout waits, when it does
}

// judging says whether reports and checks judge the rollout: a live
// window that is not suspended.
//
// A paused rollout is judged too: a pause freezes stepping forward, never
// the protection (hard limits, failureLimit, the judge).
func (s *state) judging() bool {
	if s.plan.obj.Spec.Suspend {
		return false
	}
	switch s.status.Phase {
	case v1alpha1.PhaseProgressing, v1alpha1.PhaseMirroring, v1alpha1.PhasePaused, v1alpha1.PhaseBaking:
		return true
	}
	return false
}

func terminal(p v1alpha1.CanaryPhase) bool {
	return p == v1alpha1.PhaseSucceeded || p == v1alpha1.PhaseRolledBack || p == v1alpha1.PhaseFailed
}

// resumable says whether a saved status continues the plan's release.
func resumable(saved *v1alpha1.CanaryStatus, p *plan) bool {
	return saved != nil && saved.Release == p.release && saved.Phase != ""
}

// An event is something that happened to a rollout.
type event interface{ isEvent() }

// restored adopts a Canary this engine does not run yet (startup, a new
// Canary, a takeover): saved is its saved status (nil when none),
// releases its release log. marks are the window's baseline when the
// saved step has settled (marked), taken by the runner.
type restored struct {
	at       time.Time
	plan     *plan
	saved    *v1alpha1.CanaryStatus
	releases []Release
	marks    [2]metrics.Mark
	marked   bool
	// unreadable says the saved status exists but cannot be read (saved
	// is nil then): the rollout goes to Error.
	unreadable *UnreadableStatusError
}

// specChanged is a new version of the Canary. releases is its release
// log, read when the release (spec.canary) changed.
type specChanged struct {
	at       time.Time
	plan     *plan
	releases []Release
}

// windowMarked is the baseline of the current step's window, taken once
// the step has settled.
type windowMarked struct {
	at    time.Time
	marks [2]metrics.Mark
}

// checkDue is a scheduled check (or one a gate answer brings forward).
// When the rollout is judging and its window is marked, the runner has
// measured it: verdict, or err when it could not. Neither means the
// window has no baseline yet.
type checkDue struct {
	at      time.Time
	verdict *Verdict
	err     error
}

// breached is a report whose numbers cross a hard limit.
type breached struct {
	at      time.Time
	verdict *Verdict
}

// gateAnswered is a gating webhook's answer to call.
type gateAnswered struct {
	at   time.Time
	call *gateCall
	ok   bool
	msg  string
}

// operated is a manual operation. releases is the release log, read for
// an allowed retry.
type operated struct {
	at       time.Time
	op       Operation
	full     bool
	who      string
	releases []Release
	// stableMissing names the stable Upstream when an undo finds it gone
	// from the store.
	stableMissing string
}

// mirrored is a follower's copy of the status the leader saved.
type mirrored struct {
	plan   *plan
	status *v1alpha1.CanaryStatus
}

// deleted is the Canary's deletion.
type deleted struct{}

func (restored) isEvent()     {}
func (specChanged) isEvent()  {}
func (windowMarked) isEvent() {}
func (checkDue) isEvent()     {}
func (breached) isEvent()     {}
func (gateAnswered) isEvent() {}
func (operated) isEvent()     {}
func (mirrored) isEvent()     {}
func (deleted) isEvent()      {}

// An effect is what the runner does for a transition, in order.
type effect interface{ isEffect() }

// publishRoutes writes the rollout's weights (and mirror) into the store:
// one store write, one RDS push. status is the status at that moment.
type publishRoutes struct {
	status     v1alpha1.CanaryStatus
	weights    map[string]uint32
	mirror     *v1alpha1.Mirror
	canary     string // the canary Upstream's namespace/name
	stickiness *v1alpha1.CanaryStickiness
	cohort     *v1alpha1.CanaryABTest
}

// persistStatus saves the status (when it changed; leader only).
type persistStatus struct{ status v1alpha1.CanaryStatus }

// saveRelease writes the release into the release log (leader only).
type saveRelease struct{ release Release }

// logInfo logs msg with args about the rollout.
type logInfo struct {
	msg  string
	args []any
}

// callHook calls a webhook with payload (the runner adds the Canary's
// name and the hook's type and metadata). A gating call (gate set) is
// answered with gateAnswered; other calls' failures are logged.
type callHook struct {
	hook    v1alpha1.CanaryWebhook
	payload WebhookPayload
	gate    *gateCall
}

// publishView refreshes the admin API's view of the rollout.
type publishView struct{}

// checkNow runs the rollout's check at once.
type checkNow struct{ at time.Time }

// dropRoutes removes the rollout's store state: the group's own weights
// apply again.
type dropRoutes struct{}

// forgetStatus deletes the saved status, on stores that keep it apart
// from the Canary.
type forgetStatus struct{}

// dropView removes the rollout from the admin API.
type dropView struct{}

// refused answers a manual operation that is not possible with err.
type refused struct{ err error }

func (publishRoutes) isEffect() {}
func (persistStatus) isEffect() {}
func (saveRelease) isEffect()   {}
func (logInfo) isEffect()       {}
func (callHook) isEffect()      {}
func (publishView) isEffect()   {}
func (checkNow) isEffect()      {}
func (dropRoutes) isEffect()    {}
func (forgetStatus) isEffect()  {}
func (dropView) isEffect()      {}
func (refused) isEffect()       {}

// transition is the rollout state machine: the state after ev, and what
// to do about it.
func transition(s state, ev event) (state, []effect) {
	m := machine{s: s}
	switch ev := ev.(type) {
	case restored:
		m.restore(ev)
	case specChanged:
		m.specChange(ev)
	case windowMarked:
		if !m.s.marked {
			m.s.marks, m.s.marked = ev.marks, true
			m.s.nextCheck = ev.at.Add(m.s.plan.interval)
		}
	case checkDue:
		m.check(ev)
	case breached:
		m.breach(ev)
	case gateAnswered:
		m.gateAnswer(ev)
	case operated:
		m.operate(ev)
	case mirrored:
		m.s = state{plan: ev.plan, status: *ev.status.DeepCopy()}
		if ev.status.StepStartTime != nil {
			m.s.stepStart = ev.status.StepStartTime.Time
		}
		m.emit(m.routes(), publishView{})
	case deleted:
		m.s = state{}
		m.emit(dropRoutes{}, forgetStatus{}, dropView{}, logInfo{msg: "canary deleted: the group's own weights apply again"})
	}
	return m.s, m.fx
}

// machine is one transition at work: the next state and its effects.
type machine struct {
	s  state
	fx []effect
	// ownHistory and ownGates say the slices of the decisions and the
	// gates were copied in this transition, so writing into them leaves
	// the caller's state as it was.
	ownHistory, ownGates bool
	// manual says the transition is an operator's (actor): its decisions
	// are recorded as manual.
	manual bool
	actor  string
}

func (m *machine) emit(fx ...effect) { m.fx = append(m.fx, fx...) }

// ownDecisions makes the decision slices this transition's own: the next
// append copies them instead of writing into the caller's arrays.
func (m *machine) ownDecisions() {
	if m.ownHistory {
		return
	}
	m.ownHistory = true
	m.s.status.History = slices.Clip(m.s.status.History)
	m.s.decisions = slices.Clip(m.s.decisions)
	m.s.release.Decisions = slices.Clip(m.s.release.Decisions)
}
