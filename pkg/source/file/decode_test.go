package file

import (
	"fmt"
	"strings"
	"testing"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// summary renders decoded objects as "Kind ns/name@line" for comparisons.
func summary(objs []*Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, fmt.Sprintf("%s@%d", o, o.Origin.Line))
	}
	return out
}

func errStrings(errs []error) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		objs []string
		errs []string // exact "file:line: message"
	}{
		{
			name: "serin upstream, namespace defaulted",
			in: `apiVersion: serin.dev/v1alpha1
kind: Upstream
metadata: {name: u}
spec: {static: {hosts: [{addr: 10.0.0.1, port: 80}]}}
`,
			objs: []string{"Upstream default/u@1"},
		},
		{
			name: "gloo aliases",
			in: `apiVersion: gloo.solo.io/v1
kind: UpstreamGroup
metadata: {name: g, namespace: apps}
spec:
  destinations:
  - destination: {upstream: {name: a}}
    weight: 1
---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: vs}
spec: {virtualHost: {domains: [x]}}
---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: u}
spec: {kube: {serviceName: s, servicePort: 80}}
`,
			objs: []string{"UpstreamGroup apps/g@1", "VirtualService default/vs@9", "Upstream default/u@14"},
		},
		{
			name: "alias of the wrong kind",
			in: `apiVersion: gateway.solo.io/v1
kind: Gateway
metadata: {name: gw}
`,
			errs: []string{`f.yaml:2: unknown kind "Gateway" for apiVersion gateway.solo.io/v1 (known: VirtualService)`},
		},
		{
			name: "unknown apiVersion",
			in: `apiVersion: example.com/v9
kind: Upstream
metadata: {name: u}
`,
			errs: []string{`f.yaml:1: unknown apiVersion "example.com/v9" for kind Upstream (want serin.dev/v1alpha1; gloo.solo.io/v1 and gateway.solo.io/v1 are accepted as aliases)`},
		},
		{
			name: "unknown kind",
			in:   "apiVersion: serin.dev/v1alpha1\nkind: Route\nmetadata: {name: r}\n",
			errs: []string{`f.yaml:2: unknown kind "Route" for apiVersion serin.dev/v1alpha1 (known: Canary, Gateway, Upstream, UpstreamGroup, VirtualService)`},
		},
		{
			name: "unknown fields are named with their path and line",
			in: `apiVersion: serin.dev/v1alpha1
kind: UpstreamGroup
metadata:
  name: g
spec:
  destinations:
  - destination: {upstream: {name: a}}
    weight: 1
  - destination: {upstream: {name: b}}
    wieght: 1
  extra: true
`,
			errs: []string{
				"f.yaml:10: UpstreamGroup default/g: spec.destinations[1].wieght: unknown field",
				"f.yaml:11: UpstreamGroup default/g: spec.extra: unknown field",
			},
		},
		{
			name: "wrong type is located and explained",
			in: `apiVersion: serin.dev/v1alpha1
kind: VirtualService
metadata: {name: vs}
spec:
  virtualHost:
    domains: [x]
    routes:
    - matchers:
      - headers:
        - name: x-canary
          value: true
`,
			errs: []string{"f.yaml:11: VirtualService default/vs: spec.virtualHost.routes[0].matchers[0].headers[0].value: expected a string, found bool (quote the value to make it a string)"},
		},
		{
			name: "json object",
			in:   `{"apiVersion": "serin.dev/v1alpha1", "kind": "Gateway", "metadata": {"name": "gw"}, "spec": {"bindPort": 8080}}`,
			objs: []string{"Gateway default/gw@1"},
		},
		{
			name: "json array, tab-indented",
			in: "[\n\t{\"apiVersion\": \"serin.dev/v1alpha1\", \"kind\": \"Gateway\", \"metadata\": {\"name\": \"a\"}, \"spec\": {}},\n" +
				"\t{\"apiVersion\": \"serin.dev/v1alpha1\", \"kind\": \"Gateway\", \"metadata\": {\"name\": \"b\"}, \"spec\": {\"bindPort\": \"x\"}},\n" +
				"\t{\"apiVersion\": \"serin.dev/v1alpha1\", \"kind\": \"Gateway\", \"metadata\": {\"name\": \"c\"}, \"spec\": {}}\n]\n",
			objs: []string{"Gateway default/a@2", "Gateway default/c@4"},
			errs: []string{"f.yaml:3: Gateway default/b: spec.bindPort: expected an integer (uint32), found string"},
		},
		{
			name: "multi-document stream with empty and comment-only documents",
			in: `---
# nothing here
---
apiVersion: serin.dev/v1alpha1
kind: Gateway
metadata: {name: a}
---
---
...
---
apiVersion: serin.dev/v1alpha1
kind: Gateway
metadata: {name: b}
`,
			objs: []string{"Gateway default/a@4", "Gateway default/b@11"},
		},
		{
			name: "a broken document does not hide the others",
			in: `apiVersion: serin.dev/v1alpha1
kind: Gateway
metadata: {name: a}
---
apiVersion: serin.dev/v1alpha1
kind: Gateway
metadata: {name: [broken
---
apiVersion: serin.dev/v1alpha1
kind: Gateway
metadata: {name: c}
`,
			objs: []string{"Gateway default/a@1", "Gateway default/c@9"},
			errs: []string{"f.yaml:7: invalid YAML: did not find expected ',' or ']'"},
		},
		{
			name: "kind List",
			in: `apiVersion: v1
kind: List
items:
- apiVersion: serin.dev/v1alpha1
  kind: Gateway
  metadata: {name: a}
- apiVersion: serin.dev/v1alpha1
  kind: Gateway
  metadata: {name: b}
`,
			objs: []string{"Gateway default/a@4", "Gateway default/b@7"},
		},
		{
			name: "status is ignored",
			in: `apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: u}
spec: {static: {hosts: [{addr: a, port: 1}]}}
status: {statuses: {gloo-system: {state: 1, reportedBy: gloo}}}
`,
			objs: []string{"Upstream default/u@1"},
		},
		{
			name: "missing name, apiVersion, kind",
			in: `apiVersion: serin.dev/v1alpha1
kind: Gateway
metadata: {namespace: x}
---
kind: Gateway
---
apiVersion: serin.dev/v1alpha1
---
just a string
`,
			errs: []string{
				"f.yaml:3: Gateway: metadata.name: required",
				"f.yaml:5: Gateway has no apiVersion (want serin.dev/v1alpha1)",
				"f.yaml:7: object of apiVersion serin.dev/v1alpha1 has no kind",
				`f.yaml:9: expected an object with apiVersion and kind, found the value "just a string"`,
			},
		},
		{
			name: "names that are not keys",
			in: `apiVersion: serin.dev/v1alpha1
kind: Canary
metadata: {name: ../../../escaped}
---
apiVersion: serin.dev/v1alpha1
kind: Upstream
metadata: {name: ok, namespace: Not_A_Label}
`,
			errs: []string{
				`f.yaml:3: Canary "../../../escaped": metadata.name: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
				`f.yaml:7: Upstream "Not_A_Label": metadata.namespace: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
			},
		},
		{
			name: "duplicate keys",
			in: `apiVersion: serin.dev/v1alpha1
kind: Gateway
metadata: {name: a}
spec:
  bindPort: 1
  bindPort: 2
`,
			errs: []string{"f.yaml:6: Gateway default/a: spec.bindPort: duplicate field"},
		},
		{
			name: "anchors and merge keys",
			in: `apiVersion: serin.dev/v1alpha1
kind: Upstream
metadata: {name: u}
spec:
  static:
    hosts:
    - &h {addr: a, port: 1}
    - <<: *h
      addr: b
`,
			objs: []string{"Upstream default/u@1"},
		},
		{
			name: "non-finite numbers",
			in: `apiVersion: serin.dev/v1alpha1
kind: VirtualService
metadata: {name: vs}
spec:
  virtualHost:
    domains: [x]
    routes:
    - options: {shadowing: {upstream: {name: u}, percentage: .nan}}
`,
			errs: []string{"f.yaml:8: VirtualService default/vs: spec.virtualHost.routes[0].options.shadowing.percentage: .nan is not a finite number"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, errs := DecodeObjects("f.yaml", []byte(tt.in))
			if got := summary(objs); strings.Join(got, "\n") != strings.Join(tt.objs, "\n") {
				t.Errorf("objects:\n got %q\nwant %q", got, tt.objs)
			}
			if got := errStrings(errs); strings.Join(got, "\n") != strings.Join(tt.errs, "\n") {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.errs)
			}
		})
	}
}

func TestDecodeTypesAliasesAsSerin(t *testing.T) {
	entries, errs := Decode("g.yaml", []byte(`apiVersion: gloo.solo.io/v1
kind: UpstreamGroup
metadata: {name: g}
spec:
  destinations:
  - destination: {upstream: {name: myapp-v1}}
    weight: 90
`))
	if len(errs) > 0 || len(entries) != 1 {
		t.Fatalf("Decode: %d entries, errors %v", len(entries), errs)
	}
	g, ok := entries[0].Obj.(*v1alpha1.UpstreamGroup)
	if !ok {
		t.Fatalf("got %T, want *v1alpha1.UpstreamGroup", entries[0].Obj)
	}
	if g.APIVersion != "serin.dev/v1alpha1" || g.Kind != "UpstreamGroup" || g.Namespace != "default" {
		t.Errorf("type meta %q %q namespace %q", g.APIVersion, g.Kind, g.Namespace)
	}
	if entries[0].Origin.File != "g.yaml" || entries[0].Origin.Line != 1 {
		t.Errorf("origin %v", entries[0].Origin)
	}
	if d := g.Spec.Destinations; len(d) != 1 || d[0].Destination.Upstream.Name != "myapp-v1" || d[0].Weight != 90 {
		t.Errorf("destinations %+v", d)
	}
}

func TestDecodeErrorsAreFileErrors(t *testing.T) {
	_, errs := Decode("x.yaml", []byte("a: [\n"))
	if len(errs) != 1 {
		t.Fatalf("errors %v", errs)
	}
	fe, ok := errs[0].(*FileError)
	if !ok || fe.File != "x.yaml" || fe.Line == 0 {
		t.Errorf("got %#v", errs[0])
	}
}
