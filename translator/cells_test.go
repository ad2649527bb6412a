package translator

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

func staticUpstream(name string, port uint32) *v1alpha1.Upstream {
	return &v1alpha1.Upstream{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       v1alpha1.UpstreamSpec{Static: &v1alpha1.StaticUpstream{Hosts: []v1alpha1.Host{{Addr: "10.0.0.1", Port: port}}}},
	}
}

func reportOf(t *testing.T, out *Output, kind, name string) Report {
	t.Helper()
	for _, r := range out.Reports {
		if r.Kind == kind && r.Name == name {
			return r
		}
	}
	t.Fatalf("no report for %s %s", kind, name)
	return Report{}
}

// Input that is not what a store read gives (unsorted, a nil, a key twice)
// is sorted and deduplicated, the first definition wins with a Warning, and
// a Translator notices when the duplicate goes away even though no
// revision moved.
func TestCellsUnsortedDuplicateInput(t *testing.T) {
	a1, a2, b := staticUpstream("a", 8080), staticUpstream("a", 9090), staticUpstream("b", 8080)
	in := &Input{Upstreams: []Object[*v1alpha1.Upstream]{{Obj: b, Rev: 3}, {Obj: a1, Rev: 1}, {}, {Obj: a2, Rev: 2}}}
	tr := NewTranslator()
	out := tr.Translate(in, Options{})
	if r := reportOf(t, out, v1alpha1.KindUpstream, "a"); r.State != v1alpha1.StateWarning || !strings.Contains(r.Reason, "defined more than once") {
		t.Errorf("duplicate: %s %q", r.State, r.Reason)
	}
	if got := len(out.Reports); got != 2 {
		t.Errorf("%d reports, want one per key", got)
	}
	if out2 := Translate(in, Options{}); !sameReports(out.Reports, out2.Reports) {
		t.Error("a Translator and Translate disagree on the same input")
	}

	in = &Input{Upstreams: []Object[*v1alpha1.Upstream]{{Obj: a1, Rev: 1}, {Obj: b, Rev: 3}}}
	out = tr.Translate(in, Options{})
	if r := reportOf(t, out, v1alpha1.KindUpstream, "a"); r.State != v1alpha1.StateAccepted {
		t.Errorf("duplicate gone: %s %q", r.State, r.Reason)
	}
}

// Objects without a revision are compiled on every run: nothing proves
// they did not change.
func TestCellsUnversionedCompileEveryTime(t *testing.T) {
	in := &Input{Upstreams: Objects(staticUpstream("a", 8080), staticUpstream("b", 8080))}
	tr := NewTranslator()
	tr.Translate(in, Options{})
	tr.Translate(in, Options{})
	if st := tr.Stats(); st.Compiled != 2 {
		t.Errorf("second run of unversioned input: %+v, want both compiled", st)
	}
	versioned := &Input{Upstreams: []Object[*v1alpha1.Upstream]{{Obj: in.Upstreams[0].Obj, Rev: 1}, {Obj: in.Upstreams[1].Obj, Rev: 1}}}
	tr.Translate(versioned, Options{})
	tr.Translate(versioned, Options{})
	if st := tr.Stats(); st.Compiled != 0 || st.Layout {
		t.Errorf("second run of the same revisions: %+v, want nothing compiled", st)
	}
}

func sameReports(a, b []Report) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Ref != b[i].Ref || a[i].State != b[i].State || a[i].Reason != b[i].Reason {
			return false
		}
	}
	return true
}
