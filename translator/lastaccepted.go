package translator

import (
	"reflect"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// Serving the last accepted version.
//
// An edit that makes an object Rejected must not take down what it served:
// when the input's version of an object compiles to Rejected and
// Input.LastAccepted holds an earlier version of it, that version is
// compiled in its place and is what readers and the fleets see. The report
// stays Rejected with the input version's problems, says which version is
// served (Report.Serving, and a suffix of the reason), and the cell reads
// what both versions read. When the earlier version is Rejected too now
// (what it references is gone, say), the object is left out, as it would
// be with no earlier version. Deleting the object removes it: entries for
// objects not in the input are never read.

// lastAccepted returns the last accepted version of the object o is the
// input version of, when there is one that is an earlier version: of the
// right type and key, of the same incarnation, and not o itself.
func lastAccepted[T object](tr *Translator, r ident.Ref, o listed[T]) (T, Accepted, bool) {
	var zero T
	acc, ok := tr.in.LastAccepted[r]
	if !ok {
		return zero, acc, false
	}
	prev, ok := acc.Obj.(T)
	if !ok || prev == zero || prev == o.obj || (acc.Rev != 0 && acc.Rev == o.rev) || ident.KeyOf(prev) != r.Key() ||
		!sameIncarnation(prev, o.obj) {
		return zero, acc, false
	}
	return prev, acc, true
}

// sameIncarnation reports whether two versions can be of one object, not
// of one deleted and created again under the same name (whose accepted
// version must not come back): their UIDs and creationTimestamps agree
// where both are set.
func sameIncarnation(a, b any) bool {
	ma, okA := a.(metav1.Object)
	mb, okB := b.(metav1.Object)
	if !okA || !okB {
		return true
	}
	if ua, ub := ma.GetUID(), mb.GetUID(); ua != "" && ub != "" && ua != ub {
		return false
	}
	ta, tb := ma.GetCreationTimestamp(), mb.GetCreationTimestamp()
	return ta.IsZero() || tb.IsZero() || ta.Equal(&tb)
}

// servedFrom is the Served of an accepted version.
func servedFrom(obj any, acc Accepted) *Served {
	s := &Served{Rev: acc.Rev, At: acc.At}
	if g, ok := obj.(interface{ GetGeneration() int64 }); ok {
		s.Generation = g.GetGeneration()
	}
	return s
}

func sameServed(a, b *Served) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Rev == b.Rev && a.Generation == b.Generation && a.At.Equal(b.At)
}

// suffix is what a Rejected report's reason adds when s is served:
// "; serving the version accepted at 2026-11-29T17:50:02Z (generation 3)
// instead".
func (s *Served) suffix() string {
	if s == nil {
		return ""
	}
	out := "; serving the version accepted at " + s.At.UTC().Format(time.RFC3339)
	if s.Generation != 0 {
		out += " (generation " + strconv.FormatInt(s.Generation, 10) + ")"
	}
	return out + " instead"
}

func sameAccepted(a, b Accepted) bool {
	if a.Rev != b.Rev || !a.At.Equal(b.At) {
		return false
	}
	ta, tb := reflect.TypeOf(a.Obj), reflect.TypeOf(b.Obj)
	if ta != tb {
		return false
	}
	if ta == nil || !ta.Comparable() {
		return ta == nil
	}
	return a.Obj == b.Obj
}

// union is a ∪ b; either may be nil.
func union(a, b map[ident.Key]bool) map[ident.Key]bool {
	switch {
	case len(a) == 0:
		return b
	case len(b) == 0:
		return a
	}
	out := make(map[ident.Key]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// gatewayLastAccepted serves a Gateway's last accepted version when its
// input version is Rejected (see above): e takes the accepted version's
// resolution, and the returned Served goes on the report.
func (t *Translator) gatewayLastAccepted(e *gatewayEntry, o listed[*v1alpha1.Gateway], bound []*gatewayEntry) *Served {
	prev, acc, ok := lastAccepted(t, e.key.Ref(v1alpha1.KindGateway), o)
	if !ok {
		return nil
	}
	served := &gatewayEntry{key: e.key}
	var p problems
	t.compileGateway(served, prev, &p, bound)
	if !served.ok {
		return nil
	}
	*e = *served
	return servedFrom(prev, acc)
}
