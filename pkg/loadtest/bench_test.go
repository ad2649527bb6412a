package loadtest

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/gen"
	"github.com/serin-dev/serin/snapshot"
	"github.com/serin-dev/serin/translator"
)

// BenchmarkWeightChange is serin's server-side work for one weight change
// at N VirtualServices, split in its two stages as the runner does them:
// translate (the incremental translator.Translator) and publish
// (snapshot.Cache.Update: consistency check, marshal and hash of what is
// new, per-type versions). The file watch and the debounce come on top.
//
//	go test -tags vtprotobuf ./pkg/loadtest -run '^$' -bench WeightChange -benchtime 10x
func BenchmarkWeightChange(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		in := gen.Input(gen.Config{VirtualServices: n})
		opts := translator.Options{LoadReporting: true}
		cache := snapshot.NewCache(snapshot.WithDrain(0))
		tr := translator.NewTranslator()
		if err := cache.Update(tr.Translate(in, opts)); err != nil {
			b.Fatal(err)
		}
		b.Run("vs="+strconv.Itoa(n), func(b *testing.B) {
			var translate, publish time.Duration
			k := 0
			for b.Loop() {
				in = withWeight(in, k%n, CanaryWeight(k))
				k++
				t0 := time.Now()
				out := tr.Translate(in, opts)
				t1 := time.Now()
				if err := cache.Update(out); err != nil {
					b.Fatal(err)
				}
				translate += t1.Sub(t0)
				publish += time.Since(t1)
			}
			b.ReportMetric(float64(translate.Microseconds())/1000/float64(b.N), "translate-ms")
			b.ReportMetric(float64(publish.Microseconds())/1000/float64(b.N), "publish-ms")
		})
	}
}

// withWeight returns in with service svc's canary weight set to w.
func withWeight(in *translator.Input, svc int, w uint32) *translator.Input {
	groups := slices.Clone(in.UpstreamGroups)
	g := groups[svc].Obj.DeepCopy()
	g.Spec.Destinations[1].Weight = int64(w)
	groups[svc] = translator.Object[*v1alpha1.UpstreamGroup]{Obj: g, Rev: groups[svc].Rev + 1}
	out := *in
	out.UpstreamGroups = groups
	return &out
}
