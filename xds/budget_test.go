package xds

import (
	"testing"
	"time"
)

// TestResponseBudget: with the budget spent, a second node's large
// response waits until the first node answers its own (or, for a node
// that never answers, until the hold expires); small responses never
// wait.
func TestResponseBudget(t *testing.T) {
	e := startWith(t, []Option{WithLimits(Limits{MaxResponseBytesInFlight: 1})})
	e.srv.budget.minBytes = 1 // every response counts, and takes the whole budget
	e.srv.budget.holdFor = time.Hour
	update(t, e, app(90, 10))

	a := e.sotw(t, node("a", "default", ""))
	a.request(cds, nil, "")
	first := a.expect(cds)
	b := e.sotw(t, node("b", "default", ""))
	b.request(cds, nil, "")
	if n := b.count(500 * time.Millisecond); n != 0 {
		t.Fatalf("b got %d responses while a held the whole budget", n)
	}
	if got := counterValue(e.srv.metrics.budgetWaits); got < 1 {
		t.Fatalf("serin_xds_response_budget_waits_total = %v, want the wait counted", got)
	}
	// From here on a hold lasts 300 ms unless answered.
	e.srv.budget.holdFor = 300 * time.Millisecond
	a.ack(first, nil) // a answered: its response is out of serin's buffers
	b.expect(cds)

	// b never answers: its budget comes back after the hold.
	c := e.sotw(t, node("c", "default", ""))
	c.request(cds, nil, "") // waits for b, who never answers
	start := time.Now()
	c.expect(cds)
	if time.Since(start) > 3*time.Second {
		t.Fatalf("c waited %v for a budget held by a silent node", time.Since(start))
	}

	// A stream waiting for budget still reads its node's answers: d's own
	// cluster response holds the whole budget, and its endpoint request
	// is served once it ACKs the clusters (no timeout involved).
	e.srv.budget.holdFor = time.Hour
	d := e.sotw(t, node("d", "default", ""))
	time.Sleep(400 * time.Millisecond) // c's hold (300 ms, unanswered) goes
	d.request(cds, nil, "")
	clusters := d.expect(cds)
	d.request(eds, []string{"myapp-v1_default"}, "")
	if n := d.count(300 * time.Millisecond); n != 0 {
		t.Fatalf("d got %d responses while its own clusters held the budget", n)
	}
	d.ack(clusters, nil)
	d.expect(eds)

	// Off: nothing waits.
	off := startWith(t, []Option{WithLimits(Limits{MaxResponseBytesInFlight: -1})})
	if off.srv.budget != nil {
		t.Fatal("a negative MaxResponseBytesInFlight must switch the budget off")
	}
}
