package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/adsclient"
)

// TestBadInputWhileServing drops a set of broken objects into the watched
// directory of a running serin: it stays up, the good routes keep their
// weights, and every bad object shows up as Rejected or Warning with a
// reason that names the fault.
func TestBadInputWhileServing(t *testing.T) {
	dir := canaryDir(t, 9001, 9002)
	s := startSerin(t, dir)
	c := adsConnect(t, s, adsclient.Config{Node: envoyNode("envoy-1", "default"), Decode: true})
	waitClient(t, c, "a complete configuration", complete)

	bad := map[string]string{
		"broken.yaml": "apiVersion: serin.dev/v1alpha1\nkind: Upstream\nmetadata: {name: broken\nspec: [\n",
		"zero.yaml": `apiVersion: serin.dev/v1alpha1
kind: UpstreamGroup
metadata: {name: zero-total}
spec:
  destinations:
  - {destination: {upstream: {name: myapp-v1}}, weight: 0}
  - {destination: {upstream: {name: myapp-v2}}, weight: 0}
`,
		"port.yaml": `apiVersion: serin.dev/v1alpha1
kind: Upstream
metadata: {name: bad-port}
spec:
  static: {hosts: [{addr: 127.0.0.1, port: 70000}]}
`,
		"missing.yaml": `apiVersion: serin.dev/v1alpha1
kind: VirtualService
metadata: {name: to-missing}
spec:
  virtualHost:
    domains: [missing.example.com]
    routes:
    - matchers: [{prefix: /}]
      routeAction: {upstreamGroup: {name: no-such-group}}
`,
		"dup.yaml": `apiVersion: serin.dev/v1alpha1
kind: VirtualService
metadata: {name: zz-takes-myapp}
spec:
  virtualHost:
    domains: [myapp]
    routes:
    - matchers: [{prefix: /}]
      routeAction: {single: {upstream: {name: myapp-v2}}}
`,
	}
	for name, body := range bad {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	want := map[string]struct{ state, reason string }{
		"File /" + filepath.Join(dir, "broken.yaml"): {"Rejected", "broken.yaml:"},
		"UpstreamGroup default/zero-total":           {"Rejected", "weights must add up to more than 0"},
		"Upstream default/bad-port":                  {"Rejected", "spec.static.hosts[0].port"},
		"VirtualService default/to-missing":          {"Warning", "no-such-group"},
		"VirtualService default/zz-takes-myapp":      {"Rejected", "myapp"},
		"VirtualService default/myapp":               {"Accepted", ""},
		"UpstreamGroup default/myapp-upstream-group": {"Accepted", ""},
	}
	var got map[string]resource
	deadline := time.Now().Add(10 * time.Second)
	for {
		got = s.resources(t)
		missing := []string{}
		for k := range want {
			if _, ok := got[k]; !ok {
				missing = append(missing, k)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not reported after 10s: %v; reported: %v", missing, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for k, w := range want {
		r := got[k]
		if r.State != w.state || !strings.Contains(r.Reason, w.reason) {
			t.Errorf("%s = %s %q, want %s with a reason containing %q", k, r.State, r.Reason, w.state, w.reason)
		}
	}

	// Still up, still serving the good route at 90/10, and the route to the
	// missing group answers 503 instead of naming a cluster.
	resp, err := http.Get("http://" + s.admin + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("serin not ready after bad input: %v %v", err, resp)
	}
	resp.Body.Close()
	waitClient(t, c, "the route to the missing group", func(c *adsclient.Client) bool {
		return directResponse(c, "missing.example.com") == 503
	})
	if w := routeWeights(c, "myapp"); w["myapp-v1_default"] != 90 || w["myapp-v2_default"] != 10 {
		t.Errorf("good route weights = %v, want 90/10 kept", w)
	}
}
