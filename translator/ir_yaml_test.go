package translator

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/ident"
)

func ptr[T any](v T) *T { return &v }

// sampleIR is a small valid IR using every IR type and enum: one fleet, a
// listener, a virtual host with a split, a direct response and a regex
// match, a ring-hash cluster with checks, TLS and two localities.
func sampleIR() *IR {
	vh := &VirtualHost{
		Name:         "app_ns",
		Domains:      []string{"app", "*.app.example.com"},
		APIListeners: []string{"app"},
		Origins:      []ident.Ref{{Kind: "VirtualService", Namespace: "ns", Name: "app"}, {Kind: "UpstreamGroup", Namespace: "ns", Name: "g"}},
		Routes: []*Route{
			{
				Name: "split",
				Matches: []Match{{PathKind: PathPrefix, Path: "/", CaseSensitive: ptr(false),
					Headers: []HeaderMatch{{Name: "x-canary", Value: "yes"}, {Name: "x-v", Value: "v[0-9]+", Regex: true, Invert: true}},
					Query:   []QueryMatch{{Name: "debug"}, {Name: "n", Value: "1_000"}},
					Methods: []string{"GET", "HEAD"}}},
				Clusters:      []WeightedCluster{{"a_ns", 90}, {"b_ns", 0}},
				Weighted:      true,
				UseHashPolicy: true,
				Timeout:       ptr(time.Duration(0)),
				Retry:         &Retry{RetryOn: "5xx", NumRetries: ptr(uint32(2)), PerTryTimeout: 250 * time.Millisecond},
				PrefixRewrite: ptr("/v2"),
				Mirrors:       []Mirror{{Cluster: "b_ns", PerMillion: 123456}},
				HashPolicies:  []HashPolicy{{Header: "x-user"}, {SourceIP: true, Terminal: true}, {Cookie: "u", CookieTTL: ptr(24 * time.Hour), CookiePath: "/"}},
			},
			{Matches: []Match{{PathKind: PathRegex, Path: "/gone/.*"}}, Direct: &DirectResponse{Status: 503, Body: "gone\n"}},
			{Matches: []Match{{PathKind: PathExact, Path: "/one"}}, Clusters: []WeightedCluster{{"a_ns", 1}}, Timeout: ptr(90 * time.Second)},
		},
	}
	a := &Cluster{
		Name: "a_ns", Upstream: ident.Ref{Kind: "Upstream", Namespace: "ns", Name: "a"}, ConnectTimeout: 1500 * time.Millisecond, HTTP2: true,
		HealthChecks: []HealthCheck{
			{Kind: HealthCheckHTTP, Timeout: time.Second, Interval: 10 * time.Second, Unhealthy: 3, Healthy: 2, Path: "/healthz", Host: "on"},
			{Kind: HealthCheckTCP, Timeout: time.Second, Interval: time.Minute, Unhealthy: 1, Healthy: 1},
			{Kind: HealthCheckGRPC, Timeout: time.Second, Interval: 5 * time.Second, Unhealthy: 3, Healthy: 2, ServiceName: "echo.Echo", Authority: "echo"},
		},
		Outlier:  &OutlierDetection{Consecutive5xx: ptr(uint32(5)), Interval: 10 * time.Second, MaxEjectionPercent: ptr(uint32(50))},
		Breakers: &CircuitBreakers{MaxConnections: ptr(uint32(100)), MaxRetries: ptr(uint32(3))},
		LB:       LoadBalancer{Policy: LBRingHash, MinimumRingSize: ptr(uint64(1024)), MaximumRingSize: ptr(uint64(8192))},
		TLS:      &TLS{SNI: "a.example.com", RootCAFile: "/etc/ca.pem", SubjectAltNames: []string{"spiffe://a"}, ALPN: []string{"h2"}},
		Localities: []Locality{
			{Region: "default", Weight: 1, Endpoints: []LbEndpoint{{"10.0.0.1", 80, 1}}},
			{Region: "default", Zone: "z", Weight: 5, Endpoints: []LbEndpoint{{"10.0.0.2", 80, 4}, {"10.0.0.2", 81, 1}}},
		},
	}
	b := &Cluster{Name: "b_ns", Upstream: ident.Ref{Kind: "Upstream", Namespace: "ns", Name: "b"}, LB: LoadBalancer{Policy: LBLeastRequest, ChoiceCount: ptr(uint32(3))},
		Localities: []Locality{{Region: "default", Weight: 1, Endpoints: []LbEndpoint{{"::1", 8080, 1}}}}}
	c := &Cluster{Name: "c_ns", Upstream: ident.Ref{Kind: "Upstream", Namespace: "ns", Name: "c"}, LB: LoadBalancer{Policy: LBRandom}, TLS: &TLS{}}
	return &IR{Fleets: []*Fleet{{
		Name:         "default",
		Listeners:    []*Listener{{Name: "gw_ns", Address: "::", Port: 8080, Gateway: ident.Ref{Kind: "Gateway", Namespace: "ns", Name: "gw"}, VirtualHosts: []*VirtualHost{vh}}},
		VirtualHosts: []*VirtualHost{vh},
		Clusters:     []*Cluster{a, b, c},
	}}}
}

func TestIRYAMLRoundTrip(t *testing.T) {
	ir := sampleIR()
	if err := ir.Validate(); err != nil {
		t.Fatalf("sample IR is invalid:\n%v", err)
	}
	y, err := EncodeIR(ir)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(y)
	for _, want := range []string{
		"connectTimeout: 1.5s\n", "timeout: 0s\n", "timeout: 1m30s\n", "perTryTimeout: 250ms\n", "interval: 1m0s\n",
		"pathKind: regex\n", "pathKind: exact\n", "kind: grpc\n", "kind: tcp\n", "policy: ringHash\n", "policy: leastRequest\n", "policy: random\n",
		// Strings YAML 1.1 reads as booleans or numbers stay strings.
		"value: \"yes\"\n", "host: \"on\"\n", "value: \"1_000\"\n",
		// The listener names its virtual hosts; the fleet has them.
		"        virtualHosts:\n          - app_ns\n",
		"fleets:\n  - name: default\n",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("encoding lacks %q:\n%s", want, doc)
		}
	}
	back, err := DecodeIR(y)
	if err != nil {
		t.Fatal(err)
	}
	if !sameIR(back, ir) {
		t.Fatalf("round trip differs:\nbefore %s\nafter  %s", debugJSON(ir), debugJSON(back))
	}
	f := back.Fleets[0]
	if f.Listeners[0].VirtualHosts[0] != f.VirtualHosts[0] {
		t.Error("decoded listener's virtual host is not the fleet's")
	}
	if err := back.Validate(); err != nil {
		t.Errorf("decoded IR is invalid:\n%v", err)
	}
	// encoding/json alone round-trips too.
	js, err := json.Marshal(ir)
	if err != nil {
		t.Fatal(err)
	}
	var viaJSON IR
	if err := json.Unmarshal(js, &viaJSON); err != nil || !sameIR(&viaJSON, ir) {
		t.Errorf("JSON round trip: %v", err)
	}
}

func TestDecodeIRErrors(t *testing.T) {
	base := "fleets:\n- name: default\n"
	for _, tc := range []struct{ doc, want string }{
		{base + "  bogus: 1\n", `unknown field "bogus"`},
		{base + "  clusters:\n  - name: c\n    lb: {policy: fastest}\n", `unknown lb policy "fastest"`},
		{base + "  clusters:\n  - name: c\n    lb: {policy: random}\n    connectTimeout: soon\n", `invalid duration "soon"`},
		{base + "  clusters:\n  - name: c\n    lb: {policy: random}\n    healthChecks: [{kind: udp}]\n", `unknown health check kind "udp"`},
		{base + "  virtualHosts:\n  - {name: v, domains: [v], routes: [{matches: [{pathKind: glob, path: /}]}]}\n", `unknown pathKind "glob"`},
		{base + "  virtualHosts:\n  - {name: v, domains: [v], routes: [{timeout: 5, matches: []}]}\n", `timeout`},
		{base + "  listeners:\n  - {name: l, address: '::', port: 80, virtualHosts: [nope]}\n", `fleet "default": listener "l": virtual host "nope" is not one of the fleet's virtualHosts`},
		{base + "  listeners:\n  - {name: l, address: '::', port: 80, virtualHosts: [v], extra: 1}\n", `unknown field "extra"`},
	} {
		_, err := DecodeIR([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeIR(%q) = %v, want an error with %q", tc.doc, err, tc.want)
		}
	}
}

// An enum value with no name encodes visibly rather than failing, so that
// a broken IR can still be printed; decoding refuses it.
func TestIREnumUnknownValue(t *testing.T) {
	if s := PathKind(7).String(); s != "PathKind(7)" {
		t.Errorf("PathKind(7) = %q", s)
	}
	b, err := json.Marshal(LoadBalancer{Policy: LBPolicy(9)})
	if err != nil || string(b) != `{"policy":"LBPolicy(9)"}` {
		t.Errorf("marshal: %s %v", b, err)
	}
	var lb LoadBalancer
	if err := json.Unmarshal(b, &lb); err == nil {
		t.Error("decoded an unknown policy")
	}
}

func debugJSON(ir *IR) string {
	b, err := json.Marshal(ir)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// sameIR is reflect.DeepEqual up to what YAML does not keep: nil and empty
// slices are the same.
func sameIR(a, b *IR) bool {
	return reflect.DeepEqual(nilEmpty(a), nilEmpty(b))
}

// nilEmpty returns a deep copy of ir (through YAML's JSON form would lose
// what is compared, so by reflection) with every empty slice nil.
func nilEmpty(ir *IR) *IR {
	v := reflect.New(reflect.TypeOf(ir).Elem())
	copyNilEmpty(v.Elem(), reflect.ValueOf(ir).Elem(), map[uintptr]reflect.Value{})
	return v.Interface().(*IR)
}

// copyNilEmpty copies src into dst, keeping pointer sharing (a listener's
// virtual hosts stay the fleet's) and turning empty slices nil.
func copyNilEmpty(dst, src reflect.Value, seen map[uintptr]reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		if p, ok := seen[src.Pointer()]; ok && p.Type() == src.Type() {
			dst.Set(p)
			return
		}
		p := reflect.New(src.Type().Elem())
		seen[src.Pointer()] = p
		copyNilEmpty(p.Elem(), src.Elem(), seen)
		dst.Set(p)
	case reflect.Slice:
		if src.Len() == 0 {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			copyNilEmpty(s.Index(i), src.Index(i), seen)
		}
		dst.Set(s)
	case reflect.Struct:
		for i := 0; i < src.NumField(); i++ {
			copyNilEmpty(dst.Field(i), src.Field(i), seen)
		}
	default:
		dst.Set(src)
	}
}
