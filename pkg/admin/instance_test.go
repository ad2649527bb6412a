package admin

import (
	"testing"

	"github.com/serin-dev/serin/pkg/load"
)

// TestLoadReportsCarryInstance: a leader polling its peers' load reports
// recognizes itself by this header (pkg/peers).
func TestLoadReportsCarryInstance(t *testing.T) {
	loads := func() []load.Totals { return nil }
	rec := get(t, New(Backend{LoadReports: loads, Instance: "serin-0_abc"}, nil, ""), "/api/v1/loadreports")
	if rec.Code != 200 || rec.Header().Get("X-Serin-Instance") != "serin-0_abc" {
		t.Fatalf("code %d, X-Serin-Instance %q", rec.Code, rec.Header().Get("X-Serin-Instance"))
	}
	rec = get(t, New(Backend{LoadReports: loads}, nil, ""), "/api/v1/loadreports")
	if _, set := rec.Header()["X-Serin-Instance"]; set {
		t.Fatal("X-Serin-Instance set without an Instance")
	}
}
