package translator

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The IR has two golden stages beside TestGolden's API -> Envoy one:
//
//	<case>.in.yaml --BuildIR--> <case>.ir.yaml --Emit--> <case>.out.yaml
//
// TestGoldenIR checks the first (and that every built IR is valid and
// round-trips through YAML); TestGoldenIREmit checks the second from the
// .ir.yaml file alone, so that Emit is tested without the API. -update
// rewrites the .ir.yaml files and deletes stale ones.

func goldenCases(t *testing.T) []string {
	t.Helper()
	ins, err := filepath.Glob("testdata/*.in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(ins))
	for i, in := range ins {
		names[i] = strings.TrimSuffix(filepath.Base(in), ".in.yaml")
	}
	return names
}

func buildGoldenIR(t *testing.T, name string) *IR {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".in.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	in, opts, err := decodeInput(data)
	if err != nil {
		t.Fatal(err)
	}
	ir, _ := BuildIR(in, opts)
	return ir
}

func TestGoldenIR(t *testing.T) {
	want := map[string]bool{}
	for _, name := range goldenCases(t) {
		irPath := filepath.Join("testdata", name+".ir.yaml")
		want[irPath] = true
		t.Run(name, func(t *testing.T) {
			ir := buildGoldenIR(t, name)
			if err := ir.Validate(); err != nil {
				t.Errorf("BuildIR gave an invalid IR:\n%v", err)
			}
			got, err := EncodeIR(ir)
			if err != nil {
				t.Fatal(err)
			}
			again, err := EncodeIR(buildGoldenIR(t, name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, again) {
				t.Fatal("two builds of the same input encode differently")
			}

			// decode(encode(ir)) is ir.
			back, err := DecodeIR(got)
			if err != nil {
				t.Fatalf("decode the encoded IR: %v", err)
			}
			if !sameIR(back, ir) {
				t.Errorf("the IR does not survive YAML:\nbefore %s\nafter  %s", debugJSON(ir), debugJSON(back))
			}
			if err := back.Validate(); err != nil {
				t.Errorf("decoded IR is invalid:\n%v", err)
			}
			// sigs.k8s.io/yaml reads and writes the same document (keys sorted).
			var viaSigs IR
			if err := yaml.UnmarshalStrict(got, &viaSigs); err != nil {
				t.Fatalf("sigs.k8s.io/yaml: %v", err)
			}
			sorted, err := yaml.Marshal(&viaSigs)
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.UnmarshalStrict(sorted, &viaSigs); err != nil || !sameIR(&viaSigs, ir) {
				t.Errorf("sigs.k8s.io/yaml round trip differs (err %v)", err)
			}

			if *update {
				if err := os.WriteFile(irPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			expected, err := os.ReadFile(irPath)
			if err != nil {
				t.Fatalf("%v (run go test ./translator -update)", err)
			}
			if !bytes.Equal(got, expected) {
				t.Errorf("%s differs from BuildIR's (run go test ./translator -update and review the diff):\n%s", irPath, firstDiff(expected, got))
			}
		})
	}
	if *update {
		irs, _ := filepath.Glob("testdata/*.ir.yaml")
		sort.Strings(irs)
		for _, p := range irs {
			if !want[p] {
				t.Logf("deleting stale %s", p)
				if err := os.Remove(p); err != nil {
					t.Error(err)
				}
			}
		}
	}
}

// Emit(decode(<case>.ir.yaml)) gives the fleets of <case>.out.yaml.
func TestGoldenIREmit(t *testing.T) {
	for _, name := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name+".ir.yaml"))
			if err != nil {
				t.Fatalf("%v (run go test ./translator -update)", err)
			}
			ir, err := DecodeIR(data)
			if err != nil {
				t.Fatal(err)
			}
			if err := ir.Validate(); err != nil {
				t.Errorf("%s.ir.yaml is invalid:\n%v", name, err)
			}
			rendered, err := renderOutput(&Output{Fleets: Emit(ir)})
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", name+".out.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			got, wantFleets := fleetsYAML(t, rendered), fleetsYAML(t, want)
			if !bytes.Equal(got, wantFleets) {
				t.Errorf("Emit(%s.ir.yaml) differs from the fleets of %s.out.yaml:\n%s", name, name, firstDiff(wantFleets, got))
			}
		})
	}
}

// fleetsYAML is the fleets part of a rendered Output (the reports come
// from BuildIR, not from the IR).
func fleetsYAML(t *testing.T, doc []byte) []byte {
	t.Helper()
	var d struct {
		Fleets json.RawMessage `json:"fleets"`
	}
	if err := yaml.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	y, err := yaml.JSONToYAML(d.Fleets)
	if err != nil {
		t.Fatal(err)
	}
	return y
}
