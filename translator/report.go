package translator

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// reporter collects a report per input object. Objects hold the index of
// their report, so that reporting needs no lookup by name.
type reporter struct {
	list []Report
}

func newReporter(n int) *reporter {
	return &reporter{list: make([]Report, 0, n)}
}

// open starts the report of an object and returns its index.
func (r *reporter) open(ref ident.Ref) int32 {
	r.list = append(r.list, Report{Ref: ref})
	return int32(len(r.list) - 1)
}

func (r *reporter) add(i int32, sev v1alpha1.State, fieldPath, msg string) {
	rep := &r.list[i]
	p := Problem{Severity: sev, Field: fieldPath, Message: msg}
	// The same problem can be found once per fleet; say it once.
	for _, q := range rep.Problems {
		if q == p {
			return
		}
	}
	rep.Problems = append(rep.Problems, p)
	if sev == v1alpha1.StateRejected {
		rep.State = v1alpha1.StateRejected
	}
}

func (r *reporter) warn(i int32, fieldPath, msg string) {
	r.add(i, v1alpha1.StateWarning, fieldPath, msg)
}

func (r *reporter) reject(i int32, fieldPath, msg string) {
	r.add(i, v1alpha1.StateRejected, fieldPath, msg)
}

// rejectAll turns Validate's errors into Rejected problems. It reports
// whether there were any.
func (r *reporter) rejectAll(i int32, errs field.ErrorList) bool {
	for _, e := range errs {
		msg := e.ErrorBody()
		if msg == "" {
			msg = e.Detail
		}
		r.reject(i, e.Field, msg)
	}
	return len(errs) > 0
}

func (r *reporter) rejected(i int32) bool { return r.list[i].State == v1alpha1.StateRejected }

// reports returns every report sorted by kind, namespace and name, with its
// state and reason filled in.
func (r *reporter) reports() []Report {
	for i := range r.list {
		rep := &r.list[i]
		if len(rep.Problems) == 0 {
			rep.State = v1alpha1.StateAccepted
			continue
		}
		if rep.State != v1alpha1.StateRejected {
			rep.State = v1alpha1.StateWarning
		}
		var b strings.Builder
		for j, p := range rep.Problems {
			if j > 0 {
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
	slices.SortStableFunc(r.list, func(a, b Report) int { return refCompare(a.Ref, b.Ref) })
	return r.list
}

func refCompare(a, b ident.Ref) int {
	if c := strings.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

func refLess(a, b ident.Ref) bool { return refCompare(a, b) < 0 }

// problems reports on one object.
type problems struct {
	rep *reporter
	i   int32
}

func (p *problems) warn(fieldPath, msg string)   { p.rep.warn(p.i, fieldPath, msg) }
func (p *problems) reject(fieldPath, msg string) { p.rep.reject(p.i, fieldPath, msg) }
func (p *problems) rejected() bool               { return p.rep.rejected(p.i) }
