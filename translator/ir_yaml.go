package translator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	yamlv3 "gopkg.in/yaml.v3"
	"sigs.k8s.io/yaml"
)

// The IR as YAML (and JSON): the field names are the json tags in ir.go,
// lowerCamelCase like the API. Three things differ from a plain encoding:
//
//   - durations are Go duration strings ("5s", "250ms"; "0s" for a route
//     timeout that disables it), not nanoseconds;
//   - enums are names: pathKind prefix, exact or regex; health check kind
//     http, tcp or grpc; lb policy roundRobin, leastRequest, random or
//     ringHash;
//   - a listener lists its virtual hosts by name (virtualHosts: [names]),
//     since they are the fleet's own: decoding a Fleet links each name back
//     to the fleet's virtual host of that name, so that the listener points
//     into Fleet.VirtualHosts again, as Emit needs.
//
// Decoding gives an IR that deep-equals the encoded one with two
// exceptions that do not change what it means: nil and empty slices are
// the same (both are left out), and values shared between fleets (a
// cluster or a route list that BuildIR gives to several fleets) come back
// as one copy per fleet. Decoding is strict: an unknown field, enum name or
// virtual host name is an error. It does not check the IR; call Validate.

// EncodeIR writes an IR as block YAML with the fields in declaration order
// (name first), the form of `serin translate -o ir` and of the golden
// testdata/*.ir.yaml files. sigs.k8s.io/yaml.Marshal gives the same
// document with its keys sorted.
func EncodeIR(ir *IR) ([]byte, error) {
	js, err := json.Marshal(ir)
	if err != nil {
		return nil, err
	}
	var n yamlv3.Node
	if err := yamlv3.Unmarshal(js, &n); err != nil {
		return nil, err
	}
	plainStyle(&n)
	var buf bytes.Buffer
	enc := yamlv3.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// plainStyle clears JSON's flow and quoting styles so that the encoder
// writes block YAML. The encoder still quotes a string that YAML 1.2 would
// read as something else ("true", "1", "null"), but not one that only YAML
// 1.1 would, which is what sigs.k8s.io/yaml reads: those are quoted here.
func plainStyle(n *yamlv3.Node) {
	n.Style = 0
	if n.Kind == yamlv3.ScalarNode && n.Tag == "!!str" && yaml11NotString(n.Value) {
		n.Style = yamlv3.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		plainStyle(c)
	}
}

// yaml11NotString reports whether a plain scalar s is read by YAML 1.1
// (go.yaml.in/yaml/v2) as other than a string while YAML 1.2 reads a
// string: the 1.1 booleans, and numbers written with underscores.
func yaml11NotString(s string) bool {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"on", "On", "ON", "off", "Off", "OFF":
		return true
	}
	return s != "" && strings.ContainsRune(s, '_') && strings.ContainsRune("0123456789+-.", rune(s[0]))
}

// DecodeIR reads an IR written by EncodeIR (or by hand, in the same form).
func DecodeIR(data []byte) (*IR, error) {
	ir := &IR{}
	if err := yaml.UnmarshalStrict(data, ir); err != nil {
		return nil, err
	}
	return ir, nil
}

// strictJSON decodes one JSON value rejecting unknown fields. The
// UnmarshalJSON methods below use it because a strict outer decoder does
// not make the json.Unmarshal inside them strict.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// irDuration is a time.Duration that encodes as "1s" or "250ms".
type irDuration time.Duration

func (d irDuration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *irDuration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = irDuration(v)
	return nil
}

// Enums encode by name; an unknown value encodes as e.g. "PathKind(7)",
// which Validate reports and decoding refuses.

var (
	pathKindNames        = []string{PathPrefix: "prefix", PathExact: "exact", PathRegex: "regex"}
	healthCheckKindNames = []string{HealthCheckHTTP: "http", HealthCheckTCP: "tcp", HealthCheckGRPC: "grpc"}
	lbPolicyNames        = []string{LBRoundRobin: "roundRobin", LBLeastRequest: "leastRequest", LBRandom: "random", LBRingHash: "ringHash"}
)

func enumString(names []string, v uint8, typ string) string {
	if int(v) < len(names) {
		return names[v]
	}
	return typ + "(" + strconv.Itoa(int(v)) + ")"
}

func enumParse(names []string, s, typ string) (uint8, error) {
	for i, n := range names {
		if n == s {
			return uint8(i), nil
		}
	}
	return 0, fmt.Errorf("unknown %s %q (want one of %q)", typ, s, names)
}

func (k PathKind) String() string { return enumString(pathKindNames, uint8(k), "PathKind") }

func (k PathKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

func (k HealthCheckKind) String() string {
	return enumString(healthCheckKindNames, uint8(k), "HealthCheckKind")
}

func (k HealthCheckKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

func (p LBPolicy) String() string { return enumString(lbPolicyNames, uint8(p), "LBPolicy") }

func (p LBPolicy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

func (k *PathKind) UnmarshalText(b []byte) error {
	v, err := enumParse(pathKindNames, string(b), "pathKind")
	*k = PathKind(v)
	return err
}

func (k *HealthCheckKind) UnmarshalText(b []byte) error {
	v, err := enumParse(healthCheckKindNames, string(b), "health check kind")
	*k = HealthCheckKind(v)
	return err
}

func (p *LBPolicy) UnmarshalText(b []byte) error {
	v, err := enumParse(lbPolicyNames, string(b), "lb policy")
	*p = LBPolicy(v)
	return err
}

// The types holding durations encode through a copy of themselves without
// methods (plain) whose duration fields are shadowed by irDuration fields
// of the same JSON name: the shallower field wins in encoding/json. Since
// the shadowing fields come out first, the fields declared before a
// duration are shadowed too, so that the YAML keeps the declaration order.
// (Should a tag in ir.go change without its shadow here, the field would be
// encoded twice and fail to decode: the round-trip test catches that.)

func (r Route) MarshalJSON() ([]byte, error) {
	type plain Route
	return json.Marshal(struct {
		Name     string            `json:"name,omitempty"`
		Matches  []Match           `json:"matches"`
		Direct   *DirectResponse   `json:"direct,omitempty"`
		Clusters []WeightedCluster `json:"clusters,omitempty"`
		Weighted bool              `json:"weighted,omitempty"`
		UseHash  bool              `json:"useHashPolicy,omitempty"`
		Timeout  *irDuration       `json:"timeout,omitempty"`
		plain
	}{r.Name, r.Matches, r.Direct, r.Clusters, r.Weighted, r.UseHashPolicy, (*irDuration)(r.Timeout), plain(r)})
}

func (r *Route) UnmarshalJSON(b []byte) error {
	type plain Route
	*r = Route{}
	aux := struct {
		*plain
		Timeout *irDuration `json:"timeout,omitempty"`
	}{plain: (*plain)(r)}
	if err := strictJSON(b, &aux); err != nil {
		return err
	}
	r.Timeout = (*time.Duration)(aux.Timeout)
	return nil
}

func (h HashPolicy) MarshalJSON() ([]byte, error) {
	type plain HashPolicy
	return json.Marshal(struct {
		Header    string      `json:"header,omitempty"`
		Cookie    string      `json:"cookie,omitempty"`
		CookieTTL *irDuration `json:"cookieTTL,omitempty"`
		plain
	}{h.Header, h.Cookie, (*irDuration)(h.CookieTTL), plain(h)})
}

func (h *HashPolicy) UnmarshalJSON(b []byte) error {
	type plain HashPolicy
	*h = HashPolicy{}
	aux := struct {
		*plain
		CookieTTL *irDuration `json:"cookieTTL,omitempty"`
	}{plain: (*plain)(h)}
	if err := strictJSON(b, &aux); err != nil {
		return err
	}
	h.CookieTTL = (*time.Duration)(aux.CookieTTL)
	return nil
}

func (r Retry) MarshalJSON() ([]byte, error) {
	type plain Retry
	return json.Marshal(struct {
		plain
		PerTryTimeout irDuration `json:"perTryTimeout,omitempty"`
	}{plain(r), irDuration(r.PerTryTimeout)})
}

func (r *Retry) UnmarshalJSON(b []byte) error {
	type plain Retry
	*r = Retry{}
	aux := struct {
		*plain
		PerTryTimeout irDuration `json:"perTryTimeout,omitempty"`
	}{plain: (*plain)(r)}
	if err := strictJSON(b, &aux); err != nil {
		return err
	}
	r.PerTryTimeout = time.Duration(aux.PerTryTimeout)
	return nil
}

func (c Cluster) MarshalJSON() ([]byte, error) {
	type plain Cluster
	return json.Marshal(struct {
		Name           string     `json:"name"`
		Upstream       any        `json:"upstream"`
		ConnectTimeout irDuration `json:"connectTimeout,omitempty"`
		plain
	}{c.Name, c.Upstream, irDuration(c.ConnectTimeout), plain(c)})
}

func (c *Cluster) UnmarshalJSON(b []byte) error {
	type plain Cluster
	*c = Cluster{}
	aux := struct {
		*plain
		ConnectTimeout irDuration `json:"connectTimeout,omitempty"`
	}{plain: (*plain)(c)}
	if err := strictJSON(b, &aux); err != nil {
		return err
	}
	c.ConnectTimeout = time.Duration(aux.ConnectTimeout)
	return nil
}

func (h HealthCheck) MarshalJSON() ([]byte, error) {
	type plain HealthCheck
	return json.Marshal(struct {
		Kind     HealthCheckKind `json:"kind"`
		Timeout  irDuration      `json:"timeout"`
		Interval irDuration      `json:"interval"`
		plain
	}{h.Kind, irDuration(h.Timeout), irDuration(h.Interval), plain(h)})
}

func (h *HealthCheck) UnmarshalJSON(b []byte) error {
	type plain HealthCheck
	*h = HealthCheck{}
	aux := struct {
		*plain
		Timeout  irDuration `json:"timeout"`
		Interval irDuration `json:"interval"`
	}{plain: (*plain)(h)}
	if err := strictJSON(b, &aux); err != nil {
		return err
	}
	h.Timeout, h.Interval = time.Duration(aux.Timeout), time.Duration(aux.Interval)
	return nil
}

func (o OutlierDetection) MarshalJSON() ([]byte, error) {
	type plain OutlierDetection
	return json.Marshal(struct {
		Consecutive5xx            *uint32    `json:"consecutive5xx,omitempty"`
		ConsecutiveGatewayFailure *uint32    `json:"consecutiveGatewayFailure,omitempty"`
		Interval                  irDuration `json:"interval,omitempty"`
		BaseEjectionTime          irDuration `json:"baseEjectionTime,omitempty"`
		plain
	}{o.Consecutive5xx, o.ConsecutiveGatewayFailure, irDuration(o.Interval), irDuration(o.BaseEjectionTime), plain(o)})
}

func (o *OutlierDetection) UnmarshalJSON(b []byte) error {
	type plain OutlierDetection
	*o = OutlierDetection{}
	aux := struct {
		*plain
		Interval         irDuration `json:"interval,omitempty"`
		BaseEjectionTime irDuration `json:"baseEjectionTime,omitempty"`
	}{plain: (*plain)(o)}
	if err := strictJSON(b, &aux); err != nil {
		return err
	}
	o.Interval, o.BaseEjectionTime = time.Duration(aux.Interval), time.Duration(aux.BaseEjectionTime)
	return nil
}

// A listener's virtual hosts are the fleet's: it lists their names.

func (l Listener) MarshalJSON() ([]byte, error) {
	type plain Listener
	var names []string
	if l.VirtualHosts != nil {
		names = make([]string, len(l.VirtualHosts))
		for i, vh := range l.VirtualHosts {
			if vh != nil {
				names[i] = vh.Name
			}
		}
	}
	return json.Marshal(struct {
		plain
		VirtualHosts []string `json:"virtualHosts,omitempty"`
	}{plain(l), names})
}

// UnmarshalJSON gives the listener a stand-in VirtualHost holding only the
// name for each listed virtual host; decoding the Fleet replaces them with
// the fleet's own.
func (l *Listener) UnmarshalJSON(b []byte) error {
	type plain Listener
	*l = Listener{}
	aux := struct {
		*plain
		VirtualHosts []string `json:"virtualHosts,omitempty"`
	}{plain: (*plain)(l)}
	if err := strictJSON(b, &aux); err != nil {
		return err
	}
	if aux.VirtualHosts != nil {
		l.VirtualHosts = make([]*VirtualHost, len(aux.VirtualHosts))
		for i, n := range aux.VirtualHosts {
			l.VirtualHosts[i] = &VirtualHost{Name: n}
		}
	}
	return nil
}

// UnmarshalJSON decodes a fleet and points its listeners' virtual hosts at
// the fleet's virtual hosts of the same name (the first, should two share
// a name: Validate reports that).
func (f *Fleet) UnmarshalJSON(b []byte) error {
	type plain Fleet
	*f = Fleet{}
	if err := strictJSON(b, (*plain)(f)); err != nil {
		return err
	}
	byName := make(map[string]*VirtualHost, len(f.VirtualHosts))
	for _, vh := range f.VirtualHosts {
		if vh == nil {
			continue
		}
		if _, dup := byName[vh.Name]; !dup {
			byName[vh.Name] = vh
		}
	}
	for _, l := range f.Listeners {
		if l == nil {
			continue
		}
		for i, stand := range l.VirtualHosts {
			vh, ok := byName[stand.Name]
			if !ok {
				return fmt.Errorf("fleet %q: listener %q: virtual host %q is not one of the fleet's virtualHosts", f.Name, l.Name, stand.Name)
			}
			l.VirtualHosts[i] = vh
		}
	}
	return nil
}
