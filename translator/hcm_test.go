package translator

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"
)

func TestHCMBytes(t *testing.T) {
	for _, name := range []string{"myapp", "gateway-proxy_default", "a.very.long.domain.name.example.com:8443", string(make([]byte, 300))} {
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(buildHCM(name, name+"-routes"))
		if err != nil {
			t.Fatal(err)
		}
		got := hcmAny(name, name+"-routes")
		if got.TypeUrl != typeURLPrefix+hcmType || !bytes.Equal(got.Value, want) {
			t.Errorf("%.20q: hcmAny bytes differ from proto.Marshal(buildHCM())", name)
		}
	}
}
