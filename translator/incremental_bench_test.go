package translator_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/serin-dev/serin/pkg/gen"
	"github.com/serin-dev/serin/snapshot"
	"github.com/serin-dev/serin/translator"
)

// BenchmarkTranslateIncremental is one weight change on one UpstreamGroup
// (alternating two values) through a translator.Translator that has seen
// the previous configuration, as the control plane's runner does, at N
// VirtualServices. ms/op is translation alone; publish-ms is
// snapshot.Cache.Update of the result (consistency check, snapshot build
// against the previous one: marshal and hash of what is new), the rest of
// the push path before the xDS server. Target at 10,000: under 20 ms of
// translation. Run with -tags vtprotobuf, as make does.
//
//	go test -tags vtprotobuf ./translator -run '^$' -bench TranslateIncremental -benchtime 20x
func BenchmarkTranslateIncremental(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run("vs="+strconv.Itoa(n), func(b *testing.B) {
			opts := translator.Options{LoadReporting: true}
			in := gen.Input(gen.Config{VirtualServices: n})
			tr := translator.NewTranslator()
			// The real push path: Cache.Update checks consistency, builds
			// every fleet's snapshot from the previous one and wakes
			// subscribers.
			cache := snapshot.NewCache()
			defer cache.Close()
			if err := cache.Update(tr.Translate(in, opts)); err != nil {
				b.Fatal(err)
			}
			var translate, publish time.Duration
			k := 0
			for b.Loop() {
				in = withGroupWeight(in, (k*7919)%n, int64(10+10*(k%2)))
				k++
				t0 := time.Now()
				out := tr.Translate(in, opts)
				t1 := time.Now()
				if st := tr.Stats(); st.Layout || st.Compiled > 2 {
					b.Fatalf("a weight change: %+v, want at most its group and VirtualService compiled", st)
				}
				if err := cache.Update(out); err != nil {
					b.Fatal(err)
				}
				translate += t1.Sub(t0)
				publish += time.Since(t1)
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(translate.Microseconds())/1000/float64(b.N), "ms/op")
			b.ReportMetric(float64(publish.Microseconds())/1000/float64(b.N), "publish-ms")
		})
	}
}
