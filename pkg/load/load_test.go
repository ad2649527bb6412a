package load

import (
	"testing"
	"time"
)

// Counts add up across reporters; the in-progress gauge is the sum of each
// reporter's latest and drops with a reporter that leaves.
func TestStoreTotalsAndInProgress(t *testing.T) {
	s := NewStore()
	var got []Report
	cancel := s.Subscribe(func(r Report) { got = append(got, r) })
	now := time.Now()
	s.Add(1, Report{Cluster: "a", Successful: 90, Error: 2, Issued: 92, InProgress: 4, Received: now})
	s.Add(2, Report{Cluster: "a", Successful: 900, Error: 20, Issued: 920, InProgress: 6, Received: now})
	s.Add(1, Report{Cluster: "a", Successful: 10, Issued: 10, InProgress: 2, Received: now})
	s.Add(1, Report{Cluster: "b", Successful: 5, Issued: 5, Received: now})
	cancel()
	s.Add(1, Report{Cluster: "b", Dropped: 1, Received: now})

	if len(got) != 4 {
		t.Errorf("subscriber saw %d reports, want 4 (none after cancel)", len(got))
	}
	a, ok := s.Total("a")
	if !ok || a.Successful != 1000 || a.Error != 22 || a.Issued != 1022 || a.InProgress != 2+6 || a.Reports != 3 || !a.Updated.Equal(now) {
		t.Errorf("a = %+v", a)
	}
	if all := s.Totals(); len(all) != 2 || all[0].Cluster != "a" || all[1].Cluster != "b" || all[1].Dropped != 1 {
		t.Errorf("totals = %+v", all)
	}
	s.Drop(1)
	if a, _ := s.Total("a"); a.InProgress != 6 {
		t.Errorf("in progress after reporter 1 left = %d, want 6", a.InProgress)
	}
	if _, ok := s.Total("c"); ok {
		t.Error("Total of a cluster nobody reported")
	}
}

// A bounded store forgets the cluster reported least recently, and a
// reporter that leaves leaves no in-progress entry behind.
func TestStoreBoundsClusters(t *testing.T) {
	l := NewStore(WithMaxClusters(2))
	t0 := time.Unix(100, 0)
	l.Add(1, Report{Cluster: "a", Successful: 1, Received: t0})
	l.Add(1, Report{Cluster: "b", Successful: 1, Received: t0.Add(time.Second)})
	l.Add(1, Report{Cluster: "a", Successful: 1, Received: t0.Add(2 * time.Second)})
	l.Add(2, Report{Cluster: "c", Successful: 1, InProgress: 3, Received: t0.Add(3 * time.Second)})
	got := l.Totals()
	if len(got) != 2 || got[0].Cluster != "a" || got[0].Successful != 2 || got[1].Cluster != "c" {
		t.Fatalf("totals = %+v, want a and c (b reported least recently)", got)
	}
	l.Drop(1)
	l.Drop(2)
	if len(l.progress) != 0 {
		t.Errorf("progress kept after every reporter left: %v", l.progress)
	}
	if c, _ := l.Total("c"); c.InProgress != 0 {
		t.Errorf("c in progress = %d", c.InProgress)
	}
}
