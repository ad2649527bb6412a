package translator_test

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/serin-dev/serin/pkg/gen"
	"github.com/serin-dev/serin/translator"
)

// BenchmarkTranslate translates generated configurations: N VirtualServices,
// each one route to a two-upstream group plus a mirror (gen.Input). Besides
// ns/op it reports the emitted resources and the bytes and allocations per
// emitted resource. Target at 10,000: under 300 ms and under 1 KB per
// resource on a 2-core machine.
//
//	go test ./translator -run '^$' -bench BenchmarkTranslate -benchtime 5x
func BenchmarkTranslate(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		in := gen.Input(gen.Config{VirtualServices: n})
		b.Run("vs="+strconv.Itoa(n), func(b *testing.B) {
			resources := count(translator.Translate(in, translator.Options{LoadReporting: true}))
			var before, after runtime.MemStats
			b.ReportAllocs()
			runtime.ReadMemStats(&before)
			for b.Loop() {
				translator.Translate(in, translator.Options{LoadReporting: true})
			}
			runtime.ReadMemStats(&after)
			per := float64(b.N) * float64(resources)
			b.ReportMetric(float64(resources), "resources")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/per, "B/resource")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/per, "allocs/resource")
		})
	}
}

func count(out *translator.Output) int {
	n := 0
	for _, r := range out.Fleets {
		n += len(r.Clusters) + len(r.Endpoints) + len(r.Listeners) + len(r.APIListeners) + len(r.Routes)
	}
	return n
}
