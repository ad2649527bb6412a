package canary

import (
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// The machine's phases: how a release starts, walks its steps, and ends.

// restore resumes a saved rollout of the same release or starts a new one.
func (m *machine) restore(ev restored) {
	m.s = state{plan: ev.plan}
	if ev.unreadable != nil {
		m.restoreUnreadable(ev)
		return
	}
	if !resumable(ev.saved, ev.plan) {
		m.begin(ev.at, "new release "+ev.plan.release, ev.releases)
		return
	}
	s := &m.s
	if len(ev.releases) > 0 {
		s.release = ev.releases[len(ev.releases)-1]
	}
	s.status = *ev.saved
	s.stepStart = ev.at
	if ev.saved.StepStartTime != nil {
		s.stepStart = ev.saved.StepStartTime.Time
	}
	for _, d := range ev.saved.History {
		s.decisions = append(s.decisions, DecisionView{CanaryDecision: d, At: d.Time.Time})
	}
	if s.release.Release != s.status.Release {
		s.release = Release{}
	}
	logged := m.loggedRollback(ev.saved)
	// The window restarts at the takeover (the runner took the marks then,
	// or leaves them to windowMarked while the step settles): what the step
	// did before is not known here. The step start is kept for
	// maxStepDuration and the step's pause.
	s.marks, s.marked = ev.marks, ev.marked
	switch s.status.Phase {
	case v1alpha1.PhasePending, v1alpha1.PhaseMirroring, v1alpha1.PhaseProgressing, v1alpha1.PhasePromoting,
		v1alpha1.PhasePaused, v1alpha1.PhaseBaking:
		s.nextCheck = ev.at.Add(s.plan.interval)
	}
	if c := findCondition(s.status.Conditions, condUnreadable); c != nil && s.status.Phase == v1alpha1.PhaseError {
		s.message = c.Message
	}
	if logged != nil {
		// The release log holds a rollback (or undo) the saved status
		// missed: its save failed before a restart. The rollback stands.
		s.status.Phase, s.status.Weight, s.nextCheck = s.release.Outcome, 0, time.Time{}
		s.status.Conditions = withoutCondition(s.status.Conditions, condBakePaused)
		m.ownDecisions()
		for _, d := range logged {
			s.status.History = append(s.status.History, d)
			s.decisions = append(s.decisions, DecisionView{CanaryDecision: d, At: d.Time.Time})
		}
		if n := len(s.status.History); n > maxStatusHistory {
			s.status.History = s.status.History[n-maxStatusHistory:]
		}
		if n := len(s.decisions); n > maxStatusHistory {
			s.decisions = s.decisions[n-maxStatusHistory:]
		}
		m.emit(logInfo{msg: "the release log records a rollback the saved status missed: rolled back", args: []any{"phase", s.status.Phase}},
			m.routes(), persistStatus{s.status}, publishView{})
		return
	}
	m.emit(logInfo{msg: "canary resumed", args: []any{"phase", s.status.Phase, "step", s.status.Step, "weight", s.status.Weight, "stepStart", s.stepStart}},
		m.routes(), publishView{})
}

// loggedRollback returns the decisions the release log has after the
// saved status's last one, when the log says the release ended rolled
// back (or failed) and the saved status does not: the rollback's status
// save failed and the process stopped before a retry succeeded. A retry
// that started a new release is not mistaken for it: the saved status's
// last decision must be in this release's log.
func (m *machine) loggedRollback(saved *v1alpha1.CanaryStatus) []v1alpha1.CanaryDecision {
	rel := &m.s.release
	if rel.Ended == nil || (rel.Outcome != v1alpha1.PhaseRolledBack && rel.Outcome != v1alpha1.PhaseFailed) ||
		saved.Phase == rel.Outcome || len(saved.History) == 0 {
		return nil
	}
	last := saved.History[len(saved.History)-1]
	for i := len(rel.Decisions) - 1; i >= 0; i-- {
		d := rel.Decisions[i]
		if d.Verdict == last.Verdict && d.Reason == last.Reason && d.Step == last.Step && d.Time.Equal(&last.Time) {
			if i == len(rel.Decisions)-1 {
				return nil
			}
			return slices.Clone(rel.Decisions[i+1:])
		}
	}
	return nil
}

// condUnreadable says why a rollout is in Error: its saved status could
// not be read (the message names the file and the error, and what is
// served instead).
const condUnreadable = "StatusUnreadable"

// restoreUnreadable starts a rollout whose saved status cannot be read in
// Error: it serves the weights of the readable copy of the last save, or
// the stable at 100% without one (never the group's spec, which may give
// the canary any share), and does not act until an operator does. The
// Error status is saved, so a restart stays in Error.
func (m *machine) restoreUnreadable(ev restored) {
	s, p, u, at := &m.s, ev.plan, ev.unreadable, ev.at
	if n := len(ev.releases); n > 0 && ev.releases[n-1].Release == p.release {
		s.release = ev.releases[n-1]
	}
	var msg string
	if prev := u.Previous; prev != nil && prev.Release == p.release && saneStatus(prev, p) == nil {
		s.status = *prev.DeepCopy()
		s.status.Weight = servedWeight(prev)
		for _, d := range prev.History {
			s.decisions = append(s.decisions, DecisionView{CanaryDecision: d, At: d.Time.Time})
		}
		msg = fmt.Sprintf("%v; serving what the copy %s says was served (%s, step %d, canary %d%%) and not acting until an operator does (abort, undo, retry or promote)",
			u, u.PreviousPath, prev.Phase, prev.Step, s.status.Weight)
	} else {
		why := "it is another release's"
		switch {
		case u.PreviousErr != nil:
			why = u.PreviousErr.Error()
		case prev == nil:
			why = "none"
		case prev.Release == p.release:
			why = saneStatus(prev, p).Error()
		}
		s.status = v1alpha1.CanaryStatus{Release: p.release, Step: -1}
		s.release = Release{}
		msg = fmt.Sprintf("%v; no readable copy (%s): serving the stable at 100%% (the safe side, not the group's spec) and not acting until an operator does (abort, undo, retry or promote)", u, why)
	}
	s.status.Phase, s.status.FailedChecks, s.status.ObservedGeneration = v1alpha1.PhaseError, 0, p.obj.Generation
	s.status.Conditions = withoutCondition(s.status.Conditions, condBakePaused)
	s.status.StepStartTime, s.stepStart = ptrTime(at), at
	s.status.Conditions = setCondition(s.status.Conditions, metav1.Condition{Type: condUnreadable, Status: metav1.ConditionTrue,
		Reason: "Unreadable", Message: msg, LastTransitionTime: metav1.NewTime(at)})
	s.message = msg
	m.emit(m.routes())
	m.decide(at, string(v1alpha1.PhaseError), msg, nil)
	m.emit(persistStatus{s.status}, publishView{})
}

// servedWeight is the canary weight a status had the store serve.
func servedWeight(st *v1alpha1.CanaryStatus) int32 {
	switch st.Phase {
	case v1alpha1.PhaseSucceeded, v1alpha1.PhaseBaking:
		return 100
	case v1alpha1.PhaseRolledBack, v1alpha1.PhaseFailed, v1alpha1.PhasePending, v1alpha1.PhaseMirroring:
		return 0
	}
	return st.Weight
}

// specChange follows a changed spec: a new canary upstream is a new
// release; a running rollout past the last of fewer steps takes the last.
func (m *machine) specChange(ev specChanged) {
	old := m.s.plan
	m.s.plan = ev.plan
	switch last := int32(len(ev.plan.weights) - 1); {
	case ev.plan.release != old.release:
		m.begin(ev.at, "new release "+ev.plan.release+" (spec.canary changed)", ev.releases)
	case ev.plan.strategy() != old.strategy() && !terminal(m.s.status.Phase):
		// Another strategy is another walk (blueGreen's one step is
		// 100%): start over rather than map the step onto it.
		m.begin(ev.at, "new release: spec.strategy changed to "+string(ev.plan.strategy()), ev.releases)
	case !steps(m.s.status.Phase) || m.s.bakePaused() || m.s.status.Step <= last:
	case m.s.status.Phase == v1alpha1.PhasePaused:
		// Fewer steps: the last one, still paused (the operator's pause
		// stands).
		m.s.status.Step, m.s.status.Weight = last, ev.plan.weights[last]
		if ev.plan.strategy() == v1alpha1.StrategyABTest {
			m.s.status.Weight = 0
		}
		m.emit(m.routes())
		m.emit(persistStatus{m.s.status})
	default:
		m.enterStep(ev.at, last, "steps changed")
	}
	m.emit(publishView{})
}

// steps says whether a rollout in phase is walking its steps: past them
// (Baking, a paused bake), finished, or in Error, fewer steps change
// nothing.
func steps(phase v1alpha1.CanaryPhase) bool {
	return !terminal(phase) && phase != v1alpha1.PhaseError && phase != v1alpha1.PhaseBaking
}

// begin starts a release numbered after releases, the Canary's release
// log: the canary gets nothing until the pre-rollout gates pass.
func (m *machine) begin(at time.Time, why string, releases []Release) {
	s, p := &m.s, m.s.plan
	number := 1
	if len(releases) > 0 {
		number = releases[len(releases)-1].Number + 1
	}
	s.release = Release{Number: number, Release: p.release, Spec: *p.obj.Spec.DeepCopy(), Started: at, Decisions: []v1alpha1.CanaryDecision{}}
	s.status = v1alpha1.CanaryStatus{Phase: v1alpha1.PhasePending, Release: p.release, Step: 0, Weight: 0,
		StepStartTime: ptrTime(at), ObservedGeneration: p.obj.Generation}
	s.stepStart, s.marked, s.live, s.message = at, false, nil, ""
	s.decisions = nil
	m.resetGates()
	s.nextCheck = at
	m.decide(at, "Started", why, nil)
	m.emit(m.routes(), persistStatus{s.status}, publishView{})
}

func ptrTime(t time.Time) *metav1.Time { mt := metav1.NewTime(t); return &mt }

// enterStep sets step i's weight: one store write, one RDS push. The
// abTest strategy's one step is its cohort: weight 0, the requests that
// match spec.abTest go to the canary.
func (m *machine) enterStep(at time.Time, i int32, why string) {
	s := &m.s
	s.status.Phase = v1alpha1.PhaseProgressing
	s.status.Step, s.status.Weight = i, s.plan.weights[i]
	if s.plan.strategy() == v1alpha1.StrategyABTest {
		s.status.Weight = 0
	}
	m.beginWindow(at)
	m.emit(m.routes())
	if s.plan.strategy() == v1alpha1.StrategyABTest {
		m.decide(at, "Advanced", fmt.Sprintf("cohort step: requests matching spec.abTest go to the canary, the rest stay on the stable (%s)", why), nil)
	} else {
		m.decide(at, "Advanced", fmt.Sprintf("step %d: canary weight %d%% (%s)", i, s.plan.weights[i], why), nil)
	}
	m.emit(persistStatus{s.status}, publishView{})
}

// enterMirror starts the shadow phase: live traffic stays on the stable,
// a copy goes to the canary.
func (m *machine) enterMirror(at time.Time) {
	s := &m.s
	s.status.Phase = v1alpha1.PhaseMirroring
	s.status.Step, s.status.Weight = -1, 0
	m.beginWindow(at)
	m.emit(m.routes())
	mi := s.plan.obj.Spec.Mirror
	m.decide(at, "Mirroring", fmt.Sprintf("mirroring %.4g%% of requests to the canary for %s", mi.Percentage, mi.Duration), nil)
	m.emit(persistStatus{s.status}, publishView{})
}

// beginWindow starts a step's counting: the window begins once the new
// weights have settled (see DefaultSettle).
func (m *machine) beginWindow(at time.Time) {
	s := &m.s
	s.stepStart = at
	s.status.StepStartTime = ptrTime(at)
	s.status.FailedChecks = 0
	s.marked, s.live, s.message = false, nil, ""
	m.resetGates()
	s.nextCheck = at.Add(s.plan.settle)
}

// check advances the machine at a due check.
func (m *machine) check(ev checkDue) {
	s := &m.s
	s.nextCheck = ev.at.Add(s.plan.interval)
	if s.plan.obj.Spec.Suspend {
		s.message = "suspended (spec.suspend)"
		m.emit(publishView{})
		return
	}
	switch s.status.Phase {
	case v1alpha1.PhasePending:
		if ok, why := m.gatesPass(v1alpha1.WebhookPreRollout); !ok {
			s.message = why
			break
		}
		if mi := s.plan.obj.Spec.Mirror; mi != nil && mi.Percentage > 0 {
			m.enterMirror(ev.at)
		} else {
			m.enterStep(ev.at, 0, "pre-rollout checks passed")
		}
		return
	case v1alpha1.PhaseMirroring:
		m.checkMirror(ev)
		return
	case v1alpha1.PhaseProgressing:
		m.checkStep(ev)
		return
	case v1alpha1.PhasePaused:
		m.checkPaused(ev)
		return
	case v1alpha1.PhaseBaking:
		m.checkBake(ev)
		return
	case v1alpha1.PhasePromoting:
		if ok, why := m.gatesPass(v1alpha1.WebhookConfirmPromotion); !ok {
			s.message = why
			break
		}
		m.complete(ev.at, "promotion confirmed")
		return
	default:
		s.nextCheck = time.Time{} // terminal phases (and Error) wait for an operator
	}
	m.emit(publishView{})
}

// measured says whether the check carries a judgement of the window;
// without one (the window has no baseline yet) the check only
// reschedules. A measurement that failed says why in the message.
func (m *machine) measured(ev checkDue) bool {
	if ev.err != nil {
		m.s.message = "cannot measure: " + ev.err.Error()
		m.emit(publishView{})
		return false
	}
	return ev.verdict != nil
}

// checkMirror judges the shadow cluster; at the end of the phase the
// canary takes its first step.
func (m *machine) checkMirror(ev checkDue) {
	if !m.measured(ev) {
		return
	}
	s, v, at := &m.s, ev.verdict, ev.at
	s.live, s.liveAt = v, at
	if v.Result == Fail && v.Hard {
		m.rollback(at, v1alpha1.PhaseRolledBack, "mirror: "+v.Reason, v)
		return
	}
	if at.Sub(s.stepStart) < s.plan.obj.Spec.Mirror.Duration.Get(0) {
		m.emit(publishView{})
		return
	}
	blueGreen := s.plan.strategy() == v1alpha1.StrategyBlueGreen
	switch {
	case v.Result == Fail:
		m.rollback(at, v1alpha1.PhaseRolledBack, "mirror: "+v.Reason, v)
	case v.Result == Insufficient && blueGreen:
		// blueGreen's next move is all traffic: the mirror must have
		// judged. It waits for shadow traffic up to maxStepDuration.
		if at.Sub(s.stepStart) < s.plan.maxStep {
			m.record(at, "Extended", "mirror phase extended: "+v.Reason, v)
			m.emit(publishView{})
			return
		}
		why := fmt.Sprintf("the mirror never saw enough shadow traffic in %v (maxStepDuration): %s", s.plan.maxStep, v.Reason)
		if s.plan.obj.Spec.Analysis.OnInsufficientTraffic == v1alpha1.InsufficientTrafficFail {
			m.rollback(at, v1alpha1.PhaseFailed, why, v)
			return
		}
		m.pause(at, why, v)
	case blueGreen:
		m.decide(at, string(Pass), "mirror "+v.Reason, v)
		m.promoting(at, "mirror phase passed")
	case v.Result == Insufficient:
		// Shadow traffic is not live traffic: too little of it (gRPC
		// clients do not mirror) is recorded, and the first step judges.
		m.decide(at, string(Insufficient), "mirror phase ended without enough shadow traffic to judge: "+v.Reason, v)
		m.enterStep(at, 0, "mirror phase over")
	default:
		m.decide(at, string(Pass), "mirror "+v.Reason, v)
		m.enterStep(at, 0, "mirror phase passed")
	}
}

// checkStep is the interval check of a live step.
func (m *machine) checkStep(ev checkDue) {
	if !m.measured(ev) {
		return
	}
	s, v, at := &m.s, ev.verdict, ev.at
	s.live, s.liveAt, s.message = v, at, ""
	elapsed := at.Sub(s.stepStart)
	switch v.Result {
	case Insufficient:
		if elapsed < s.plan.maxStep {
			m.record(at, "Extended", "step extended: "+v.Reason, v)
			break
		}
		why := fmt.Sprintf("step %d never saw enough traffic in %v (maxStepDuration): %s", s.status.Step, s.plan.maxStep, v.Reason)
		if s.plan.obj.Spec.Analysis.OnInsufficientTraffic == v1alpha1.InsufficientTrafficFail {
			m.rollback(at, v1alpha1.PhaseFailed, why, v)
			return
		}
		m.pause(at, why, v)
		return
	case Fail:
		if m.failed(at, "", v) {
			return
		}
	case Pass:
		s.status.FailedChecks = 0
		if pause := s.stepPause(); elapsed < pause {
			s.message = fmt.Sprintf("passing; holding the step for its pause of %v", pause)
			break
		}
		if ok, why := m.gatesPass(v1alpha1.WebhookStep); !ok {
			s.message = why
			break
		}
		m.decide(at, string(Pass), v.Reason, v)
		m.advance(at)
		return
	}
	m.emit(publishView{})
}

// failed counts a failed check: a hard failure or failureLimit
// consecutive ones roll back (it returns true then); fewer are recorded.
func (m *machine) failed(at time.Time, prefix string, v *Verdict) bool {
	s := &m.s
	s.status.FailedChecks++
	limit := int32(2)
	if fl := s.plan.obj.Spec.Analysis.FailureLimit; fl != nil {
		limit = *fl
	}
	why := fmt.Sprintf("%scheck failed (%d of %d): %s", prefix, s.status.FailedChecks, limit, v.Reason)
	if v.Hard || s.status.FailedChecks >= limit {
		m.rollback(at, v1alpha1.PhaseRolledBack, why, v)
		return true
	}
	m.decide(at, string(Fail), why, v)
	m.emit(persistStatus{s.status})
	return false
}

// checkPaused judges a paused rollout's live window: a pause freezes
// stepping forward, never the protection. Failures roll back as in a
// step; a pass or too little traffic changes nothing.
func (m *machine) checkPaused(ev checkDue) {
	if !m.measured(ev) {
		return
	}
	s, v, at := &m.s, ev.verdict, ev.at
	s.live, s.liveAt = v, at
	switch v.Result {
	case Fail:
		if m.failed(at, "paused, still judged: ", v) {
			return
		}
	case Pass:
		s.status.FailedChecks = 0
	}
	s.message = "paused: still judged (a failure rolls back); resume or promote to go on"
	m.emit(publishView{})
}

// breach rolls a judging rollout back on a report over a hard limit.
func (m *machine) breach(ev breached) {
	s := &m.s
	if !s.judging() || !s.marked || ev.verdict == nil || !ev.verdict.Hard {
		return
	}
	s.live, s.liveAt = ev.verdict, ev.at
	m.rollback(ev.at, v1alpha1.PhaseRolledBack, "hard limit crossed: "+ev.verdict.Reason, ev.verdict)
}

// record adds a decision only when the verdict differs from the step's
// previous one, so that a long step does not flood the history.
func (m *machine) record(at time.Time, verdict, reason string, v *Verdict) {
	s := &m.s
	if n := len(s.status.History); n > 0 {
		last := s.status.History[n-1]
		if last.Verdict == verdict && last.Step == s.status.Step {
			return
		}
	}
	m.decide(at, verdict, reason, v)
	m.emit(persistStatus{s.status})
}

func (s *state) stepPause() time.Duration {
	if ab := s.plan.obj.Spec.ABTest; s.plan.strategy() == v1alpha1.StrategyABTest && ab != nil {
		return ab.Duration.Get(0)
	}
	if steps := s.plan.obj.Spec.Steps; int(s.status.Step) < len(steps) && s.status.Step >= 0 {
		return steps[s.status.Step].Pause.Get(0)
	}
	return 0
}

// advance moves to the next step, or to promotion after the last.
func (m *machine) advance(at time.Time) {
	s := &m.s
	next := s.status.Step + 1
	if int(next) < len(s.plan.weights) {
		m.enterStep(at, next, fmt.Sprintf("step %d passed", s.status.Step))
		return
	}
	m.promoting(at, "every step passed")
}

// promoting waits for the confirm-promotion gates before the canary gets
// all traffic.
func (m *machine) promoting(at time.Time, why string) {
	s := &m.s
	s.status.Phase = v1alpha1.PhasePromoting
	m.resetGates()
	m.decide(at, "Promoting", why, nil)
	m.emit(persistStatus{s.status})
	m.check(checkDue{at: at})
}

// complete gives the canary all traffic: it bakes (analysis.bakeTime),
// or the release succeeds at once.
func (m *machine) complete(at time.Time, why string) {
	if m.s.plan.strategy() != v1alpha1.StrategyCanary {
		m.s.status.Step = int32(len(m.s.plan.weights) - 1) // the switch
	}
	if bake := m.s.plan.bake(); bake > 0 {
		m.enterBake(at, why, bake)
		return
	}
	m.succeed(at, why)
}

// enterBake gives the canary all traffic and keeps judging it for bake.
func (m *machine) enterBake(at time.Time, why string, bake time.Duration) {
	s := &m.s
	s.status.Phase, s.status.Weight = v1alpha1.PhaseBaking, 100
	m.beginWindow(at)
	m.emit(m.routes())
	m.decide(at, "Baking", fmt.Sprintf("canary at 100%% (%s); baking for %v: a failed check rolls back", why, bake), nil)
	m.emit(persistStatus{s.status}, publishView{})
}

// checkBake judges the canary at 100%: there is no stable traffic to
// compare with, so the absolute limits and the metrics' bounds judge.
// bakeTime without a failure succeeds.
func (m *machine) checkBake(ev checkDue) {
	if !m.measured(ev) {
		return
	}
	s, v, at := &m.s, ev.verdict, ev.at
	s.live, s.liveAt, s.message = v, at, ""
	switch v.Result {
	case Fail:
		if m.failed(at, "bake: ", v) {
			return
		}
	case Pass:
		s.status.FailedChecks = 0
	}
	bake, baked := s.plan.bake(), at.Sub(s.stepStart)
	if baked >= bake && s.status.FailedChecks == 0 {
		m.succeed(at, fmt.Sprintf("baked %v at 100%% without a failed check", bake))
		return
	}
	s.message = fmt.Sprintf("baking: %v of %v", baked.Round(time.Second), bake)
	if baked >= bake {
		s.message += "; waiting for a passing check after the failed one"
	}
	m.emit(publishView{})
}

// condBakePaused marks a bake that an operator paused; its
// LastTransitionTime is when, so that the bake clock (StepStartTime)
// moves on by the pause when it resumes, across restarts too.
const condBakePaused = "BakePaused"

func (s *state) bakePaused() bool {
	return s.status.Phase == v1alpha1.PhasePaused && findCondition(s.status.Conditions, condBakePaused) != nil
}

// resumeBake continues a paused bake where its clock stopped, on the
// same window.
func (m *machine) resumeBake(at time.Time, by string) {
	s := &m.s
	c := findCondition(s.status.Conditions, condBakePaused)
	start := s.stepStart.Add(at.Sub(c.LastTransitionTime.Time))
	s.status.Conditions = withoutCondition(s.status.Conditions, condBakePaused)
	s.status.Phase = v1alpha1.PhaseBaking
	s.stepStart, s.status.StepStartTime = start, ptrTime(start)
	s.nextCheck, s.message = at.Add(s.plan.interval), ""
	m.emit(m.routes())
	m.decide(at, "Baking", fmt.Sprintf("bake resumed %s: %v left", by, (s.plan.bake()-at.Sub(start)).Round(time.Second)), nil)
	m.emit(persistStatus{s.status}, publishView{})
}

// succeed gives the canary all traffic and ends the release.
func (m *machine) succeed(at time.Time, why string) {
	s := &m.s
	s.status.Phase, s.status.Weight = v1alpha1.PhaseSucceeded, 100
	s.status.Conditions = withoutCondition(s.status.Conditions, condBakePaused)
	s.nextCheck, s.message = time.Time{}, ""
	m.emit(m.routes())
	m.decide(at, "Succeeded", why, s.live)
	m.end(at)
	m.notify(v1alpha1.WebhookPostRollout, why)
}

// rollback sets the stable to 100, drops the mirror, records why and
// notifies the rollback webhooks. phase is RolledBack or Failed.
func (m *machine) rollback(at time.Time, phase v1alpha1.CanaryPhase, why string, v *Verdict) {
	s := &m.s
	s.status.Phase, s.status.Weight = phase, 0
	s.status.Conditions = withoutCondition(s.status.Conditions, condBakePaused)
	s.nextCheck, s.message = time.Time{}, ""
	m.emit(m.routes())
	m.decide(at, string(phase), why, v)
	m.end(at)
	m.notify(v1alpha1.WebhookRollback, why)
}

// pause holds the current weights until an operator resumes. A paused
// bake keeps its clock's stop time (condBakePaused). An abTest paused
// before its cohort step is at step -1, so that no cohort is served.
func (m *machine) pause(at time.Time, why string, v *Verdict) {
	s := &m.s
	switch s.status.Phase {
	case v1alpha1.PhaseBaking:
		s.status.Conditions = setCondition(s.status.Conditions, metav1.Condition{Type: condBakePaused, Status: metav1.ConditionTrue,
			Reason: "Paused", Message: "the bake clock stopped at " + at.Sub(s.stepStart).Round(time.Second).String(), LastTransitionTime: metav1.NewTime(at)})
	case v1alpha1.PhasePending:
		if s.plan.strategy() == v1alpha1.StrategyABTest {
			s.status.Step = -1
		}
	}
	s.status.Phase = v1alpha1.PhasePaused
	s.nextCheck = at.Add(s.plan.interval) // still judged
	m.emit(m.routes())
	m.decide(at, "Paused", why, v)
	m.emit(persistStatus{s.status}, publishView{})
}

// end closes the release with the phase as its outcome.
func (m *machine) end(at time.Time) {
	s := &m.s
	t := at
	s.release.Ended, s.release.Outcome = &t, s.status.Phase
	m.emit(saveRelease{s.release}, persistStatus{s.status}, publishView{})
}

// decide records a decision with the verdict's numbers, in the status
// history, the release log and the event webhooks.
func (m *machine) decide(at time.Time, verdict, reason string, v *Verdict) {
	s := &m.s
	d := v1alpha1.CanaryDecision{Time: metav1.NewTime(at), Step: s.status.Step, Weight: s.status.Weight, Verdict: verdict, Reason: reason,
		Manual: m.manual, Actor: m.actor}
	if v != nil {
		d.CanaryRequests, d.CanaryErrors = int64(v.Canary.Requests), int64(v.Canary.Errors)
		d.StableRequests, d.StableErrors = int64(v.Stable.Requests), int64(v.Stable.Errors)
		d.CanaryErrorRate = fmt.Sprintf("%.2f", v.Canary.ErrorRate())
		d.StableErrorRate = fmt.Sprintf("%.2f", v.Stable.ErrorRate())
		if v.Canary.HasP99 {
			d.CanaryP99 = v.Canary.P99.Round(time.Microsecond).String()
		}
		if v.Stable.HasP99 {
			d.StableP99 = v.Stable.P99.Round(time.Microsecond).String()
		}
	}
	m.ownDecisions()
	s.status.History = append(s.status.History, d)
	if n := len(s.status.History); n > maxStatusHistory {
		s.status.History = s.status.History[n-maxStatusHistory:]
	}
	s.decisions = append(s.decisions, DecisionView{CanaryDecision: d, At: at, Judgement: v})
	if n := len(s.decisions); n > maxStatusHistory {
		s.decisions = s.decisions[n-maxStatusHistory:]
	}
	s.release.Decisions = append(s.release.Decisions, d)
	if n := len(s.release.Decisions); n > maxReleaseDecision {
		s.release.Decisions = s.release.Decisions[n-maxReleaseDecision:]
	}
	m.emit(saveRelease{s.release},
		logInfo{msg: "canary decision", args: []any{"phase", s.status.Phase, "step", d.Step, "weight", d.Weight, "verdict", verdict, "reason", reason}})
	m.notify(v1alpha1.WebhookEvent, reason)
}

// routes is what the store serves for the current phase: the weights,
// the mirror, the abTest cohort, and the canary and stickiness the
// translator needs to build them.
func (m *machine) routes() publishRoutes {
	s, p := &m.s, m.s.plan
	phase := s.status.Phase
	w := uint32(s.status.Weight)
	switch phase {
	case v1alpha1.PhaseSucceeded, v1alpha1.PhaseBaking:
		w = 100
	case v1alpha1.PhaseRolledBack, v1alpha1.PhaseFailed, v1alpha1.PhasePending, v1alpha1.PhaseMirroring:
		w = 0
	}
	canary := p.canaryT.Namespace + "/" + p.canaryT.Upstream
	r := publishRoutes{status: s.status, canary: canary, weights: map[string]uint32{
		p.stableT.Namespace + "/" + p.stableT.Upstream: 100 - w, canary: w}}
	if st := p.obj.Spec.Stickiness; st != nil {
		r.stickiness = st.DeepCopy()
	}
	mirroring := phase == v1alpha1.PhaseMirroring ||
		(phase == v1alpha1.PhasePromoting && p.strategy() == v1alpha1.StrategyBlueGreen && s.status.Step < 0)
	if mirroring && p.obj.Spec.Mirror != nil {
		r.mirror = &v1alpha1.Mirror{Upstream: v1alpha1.ResourceRef{Name: p.canaryT.Upstream, Namespace: p.canaryT.Namespace}, Percentage: p.obj.Spec.Mirror.Percentage}
	}
	if p.strategy() == v1alpha1.StrategyABTest && p.obj.Spec.ABTest != nil && s.status.Step == 0 &&
		(phase == v1alpha1.PhaseProgressing || phase == v1alpha1.PhasePromoting || (phase == v1alpha1.PhasePaused && !s.bakePaused())) {
		r.cohort = p.obj.Spec.ABTest.DeepCopy()
	}
	return r
}

func findCondition(cs []metav1.Condition, typ string) *metav1.Condition {
	for i := range cs {
		if cs[i].Type == typ {
			return &cs[i]
		}
	}
	return nil
}

// setCondition returns cs with c in place of the condition of its type,
// on a new slice: the caller's status is left as it was.
func setCondition(cs []metav1.Condition, c metav1.Condition) []metav1.Condition {
	out := withoutCondition(cs, c.Type)
	return append(out, c)
}

// withoutCondition returns cs without the condition of typ, on a new
// slice when it had one.
func withoutCondition(cs []metav1.Condition, typ string) []metav1.Condition {
	if findCondition(cs, typ) == nil {
		return cs
	}
	out := make([]metav1.Condition, 0, len(cs))
	for _, c := range cs {
		if c.Type != typ {
			out = append(out, c)
		}
	}
	return out
}
