package file

import "testing"

const lineDoc = `# leading comment
apiVersion: serin.dev/v1alpha1
kind: UpstreamGroup
metadata:
  name: g
  labels:
    app.kubernetes.io/name: myapp
spec:
  destinations:
  - destination:
      upstream: {name: a}
    weight: 90
  - destination:
      upstream:
        name: b
    weight: 10
---
apiVersion: serin.dev/v1alpha1
kind: Gateway
metadata: {name: gw}
spec:
  bindPort: 0
`

func TestLineOf(t *testing.T) {
	tests := []struct {
		docLine int
		path    string
		want    int
	}{
		{2, "", 2},
		{2, "metadata.name", 5},
		{2, "metadata.labels[app.kubernetes.io/name]", 7},
		{2, "spec.destinations", 9},
		{2, "spec.destinations[0]", 10},
		{2, "spec.destinations[1].weight", 16},
		{2, "spec.destinations[1].destination.upstream.name", 15},
		{2, "spec.destinations[0].destination.upstream.name", 11},
		// Absent fields fall back to the nearest ancestor.
		{2, "spec.destinations[1].destination.upstream.namespace", 14},
		{2, "spec.destinations[7].weight", 9},
		{2, "spec.nothing", 8},
		{18, "spec.bindPort", 22},
		{18, "spec.bindAddress", 21},
		// Unknown documents answer their own line.
		{99, "spec", 99},
	}
	for _, tt := range tests {
		if got := LineOf([]byte(lineDoc), tt.docLine, tt.path); got != tt.want {
			t.Errorf("LineOf(doc@%d, %q) = %d, want %d", tt.docLine, tt.path, got, tt.want)
		}
	}
}

func TestObjectLine(t *testing.T) {
	objs, errs := DecodeObjects("f.yaml", []byte(lineDoc))
	if len(errs) > 0 || len(objs) != 2 {
		t.Fatalf("decode: %d objects, %v", len(objs), errs)
	}
	if got := objs[0].Line("spec.destinations[1].weight"); got != 16 {
		t.Errorf("Line = %d, want 16", got)
	}
	if got := objs[1].Line("spec.bindPort"); got != 22 {
		t.Errorf("Line = %d, want 22", got)
	}
}

func TestSplitPath(t *testing.T) {
	got := splitPath("a.b[1].c[key.with.dots].d")
	want := []string{"a", "b", "1", "c", "key.with.dots", "d"}
	if len(got) != len(want) {
		t.Fatalf("splitPath = %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("splitPath = %q, want %q", got, want)
		}
	}
}
