package translator

import (
	"testing"

	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/proto"
)

// TestHCMBytes proves hcmAny's hand-written bytes decode to exactly
// buildHCM's message. (The bytes follow proto.Marshal's field order; with
// the vtprotobuf build tag the rest of serin marshals in vtprotobuf's
// order, so the comparison is of messages, not bytes.)
func TestHCMBytes(t *testing.T) {
	for _, name := range []string{"myapp", "gateway-proxy_default", "a.very.long.domain.name.example.com:8443", string(make([]byte, 300))} {
		got := hcmAny(name, name+"-routes")
		if got.TypeUrl != typeURLPrefix+hcmType {
			t.Fatalf("type URL %q", got.TypeUrl)
		}
		m := &hcmv3.HttpConnectionManager{}
		if err := proto.Unmarshal(got.Value, m); err != nil {
			t.Fatalf("%.20q: hcmAny bytes do not decode: %v", name, err)
		}
		if want := buildHCM(name, name+"-routes"); !proto.Equal(m, want) {
			t.Errorf("%.20q: hcmAny decodes to\n%v\nwant\n%v", name, m, want)
		}
		if again := hcmAny(name, name+"-routes"); string(again.Value) != string(got.Value) {
			t.Errorf("%.20q: hcmAny is not deterministic", name)
		}
	}
}
