package file

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/serin-dev/serin/pkg/store"
	"github.com/serin-dev/serin/translator"
)

// fuzzSeeds are the examples plus small inputs that reach the decoder's
// corners: aliases, merge keys, lists, JSON, broken documents.
func fuzzSeeds(f *testing.F) {
	for _, dir := range []string{"../../../examples/canary", "../../../examples/gloo", "../../../cmd/serin/testdata/broken"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	for _, s := range []string{
		"",
		"---\n---\n",
		"[]",
		`{"apiVersion":"serin.dev/v1alpha1","kind":"Gateway","metadata":{"name":"g"}}`,
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: serin.dev/v1alpha1\n  kind: Gateway\n  metadata: {name: a}\n",
		"a: &a [*a]\n",
		"a: &x {b: 1}\nc: {<<: *x}\n",
		"apiVersion: serin.dev/v1alpha1\nkind: UpstreamGroup\nmetadata: {name: g}\nspec: {destinations: [{destination: {upstream: {name: a}}, weight: 99999999999999999999}]}\n",
		"apiVersion: serin.dev/v1alpha1\nkind: VirtualService\nmetadata: {name: v}\nspec: {virtualHost: {domains: ['*'], routes: [{options: {mirrors: [{upstream: {name: u}, percentage: 1e400}]}}]}}\n",
		"%YAML 1.2\n--- !!map\n? [a]\n: b\n",
	} {
		f.Add([]byte(s))
	}
	// The alias bombs of the "trust" issue, refused by the expansion budget.
	f.Add(aliasBomb(5, 10, 8<<10, 0))
	f.Add(aliasBomb(6, 10, 0, 578))
}

// FuzzDecode: no input makes the decoder, Convert or LineOf panic, and
// what Decode returns is well formed.
func FuzzDecode(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, errs := DecodeObjects("f.yaml", data)
		for _, err := range errs {
			var fe *FileError
			if !errors.As(err, &fe) || fe.File != "f.yaml" {
				t.Fatalf("error %v is not a FileError of f.yaml", err)
			}
		}
		for _, o := range objs {
			if o.Key.Name == "" || o.Key.Namespace == "" || o.Obj.GetNamespace() == "" {
				t.Fatalf("object without name or namespace: %+v", o.Key)
			}
			if o.Origin.File != "f.yaml" || o.Origin.Line < 1 {
				t.Fatalf("bad origin %v", o.Origin)
			}
			_ = o.Line("spec.destinations[0].weight")
			_ = LineOf(data, o.Origin.Line, "metadata.labels[a.b]")
		}
		_, _ = Convert("f.yaml", data)
	})
}

// FuzzDecodeTranslate: whatever decodes, the store accepts and the
// translator turns into resources without panicking.
func FuzzDecodeTranslate(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, _ := DecodeObjects("f.yaml", data)
		objs, _ = dedupe(objs, nil)
		entries := make([]store.Entry, len(objs))
		for i, o := range objs {
			entries[i] = o.Entry
		}
		st := store.New()
		if _, err := st.ReplaceSource("fuzz", entries); err != nil {
			t.Fatalf("ReplaceSource: %v", err)
		}
		out := translator.Translate(translator.InputFrom(st.Read()), translator.Options{LoadReporting: len(data)%2 == 0})
		if out == nil || out.Fleets["default"] == nil {
			t.Fatal("no default fleet")
		}
	})
}
