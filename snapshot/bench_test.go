package snapshot

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/serin-dev/serin/pkg/ident"
	st "github.com/serin-dev/serin/snapshot/snapshottest"
	"github.com/serin-dev/serin/translator"
)

// large is n apps of two versions each: 2n clusters and assignments, n API
// listeners and route configurations, one socket listener.
func large(n int) *translator.Resources {
	out := &translator.Resources{Origins: map[ident.Resource][]ident.Ref{}}
	for i := range n {
		r := st.App{Name: fmt.Sprintf("app%05d", i), Weights: []uint32{90, 10}}.Resources()
		out.Clusters = append(out.Clusters, r.Clusters...)
		out.Endpoints = append(out.Endpoints, r.Endpoints...)
		out.APIListeners = append(out.APIListeners, r.APIListeners...)
		out.Routes = append(out.Routes, r.Routes[1])
		if i == 0 {
			out.Listeners = r.Listeners
			out.Routes = append(out.Routes, r.Routes[0])
		}
	}
	return out
}

// BenchmarkBuild: a cold build of 1,000 apps (2,000 clusters and
// assignments, 1,000 API listeners and route configurations), and a rebuild
// of the same content from fresh messages, which is what each translation
// produces.
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{1000} {
		res := large(n)
		b.Run(fmt.Sprintf("cold/apps=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Build("default", res, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		prev, _ := Build("default", res, nil)
		fresh := large(n)
		b.Run(fmt.Sprintf("unchanged/apps=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Build("default", fresh, prev); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("check/apps=%d", n), func(b *testing.B) {
			for b.Loop() {
				if err := Check(res); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMarshal proves the vtprotobuf path is worth it: the same
// resources through MarshalVTStrict and through proto.Marshal.
func BenchmarkMarshal(b *testing.B) {
	res := large(100)
	var msgs []proto.Message
	for _, c := range res.Clusters {
		msgs = append(msgs, c)
	}
	for _, e := range res.Endpoints {
		msgs = append(msgs, e)
	}
	for _, l := range res.APIListeners {
		msgs = append(msgs, l)
	}
	for _, r := range res.Routes {
		msgs = append(msgs, r)
	}
	b.Run("vtproto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, m := range msgs {
				if _, err := Marshal(m); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("proto.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, m := range msgs {
				if _, err := proto.Marshal(m); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
