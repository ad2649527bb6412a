package file

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/serin-dev/serin/pkg/store"
	"github.com/serin-dev/serin/translator"
)

// The seed's Gloo example (gloo.solo.io/v1 UpstreamGroup, myapp-v1 at 90 and
// myapp-v2 at 10), with Gloo Upstreams and a gateway.solo.io/v1
// VirtualService, loads verbatim and translates to weighted_clusters
// myapp-v1_default=90 and myapp-v2_default=10.
func TestGlooSeedExampleTranslates(t *testing.T) {
	const dir = "../../../examples/gloo"
	st := store.New()
	s, err := New(dir, st, WithLogger(quietLog))
	if err != nil {
		t.Fatal(err)
	}
	if errs := s.Errors(); len(errs) > 0 {
		t.Fatalf("errors loading %s: %v", dir, errs)
	}
	out := translator.Translate(translator.InputFrom(st.Read()), translator.Options{})
	for _, r := range out.Reports {
		if len(r.Problems) > 0 {
			t.Errorf("%s: %s", r.Ref, r.Reason)
		}
	}
	var split []string
	for _, rc := range out.Fleets["default"].Routes {
		for _, vh := range rc.VirtualHosts {
			for _, r := range vh.Routes {
				for _, c := range r.GetRoute().GetWeightedClusters().GetClusters() {
					split = append(split, rc.Name+": "+c.Name+"="+itoa(int(c.GetWeight().GetValue())))
				}
			}
		}
	}
	if len(split) == 0 {
		t.Fatal("no weighted_clusters in the output")
	}
	for _, s := range split {
		_, pair, _ := strings.Cut(s, ": ")
		if pair != "myapp-v1_default=90" && pair != "myapp-v2_default=10" {
			t.Errorf("unexpected weighted cluster %s", s)
		}
	}
	if !contains(split, "myapp: myapp-v1_default=90") || !contains(split, "myapp: myapp-v2_default=10") {
		t.Errorf("weighted clusters %q", split)
	}
}

// The seed's UpstreamGroup on its own decodes to serin's type.
func TestGlooSeedUpstreamGroupDecodes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("../../../examples/gloo", "upstreamgroup.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, errs := DecodeObjects("upstreamgroup.yaml", data)
	if len(errs) > 0 || len(objs) != 1 || objs[0].String() != "UpstreamGroup default/myapp-upstream-group" {
		t.Fatalf("decode: %v %v", summary(objs), errs)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
