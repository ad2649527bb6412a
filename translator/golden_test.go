package translator

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/serin-dev/serin/pkg/ident"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite testdata/*.out.yaml from the current translator and delete stale ones")

// renderOutput writes an Output as YAML: per fleet the resources in Envoy's
// JSON mapping (protojson), then the reports.
func renderOutput(out *Output) ([]byte, error) {
	type fleet struct {
		Clusters     []json.RawMessage      `json:"clusters,omitempty"`
		Endpoints    []json.RawMessage      `json:"endpoints,omitempty"`
		Listeners    []json.RawMessage      `json:"listeners,omitempty"`
		APIListeners []json.RawMessage      `json:"apiListeners,omitempty"`
		Routes       []json.RawMessage      `json:"routes,omitempty"`
		Origins      map[string][]ident.Ref `json:"origins,omitempty"`
	}
	var err error
	raw := func(ms ...proto.Message) []json.RawMessage {
		var rs []json.RawMessage
		for _, m := range ms {
			b, e := protojson.Marshal(m)
			if e != nil && err == nil {
				err = e
			}
			rs = append(rs, b)
		}
		return rs
	}
	doc := struct {
		Fleets  map[string]fleet `json:"fleets"`
		Reports []Report         `json:"reports"`
	}{Fleets: map[string]fleet{}, Reports: out.Reports}
	for name, r := range out.Fleets {
		f := fleet{Origins: map[string][]ident.Ref{}}
		for id, refs := range r.Origins {
			f.Origins[id.String()] = refs
		}
		for _, m := range r.Clusters {
			f.Clusters = append(f.Clusters, raw(m)...)
		}
		for _, m := range r.Endpoints {
			f.Endpoints = append(f.Endpoints, raw(m)...)
		}
		for _, m := range r.Listeners {
			f.Listeners = append(f.Listeners, raw(m)...)
		}
		for _, m := range r.APIListeners {
			f.APIListeners = append(f.APIListeners, raw(m)...)
		}
		for _, m := range r.Routes {
			f.Routes = append(f.Routes, raw(m)...)
		}
		doc.Fleets[name] = f
	}
	js, e := json.Marshal(doc)
	if err == nil {
		err = e
	}
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(js)
}

func TestGolden(t *testing.T) {
	ins, err := filepath.Glob("testdata/*.in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) < 25 {
		t.Errorf("only %d golden cases; the contract asks for at least 25", len(ins))
	}
	want := map[string]bool{}
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
		outPath := filepath.Join("testdata", name+".out.yaml")
		want[outPath] = true
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			input, opts, err := decodeInput(data)
			if err != nil {
				t.Fatal(err)
			}
			out := Translate(input, opts)
			for _, e := range checkOutput(out) {
				t.Error(e)
			}
			got, err := renderOutput(out)
			if err != nil {
				t.Fatal(err)
			}
			// Determinism: a second translation renders byte-identically.
			again, err := renderOutput(Translate(input, opts))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, again) {
				t.Fatal("two translations of the same input differ")
			}
			if *update {
				if err := os.WriteFile(outPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			expected, err := os.ReadFile(outPath)
			if err != nil {
				t.Fatalf("%v (run go test ./translator -update)", err)
			}
			if !bytes.Equal(got, expected) {
				t.Errorf("%s differs from the translation (run go test ./translator -update and review the diff):\n%s", outPath, firstDiff(expected, got))
			}
		})
	}
	if *update {
		outs, _ := filepath.Glob("testdata/*.out.yaml")
		sort.Strings(outs)
		for _, o := range outs {
			if !want[o] {
				t.Logf("deleting stale %s", o)
				if err := os.Remove(o); err != nil {
					t.Error(err)
				}
			}
		}
	}
}

// firstDiff shows the first differing line with a little context.
func firstDiff(want, got []byte) string {
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n- " + w + "\n+ " + g
		}
	}
	return "(no line differs)"
}
