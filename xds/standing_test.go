package xds

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/snapshot"
	"github.com/serin-dev/serin/translator"
)

func TestStandingNacksBook(t *testing.T) {
	a := ident.Ref{Kind: "Upstream", Namespace: "default", Name: "a"}
	b := ident.Ref{Kind: "Upstream", Namespace: "default", Name: "b"}
	t0 := time.Unix(1000, 0)
	nack := func(node, version string, at time.Time, objs ...ident.Ref) *Nack {
		return &Nack{NodeID: node, TypeURL: snapshot.KindCluster.TypeURL(), Version: version, Time: at, Objects: objs}
	}
	var book standingNacks
	if got := book.forObject(a); got != nil {
		t.Fatalf("empty book: %v", got)
	}
	book.add(1, snapshot.KindCluster, nack("n1", "v1", t0, a, b))
	book.add(2, snapshot.KindCluster, nack("n2", "v1", t0.Add(-time.Second), a))
	// A later NACK of the same stream and type replaces the first.
	book.add(1, snapshot.KindCluster, nack("n1", "v2", t0.Add(time.Second), a))
	// The same node on a second stream (a reconnect overlapping the old
	// one): one entry per node and type, the latest.
	book.add(3, snapshot.KindCluster, nack("n1", "v0", t0.Add(-time.Hour), a))

	versions := func(o ident.Ref) []string {
		var out []string
		for _, n := range book.forObject(o) {
			out = append(out, n.NodeID+"@"+n.Version)
		}
		return out
	}
	if got := versions(a); !slices.Equal(got, []string{"n2@v1", "n1@v2"}) {
		t.Errorf("a = %v, want n2@v1 then n1@v2 (oldest first)", got)
	}
	if got := versions(b); got != nil {
		t.Errorf("b = %v, want none: n1's NACK naming it was replaced", got)
	}
	book.drop(2, snapshot.KindCluster)
	book.drop(2, snapshot.KindRoute) // nothing there: no-op
	book.dropStream(1)
	if got := versions(a); !slices.Equal(got, []string{"n1@v0"}) {
		t.Errorf("a = %v, want the other stream's n1@v0", got)
	}
	book.dropStream(3)
	if len(book.byStream) != 0 || len(book.byObject) != 0 {
		t.Errorf("book holds %d streams, %d objects after every NACK stopped standing; it must not grow", len(book.byStream), len(book.byObject))
	}
}

// A NACK stands against the objects of the rejected resources while the
// node is connected and has not been sent a later version of the type.
func TestStandingNacksFollowTheNode(t *testing.T) {
	e := start(t)
	update(t, e, app(90, 10))
	v2 := ident.Ref{Kind: "Upstream", Namespace: "default", Name: "myapp-v2"}
	bad := e.sotw(t, node("bad", "default", ""))
	bad.request(cds, nil, "")
	bad.ack(bad.expect(cds), nil)

	reject := func(timeout time.Duration) {
		t.Helper()
		res := app(90, 10).Resources()
		res.Clusters[1].ConnectTimeout = durationpb.New(timeout)
		if err := e.cache.Update(&translator.Output{Fleets: map[string]*translator.Resources{"default": res}}); err != nil {
			t.Fatal(err)
		}
		bad.expect(cds)
		bad.request(cds, nil, "bad connect timeout")
		<-e.nacks
	}
	reject(7 * time.Second)
	got := e.srv.StandingNacks(v2)
	if len(got) != 1 || got[0].Node != "bad" || got[0].TypeURL != cds || got[0].Message != "bad connect timeout" ||
		got[0].Time.Time != got[0].Time.Truncate(time.Second) {
		t.Fatalf("StandingNacks(myapp-v2) = %+v", got)
	}

	// A later version sent: the NACK no longer stands.
	res := app(90, 10).Resources()
	res.Clusters[1].ConnectTimeout = durationpb.New(2 * time.Second)
	if err := e.cache.Update(&translator.Output{Fleets: map[string]*translator.Resources{"default": res}}); err != nil {
		t.Fatal(err)
	}
	bad.ack(bad.expect(cds), nil)
	if got := e.srv.StandingNacks(v2); got != nil {
		t.Errorf("after a later version: %+v", got)
	}

	// Rejected again, then the node leaves.
	reject(8 * time.Second)
	if got := e.srv.StandingNacks(v2); len(got) != 1 {
		t.Fatalf("StandingNacks(myapp-v2) = %+v, want one", got)
	}
	bad.end()
	waitFor(t, "the NACK of a node that left to drop", func() bool { return e.srv.StandingNacks(v2) == nil })
	e.srv.standing.mu.Lock()
	defer e.srv.standing.mu.Unlock()
	if len(e.srv.standing.byStream) != 0 || len(e.srv.standing.byObject) != 0 {
		t.Errorf("book not empty once no NACK stands: %v", e.srv.standing.byStream)
	}
}
