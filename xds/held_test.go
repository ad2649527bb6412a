package xds

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestHeldNames(t *testing.T) {
	t0 := time.Now()
	var h heldNames
	h.sentResponse("1", t0, []string{"a"})
	h.answered(true)
	if !slices.Equal(h.acked, []string{"a"}) || len(h.unanswered) != 0 || !h.since.IsZero() {
		t.Fatalf("after an ACK: %+v", h)
	}

	// Three responses, unanswered; the node ACKs the second (SotW: it
	// has not seen the third yet).
	h.sentResponse("2", t0.Add(1*time.Second), []string{"a", "b"})
	h.sentResponse("3", t0.Add(2*time.Second), []string{"a", "b", "c"})
	h.sentResponse("4", t0.Add(3*time.Second), []string{"c"})
	if !h.since.Equal(t0.Add(time.Second)) || !slices.Equal(h.sent, []string{"c"}) {
		t.Fatalf("three unanswered: %+v", h)
	}
	h.creditStale("3")
	if !slices.Equal(h.acked, []string{"a", "b", "c"}) || !h.since.Equal(t0.Add(3*time.Second)) || len(h.unanswered) != 1 {
		t.Errorf("ACK of the middle one: %+v", h)
	}
	// The latest and unknown nonces credit nothing here.
	h.creditStale("4")
	h.creditStale("99")
	if !slices.Equal(h.acked, []string{"a", "b", "c"}) || len(h.unanswered) != 1 {
		t.Errorf("after latest/unknown nonces: %+v", h)
	}
	// A NACK answers everything and holds nothing new.
	h.answered(false)
	if !slices.Equal(h.acked, []string{"a", "b", "c"}) || len(h.unanswered) != 0 || !h.since.IsZero() {
		t.Errorf("after a NACK: %+v", h)
	}

	// Only the last recentSent responses are remembered.
	for i := range recentSent + 2 {
		h.sentResponse(fmt.Sprint(10+i), t0, []string{fmt.Sprint(i)})
	}
	if len(h.unanswered) != recentSent || h.unanswered[0].nonce != "12" {
		t.Errorf("unanswered = %d from %s, want %d from 12", len(h.unanswered), h.unanswered[0].nonce, recentSent)
	}
	h.creditStale("10") // forgotten
	if !slices.Equal(h.acked, []string{"a", "b", "c"}) {
		t.Errorf("a forgotten nonce credited %v", h.acked)
	}
}

func TestHeldNamesPrune(t *testing.T) {
	acked := []string{"a", "b", "c"}
	h := heldNames{acked: acked}
	h.prune(map[string]bool{"a": true, "b": true, "c": true, "d": true})
	if &h.acked[0] != &acked[0] {
		t.Error("nothing to forget, yet the (shared) list was copied")
	}
	h.prune(map[string]bool{"a": true, "c": true})
	if !slices.Equal(h.acked, []string{"a", "c"}) || !slices.Equal(acked, []string{"a", "b", "c"}) {
		t.Errorf("pruned %v; the shared list became %v", h.acked, acked)
	}
}
