package translator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
)

// This is a small test-only decoder, so that translator tests do not depend
// on pkg/source/file. Besides the API kinds it reads three test kinds
// (no apiVersion needed):
//
//	kind: TestEndpoints   # Input.Endpoints
//	endpoints: {"ns/upstream": [{address, port, region, zone, weight}]}
//	kind: TestOverrides   # Input.Overrides
//	overrides: {"ns/group": {canary, weights: {"ns/upstream": 50}, mirror,
//	            upstream: "ns/canary-upstream", stickiness, cohort}}
//	kind: TestOptions     # Options
//	loadReporting: true
//	kind: TestLastAccepted  # Input.LastAccepted (revision 0)
//	at: 2026-11-29T17:50:02Z
//	objects: [{apiVersion, kind, metadata, spec}, ...]

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

type testEndpoint struct {
	Address string `json:"address"`
	Port    uint32 `json:"port,omitempty"`
	Region  string `json:"region,omitempty"`
	Zone    string `json:"zone,omitempty"`
	Weight  uint32 `json:"weight,omitempty"`
}

type testOverride struct {
	Canary     string                     `json:"canary,omitempty"`
	Weights    map[string]uint32          `json:"weights,omitempty"`
	Mirror     *v1alpha1.Mirror           `json:"mirror,omitempty"`
	Upstream   string                     `json:"upstream,omitempty"`
	Stickiness *v1alpha1.CanaryStickiness `json:"stickiness,omitempty"`
	Cohort     *v1alpha1.CanaryABTest     `json:"cohort,omitempty"`
}

type testDoc struct {
	APIVersion    string                    `json:"apiVersion,omitempty"`
	Kind          string                    `json:"kind"`
	Endpoints     map[string][]testEndpoint `json:"endpoints,omitempty"`
	Overrides     map[string]testOverride   `json:"overrides,omitempty"`
	LoadReporting bool                      `json:"loadReporting,omitempty"`
	// TestLastAccepted: objects accepted at At.
	At      time.Time         `json:"at,omitempty"`
	Objects []json.RawMessage `json:"objects,omitempty"`
}

var apiVersions = map[string]bool{
	"serin.dev/v1alpha1": true,
	"gloo.solo.io/v1":    true, // Upstream, UpstreamGroup
	"gateway.solo.io/v1": true, // VirtualService, Gateway
}

// decodeInput reads a multi-document YAML test input.
func decodeInput(data []byte) (*Input, Options, error) {
	in := &Input{}
	var opts Options
	for i, doc := range docSeparator.Split(string(data), -1) {
		js, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			return nil, opts, fmt.Errorf("document %d: %w", i, err)
		}
		if t := bytes.TrimSpace(js); len(t) == 0 || string(t) == "null" {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := json.Unmarshal(js, &head); err != nil {
			return nil, opts, fmt.Errorf("document %d: %w", i, err)
		}
		var obj any
		switch head.Kind {
		case "TestEndpoints", "TestOverrides", "TestOptions", "TestLastAccepted":
			var d testDoc
			if err := strict(js, &d); err != nil {
				return nil, opts, fmt.Errorf("document %d (%s): %w", i, head.Kind, err)
			}
			applyTestDoc(in, &opts, &d)
			if err := applyLastAccepted(in, &d); err != nil {
				return nil, opts, fmt.Errorf("document %d (%s): %w", i, head.Kind, err)
			}
			continue
		case v1alpha1.KindUpstream:
			o := &v1alpha1.Upstream{}
			in.Upstreams, obj = append(in.Upstreams, Object[*v1alpha1.Upstream]{Obj: o}), o
		case v1alpha1.KindUpstreamGroup:
			o := &v1alpha1.UpstreamGroup{}
			in.UpstreamGroups, obj = append(in.UpstreamGroups, Object[*v1alpha1.UpstreamGroup]{Obj: o}), o
		case v1alpha1.KindVirtualService:
			o := &v1alpha1.VirtualService{}
			in.VirtualServices, obj = append(in.VirtualServices, Object[*v1alpha1.VirtualService]{Obj: o}), o
		case v1alpha1.KindGateway:
			o := &v1alpha1.Gateway{}
			in.Gateways, obj = append(in.Gateways, Object[*v1alpha1.Gateway]{Obj: o}), o
		case v1alpha1.KindCanary:
			o := &v1alpha1.Canary{}
			in.Canaries, obj = append(in.Canaries, Object[*v1alpha1.Canary]{Obj: o}), o
		default:
			return nil, opts, fmt.Errorf("document %d: unknown kind %q", i, head.Kind)
		}
		if !apiVersions[head.APIVersion] {
			return nil, opts, fmt.Errorf("document %d: unknown apiVersion %q", i, head.APIVersion)
		}
		if err := strict(js, obj); err != nil {
			return nil, opts, fmt.Errorf("document %d (%s): %w", i, head.Kind, err)
		}
	}
	return in, opts, nil
}

func strict(js []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func applyTestDoc(in *Input, opts *Options, d *testDoc) {
	for k, eps := range d.Endpoints {
		if in.Endpoints == nil {
			in.Endpoints = map[ident.Key][]Endpoint{}
		}
		key := ident.MustParseKey(k)
		for _, e := range eps {
			in.Endpoints[key] = append(in.Endpoints[key], Endpoint(e))
		}
	}
	for k, o := range d.Overrides {
		if in.Overrides == nil {
			in.Overrides = map[ident.Key]GroupOverride{}
		}
		ov := GroupOverride{Mirror: o.Mirror, Stickiness: o.Stickiness, Cohort: o.Cohort}
		if o.Canary != "" {
			ov.Canary = ident.MustParseKey(o.Canary)
		}
		if o.Upstream != "" {
			ov.Upstream = ident.MustParseKey(o.Upstream)
		}
		for u, w := range o.Weights {
			if ov.Weights == nil {
				ov.Weights = map[ident.Key]uint32{}
			}
			ov.Weights[ident.MustParseKey(u)] = w
		}
		in.Overrides[ident.MustParseKey(k)] = ov
	}
	if d.LoadReporting {
		opts.LoadReporting = true
	}
}

// applyLastAccepted reads a TestLastAccepted document's objects into
// Input.LastAccepted.
func applyLastAccepted(in *Input, d *testDoc) error {
	for j, raw := range d.Objects {
		var head struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return fmt.Errorf("object %d: %w", j, err)
		}
		obj, ok := v1alpha1.New(head.Kind)
		if !ok {
			return fmt.Errorf("object %d: unknown kind %q", j, head.Kind)
		}
		if err := strict(raw, obj); err != nil {
			return fmt.Errorf("object %d (%s): %w", j, head.Kind, err)
		}
		if in.LastAccepted == nil {
			in.LastAccepted = map[ident.Ref]Accepted{}
		}
		in.LastAccepted[ident.NewKey(obj.GetNamespace(), obj.GetName()).Ref(head.Kind)] = Accepted{Obj: obj, At: d.At}
	}
	return nil
}
