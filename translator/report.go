package translator

import (
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// reporter collects the problems of every object. Every input object gets a
// report, even when nothing is wrong with it.
type reporter struct {
	byRef map[ObjectRef]*Report
}

func newReporter(n int) *reporter {
	return &reporter{byRef: make(map[ObjectRef]*Report, n)}
}

// seen records that an object exists, so that it gets a report.
func (r *reporter) seen(ref ObjectRef) {
	if _, ok := r.byRef[ref]; !ok {
		r.byRef[ref] = &Report{ObjectRef: ref}
	}
}

func (r *reporter) add(ref ObjectRef, sev v1alpha1.State, fieldPath, msg string) {
	rep, ok := r.byRef[ref]
	if !ok {
		rep = &Report{ObjectRef: ref}
		r.byRef[ref] = rep
	}
	p := Problem{Severity: sev, Field: fieldPath, Message: msg}
	// The same problem can be found once per fleet; say it once.
	for _, q := range rep.Problems {
		if q == p {
			return
		}
	}
	rep.Problems = append(rep.Problems, p)
}

func (r *reporter) warn(ref ObjectRef, fieldPath, msg string) {
	r.add(ref, v1alpha1.StateWarning, fieldPath, msg)
}

func (r *reporter) reject(ref ObjectRef, fieldPath, msg string) {
	r.add(ref, v1alpha1.StateRejected, fieldPath, msg)
}

// rejectAll turns Validate's errors into Rejected problems. It reports
// whether there were any.
func (r *reporter) rejectAll(ref ObjectRef, errs field.ErrorList) bool {
	for _, e := range errs {
		msg := e.ErrorBody()
		if msg == "" {
			msg = e.Detail
		}
		r.reject(ref, e.Field, msg)
	}
	return len(errs) > 0
}

func (r *reporter) rejected(ref ObjectRef) bool {
	rep, ok := r.byRef[ref]
	if !ok {
		return false
	}
	for _, p := range rep.Problems {
		if p.Severity == v1alpha1.StateRejected {
			return true
		}
	}
	return false
}

// reports returns every report sorted by kind, namespace and name, with its
// state and reason filled in.
func (r *reporter) reports() []Report {
	out := make([]Report, 0, len(r.byRef))
	for _, rep := range r.byRef {
		rep.State = v1alpha1.StateAccepted
		if len(rep.Problems) > 0 {
			var b strings.Builder
			rep.State = v1alpha1.StateWarning
			for i, p := range rep.Problems {
				if p.Severity == v1alpha1.StateRejected {
					rep.State = v1alpha1.StateRejected
				}
				if i > 0 {
					b.WriteString("; ")
				}
				if p.Field != "" {
					b.WriteString(p.Field)
					b.WriteString(": ")
				}
				b.WriteString(p.Message)
			}
			rep.Reason = b.String()
		}
		out = append(out, *rep)
	}
	sort.Slice(out, func(i, j int) bool { return refLess(out[i].ObjectRef, out[j].ObjectRef) })
	return out
}

func refLess(a, b ObjectRef) bool {
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}
