package translator

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// problems collects one object's problems.
type problems struct {
	list []Problem
	rej  bool
}

func (p *problems) add(sev v1alpha1.State, fieldPath, msg string) {
	q := Problem{Severity: sev, Field: fieldPath, Message: msg}
	// The same problem can be found once per fleet; say it once.
	for _, x := range p.list {
		if x == q {
			return
		}
	}
	p.list = append(p.list, q)
	if sev == v1alpha1.StateRejected {
		p.rej = true
	}
}

func (p *problems) warn(fieldPath, msg string)   { p.add(v1alpha1.StateWarning, fieldPath, msg) }
func (p *problems) reject(fieldPath, msg string) { p.add(v1alpha1.StateRejected, fieldPath, msg) }
func (p *problems) rejected() bool               { return p.rej }

// rejectAll turns Validate's errors into Rejected problems. It reports
// whether there were any.
func (p *problems) rejectAll(errs field.ErrorList) bool {
	for _, e := range errs {
		msg := e.ErrorBody()
		if msg == "" {
			msg = e.Detail
		}
		p.reject(e.Field, msg)
	}
	return len(errs) > 0
}

// buildReport makes an object's report from its problems.
func buildReport(ref ident.Ref, ps []Problem) Report {
	state, reason := summarize(ps)
	return Report{Ref: ref, State: state, Reason: reason, Problems: ps}
}

// summarize is the state and the reason ("field: message; ...") that
// problems add up to.
func summarize(ps []Problem) (v1alpha1.State, string) {
	if len(ps) == 0 {
		return v1alpha1.StateAccepted, ""
	}
	state := v1alpha1.StateWarning
	var b strings.Builder
	for j, p := range ps {
		if p.Severity == v1alpha1.StateRejected {
			state = v1alpha1.StateRejected
		}
		if j > 0 {
			b.WriteString("; ")
		}
		if p.Field != "" {
			b.WriteString(p.Field)
			b.WriteString(": ")
		}
		b.WriteString(p.Message)
	}
	return state, b.String()
}

// reports returns every object's report sorted by kind, namespace and
// name. The list is rebuilt only when a report changed; callers must not
// modify it.
func (t *Translator) reports() []Report {
	if !t.repsOld && t.reps != nil {
		return t.reps
	}
	n := len(t.ups.order) + len(t.groups.order) + len(t.canaries.order) + len(t.vss.order) + len(t.gateways)
	out := make([]Report, 0, n)
	// Kinds in name order: Canary, Gateway, Upstream, UpstreamGroup,
	// VirtualService; within a kind, cells are in namespace/name order.
	for _, c := range t.canaries.order {
		if q, ok := t.canaryClaims[c.key]; ok {
			out = append(out, withProblems(c.key.Ref(v1alpha1.KindCanary), c.problems, []Problem{q}, c.serving))
			continue
		}
		out = append(out, t.canaries.report(c))
	}
	for _, g := range t.gateways {
		if g.report.Kind != "" {
			out = append(out, g.report)
		}
	}
	for _, c := range t.ups.order {
		out = append(out, t.ups.report(c))
	}
	for _, c := range t.groups.order {
		out = append(out, t.groups.report(c))
	}
	for _, c := range t.vss.order {
		if ps := t.layout.vsProblems[c.key]; len(ps) > 0 {
			out = append(out, withProblems(c.key.Ref(v1alpha1.KindVirtualService), c.problems, ps, c.serving))
			continue
		}
		out = append(out, t.vss.report(c))
	}
	t.reps, t.repsOld = out, false
	return out
}

// withProblems is an object's report with the problems found beyond its
// own compilation (a domain or a group an older claim holds) after its
// own. An object those reject is served in no version.
func withProblems(ref ident.Ref, own, more []Problem, serving *Served) Report {
	p := problems{list: append([]Problem(nil), own...)}
	var rejected bool
	for _, q := range more {
		p.add(q.Severity, q.Field, q.Message)
		rejected = rejected || q.Severity == v1alpha1.StateRejected
	}
	r := buildReport(ref, p.list)
	if serving != nil && !rejected {
		r.Serving = serving
		r.Reason += serving.suffix()
	}
	return r
}
