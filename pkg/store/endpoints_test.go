package store

import (
	"testing"

	"github.com/serin-dev/serin/pkg/ident"
)

func TestUpstreamEndpoints(t *testing.T) {
	s := New()
	k := ident.Key{Namespace: "default", Name: "web"}
	addrs := []EndpointAddr{{Address: "10.0.0.1", Port: 8080, Zone: "a"}}
	if err := s.Update(func(tx *WriteTxn) error { return tx.SetUpstreamEndpoints(k, addrs) }); err != nil {
		t.Fatal(err)
	}
	if g := s.Generation(); g != 1 {
		t.Fatalf("generation %d, want 1", g)
	}
	got, ok := s.Read().UpstreamEndpoints(k)
	if !ok || len(got) != 1 || got[0] != addrs[0] {
		t.Fatalf("got %v %v", got, ok)
	}
	// An equal set is not a change.
	same := []EndpointAddr{{Address: "10.0.0.1", Port: 8080, Zone: "a"}}
	if err := s.Update(func(tx *WriteTxn) error { return tx.SetUpstreamEndpoints(k, same) }); err != nil {
		t.Fatal(err)
	}
	if g := s.Generation(); g != 1 {
		t.Fatalf("equal set changed the store: generation %d", g)
	}
	if all := s.Read().AllUpstreamEndpoints(); len(all["default/web"]) != 1 {
		t.Fatalf("all: %v", all)
	}
	// Empty is known-and-empty, not unknown.
	if err := s.Update(func(tx *WriteTxn) error { return tx.SetUpstreamEndpoints(k, nil) }); err != nil {
		t.Fatal(err)
	}
	if got, ok := s.Read().UpstreamEndpoints(k); !ok || len(got) != 0 {
		t.Fatalf("empty: %v %v", got, ok)
	}
	if err := s.Update(func(tx *WriteTxn) error { return tx.DeleteUpstreamEndpoints(k) }); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Read().UpstreamEndpoints(k); ok {
		t.Fatal("still there after delete")
	}
	if g := s.Generation(); g != 3 {
		t.Fatalf("generation %d, want 3", g)
	}
}
