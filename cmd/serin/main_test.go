package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/serin-dev/serin/pkg/source/file"
	"github.com/serin-dev/serin/translator"
)

// serin runs the CLI in-process.
func serin(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := serin(t, "version")
	if code != 0 || out != "serin dev (commit dev)\n" {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"nope"}, {"lint"}, {"lint", "--bogus", "x"}, {"translate", "-o", "xml", "../../examples/canary"}, {"--log-level", "loud", "version"}} {
		if code, _, errOut := serin(t, args...); code != 2 {
			t.Errorf("serin %q: exit %d, want 2 (stderr %q)", args, code, errOut)
		}
	}
}

func TestLintExamples(t *testing.T) {
	tests := map[string]string{
		"../../examples/canary":                        "OK: 4 object(s) in 4 file(s) (2 Upstream, 1 UpstreamGroup, 1 VirtualService)\n",
		"../../examples/gloo":                          "OK: 4 object(s) in 3 file(s) (2 Upstream, 1 UpstreamGroup, 1 VirtualService)\n",
		"../../examples/canary/upstream-myapp-v1.yaml": "OK: 1 object(s) in 1 file(s) (1 Upstream)\n",
	}
	for dir, want := range tests {
		code, out, errOut := serin(t, "lint", dir)
		if code != 0 || out != want {
			t.Errorf("lint %s: exit %d\nstdout %q\nwant   %q\nstderr %s", dir, code, out, want, errOut)
		}
	}
}

func TestLintBroken(t *testing.T) {
	code, out, errOut := serin(t, "lint", "testdata/broken")
	want := []string{
		"testdata/broken/group.yaml:12: UpstreamGroup default/app: spec.destinations[1].destination.upstream: Upstream default/app-v3 not found; destination dropped",
		"testdata/broken/upstreams.yaml:1: Upstream default/app-v1: already defined at testdata/broken/dup.yaml:1; this definition is ignored",
		"testdata/broken/upstreams.yaml:19: Upstream default/app-v2: spec.static.hosts[0].port: Invalid value: 70000: must be between 1 and 65535",
		`testdata/broken/upstreams.yaml:20: Upstream default/app-v2: spec.connectTimeout: Invalid value: "soon": not a duration (use e.g. 500ms, 5s, 1m)`,
		"testdata/broken/vs.yaml:10: VirtualService default/app: spec.virtualHost.routes[0].matchers[0].regex: Invalid value: \"/(unclosed\": not an RE2 regular expression: error parsing regexp: missing closing ): `/(unclosed`",
		"testdata/broken/vs.yaml:17: VirtualService default/app: spec.virtualHost.routes[0].options.shadowing.percentage: Invalid value: 150: must be between 0 and 100",
		"testdata/broken/vs.yaml:25: VirtualService default/typo: spec.virtualHost.domain: unknown field",
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lint lines:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
	if errOut != "serin: 7 problem(s) found\n" {
		t.Errorf("stderr %q", errOut)
	}
}

func TestLintAllowWarnings(t *testing.T) {
	dir := t.TempDir()
	// A route to a group that does not exist is a warning: it answers 503.
	writeTestFile(t, filepath.Join(dir, "vs.yaml"), `apiVersion: serin.dev/v1alpha1
kind: VirtualService
metadata: {name: vs}
spec:
  virtualHost:
    domains: [x]
    routes:
    - routeAction: {upstreamGroup: {name: missing}}
`)
	code, out, _ := serin(t, "lint", dir)
	if code != 1 || !strings.Contains(out, "vs.yaml:8: VirtualService default/vs: spec.virtualHost.routes[0].routeAction.upstreamGroup: ") {
		t.Errorf("lint: exit %d, output %q", code, out)
	}
	code, out, _ = serin(t, "lint", "--allow-warnings", dir)
	if code != 0 || !strings.HasSuffix(out, "OK: 1 object(s) in 1 file(s) (1 VirtualService), 1 warning(s)\n") {
		t.Errorf("lint --allow-warnings: exit %d, output %q", code, out)
	}
}

func TestLintMissingPath(t *testing.T) {
	code, _, errOut := serin(t, "lint", "testdata/does-not-exist")
	if code != 1 || !strings.Contains(errOut, "does-not-exist") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// translated is the part of translate's output the tests look at.
type translated struct {
	Fleets map[string]struct {
		Clusters     []struct{ Name string } `json:"clusters"`
		APIListeners []struct{ Name string } `json:"apiListeners"`
		Routes       []struct {
			Name         string
			VirtualHosts []vhost `json:"virtual_hosts"`
		} `json:"routes"`
	} `json:"fleets"`
}

type vhost struct {
	Domains []string `json:"domains"`
	Routes  []struct {
		Name  string `json:"name"`
		Route struct {
			Cluster          string `json:"cluster"`
			WeightedClusters struct {
				Clusters []struct {
					Name   string `json:"name"`
					Weight int    `json:"weight"`
				} `json:"clusters"`
			} `json:"weighted_clusters"`
			RequestMirrorPolicies []struct {
				Cluster string `json:"cluster"`
			} `json:"request_mirror_policies"`
		} `json:"route"`
	} `json:"routes"`
}

func TestTranslateCanaryExample(t *testing.T) {
	code, out, errOut := serin(t, "translate", "-o", "json", "../../examples/canary")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc translated
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	f, ok := doc.Fleets["default"]
	if !ok {
		t.Fatalf("no default fleet in %s", out)
	}
	var clusters, apiListeners []string
	for _, c := range f.Clusters {
		clusters = append(clusters, c.Name)
	}
	for _, l := range f.APIListeners {
		apiListeners = append(apiListeners, l.Name)
	}
	if got := strings.Join(clusters, ","); got != "myapp-v1_default,myapp-v2_default" {
		t.Errorf("clusters %s", got)
	}
	if got := strings.Join(apiListeners, ","); got != "myapp,myapp.example.com" {
		t.Errorf("API listeners %s", got)
	}
	var rc *struct {
		Name         string
		VirtualHosts []vhost `json:"virtual_hosts"`
	}
	for i := range f.Routes {
		if f.Routes[i].Name == "myapp" {
			rc = &f.Routes[i]
		}
	}
	if rc == nil || len(rc.VirtualHosts) != 1 || len(rc.VirtualHosts[0].Routes) != 2 {
		t.Fatalf("route configuration myapp: %+v", rc)
	}
	testers, def := rc.VirtualHosts[0].Routes[0], rc.VirtualHosts[0].Routes[1]
	if testers.Route.Cluster != "myapp-v2_default" {
		t.Errorf("x-canary route goes to %q", testers.Route.Cluster)
	}
	var split []string
	for _, c := range def.Route.WeightedClusters.Clusters {
		split = append(split, c.Name+"="+itoa(c.Weight))
	}
	if got := strings.Join(split, ","); got != "myapp-v1_default=90,myapp-v2_default=10" {
		t.Errorf("default route split %s", got)
	}
	if m := def.Route.RequestMirrorPolicies; len(m) != 1 || m[0].Cluster != "myapp-v2_default" {
		t.Errorf("mirrors %+v", m)
	}
}

func TestTranslateYAMLMatchesJSON(t *testing.T) {
	_, js, _ := serin(t, "translate", "-o", "json", "../../examples/canary")
	code, ys, errOut := serin(t, "translate", "../../examples/canary")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var fromJSON, fromYAML any
	if err := json.Unmarshal([]byte(js), &fromJSON); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(ys), &fromYAML); err != nil {
		t.Fatalf("output is not YAML: %v", err)
	}
	a, _ := json.Marshal(fromJSON)
	b, _ := json.Marshal(fromYAML)
	if !bytes.Equal(a, b) {
		t.Errorf("YAML and JSON outputs differ")
	}
	// Deterministic: a second run prints the same bytes.
	if _, again, _ := serin(t, "translate", "../../examples/canary"); again != ys {
		t.Errorf("translate output differs between runs")
	}
}

func TestTranslateDecodeErrorFails(t *testing.T) {
	code, out, errOut := serin(t, "translate", "testdata/broken")
	if code != 1 || !strings.Contains(out, "fleets:") || !strings.Contains(errOut, "spec.virtualHost.domain: unknown field") {
		t.Errorf("exit %d\nstdout %.200q\nstderr %q", code, out, errOut)
	}
}

// -o ir prints the IR as YAML: it decodes, validates, and emits exactly
// the resources -o json prints.
func TestTranslateIR(t *testing.T) {
	code, out, errOut := serin(t, "translate", "-o", "ir", "../../examples/canary")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	ir, err := translator.DecodeIR([]byte(out))
	if err != nil {
		t.Fatalf("output is not an IR: %v\n%s", err, out)
	}
	if err := ir.Validate(); err != nil {
		t.Errorf("invalid IR: %v", err)
	}
	if len(ir.Fleets) != 1 || ir.Fleets[0].Name != "default" {
		t.Fatalf("fleets %+v", ir.Fleets)
	}
	f := ir.Fleets[0]
	var clusters []string
	for _, c := range f.Clusters {
		clusters = append(clusters, c.Name+"/"+c.ConnectTimeout.String())
	}
	if got := strings.Join(clusters, ","); got != "myapp-v1_default/1s,myapp-v2_default/1s" {
		t.Errorf("clusters %s", got)
	}
	if len(f.VirtualHosts) != 1 || len(f.VirtualHosts[0].Routes) != 2 {
		t.Fatalf("virtual hosts %+v", f.VirtualHosts)
	}
	split := f.VirtualHosts[0].Routes[1]
	if !split.Weighted || len(split.Clusters) != 2 || split.Clusters[0].Weight != 90 || split.Clusters[1].Weight != 10 ||
		len(split.Mirrors) != 1 || split.Mirrors[0].PerMillion != 100000 {
		t.Errorf("default route %+v", split)
	}
	for _, want := range []string{"pathKind: prefix\n", "connectTimeout: 1s\n", "policy: roundRobin\n", "virtualHosts:\n          - myapp_default\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}

	// The IR is the whole seam: emitting it gives what -o json prints.
	_, js, _ := serin(t, "translate", "-o", "json", "../../examples/canary")
	emitted, err := fleetsDocument(&translator.Output{Fleets: translator.Emit(ir)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if string(emitted)+"\n" != js {
		t.Errorf("Emit of the printed IR differs from -o json")
	}
	if _, again, _ := serin(t, "translate", "-o", "ir", "../../examples/canary"); again != out {
		t.Errorf("-o ir output differs between runs")
	}
}

func TestTranslateIRFleet(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "config.yaml"), `apiVersion: serin.dev/v1alpha1
kind: Upstream
metadata: {name: web}
spec: {static: {hosts: [{addr: 10.0.0.1, port: 80}]}}
---
apiVersion: serin.dev/v1alpha1
kind: VirtualService
metadata: {name: web}
spec:
  virtualHost:
    domains: [web.example.com]
    routes:
    - routeAction: {single: {upstream: {name: web}}}
---
apiVersion: serin.dev/v1alpha1
kind: Gateway
metadata: {name: edge}
spec: {fleet: edge, bindPort: 80}
`)
	code, out, errOut := serin(t, "translate", "-o", "ir", "--fleet", "edge", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	ir, err := translator.DecodeIR([]byte(out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(ir.Fleets) != 1 || ir.Fleets[0].Name != "edge" || len(ir.Fleets[0].Listeners) != 1 || ir.Fleets[0].Listeners[0].Port != 80 {
		t.Errorf("--fleet edge printed:\n%s", out)
	}
	if code, _, errOut := serin(t, "translate", "-o", "ir", "--fleet", "nope", dir); code != 1 || !strings.Contains(errOut, `no fleet "nope"`) {
		t.Errorf("--fleet nope: exit %d, stderr %q", code, errOut)
	}
}

func TestConvertGloo(t *testing.T) {
	code, out, errOut := serin(t, "convert", "../../examples/gloo/upstreamgroup.yaml")
	want := `apiVersion: serin.dev/v1alpha1
kind: UpstreamGroup
metadata:
  name: myapp-upstream-group
  namespace: default
spec:
  destinations:
  - destination:
      upstream:
        name: myapp-v1
    weight: 90
  - destination:
      upstream:
        name: myapp-v2
    weight: 10
`
	if code != 0 || out != want {
		t.Errorf("convert: exit %d, stderr %q\n%s", code, errOut, out)
	}

	// Everything converted loads back as the same objects.
	for _, name := range []string{"upstreams.yaml", "virtualservice.yaml"} {
		path := filepath.Join("../../examples/gloo", name)
		code, out, errOut := serin(t, "convert", path)
		if code != 0 {
			t.Fatalf("convert %s: exit %d: %s", name, code, errOut)
		}
		if strings.Contains(out, "gloo") || strings.Contains(out, "status") {
			t.Errorf("convert %s kept Gloo's apiVersion or status:\n%s", name, out)
		}
		orig, _ := os.ReadFile(path)
		a, errs := file.Decode(path, orig)
		b, errs2 := file.Decode("converted", []byte(out))
		if len(errs)+len(errs2) > 0 || len(a) != len(b) {
			t.Fatalf("decode: %v %v", errs, errs2)
		}
		for i := range a {
			ja, _ := json.Marshal(a[i].Obj)
			jb, _ := json.Marshal(b[i].Obj)
			if !bytes.Equal(ja, jb) {
				t.Errorf("%s: converted object differs:\n%s\n%s", name, ja, jb)
			}
		}
	}
}

func TestConvertErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.yaml")
	writeTestFile(t, path, "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {name: u}\nspec: {static: {hosts: [{addr: a, port: 1}]}, bogus: 1}\n")
	code, _, errOut := serin(t, "convert", path)
	if code != 1 || !strings.Contains(errOut, path+":4: Upstream default/u: spec.bogus: unknown field") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
