package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/serin-dev/serin/pkg/controlplane"
)

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestReadyzFollowsBackend(t *testing.T) {
	ready := errors.New("no snapshot served yet")
	h := New(Backend{Ready: func() error { return ready }}, nil, "")
	if rec := get(t, h, "/readyz"); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "no snapshot served yet") {
		t.Fatalf("readyz before first snapshot = %d %q, want 503 saying why", rec.Code, rec.Body)
	}
	ready = nil
	if got := get(t, h, "/readyz").Code; got != http.StatusOK {
		t.Fatalf("readyz after first snapshot = %d, want 200", got)
	}
	if got := get(t, h, "/healthz").Code; got != http.StatusOK {
		t.Fatalf("healthz = %d, want 200", got)
	}
}

func TestResourcesFilterByState(t *testing.T) {
	h := New(Backend{Resources: func() []controlplane.ResourceStatus {
		return []controlplane.ResourceStatus{
			{Kind: "Upstream", Namespace: "default", Name: "a", State: "Accepted"},
			{Kind: "UpstreamGroup", Namespace: "default", Name: "g", State: "Rejected", Reason: "spec.destinations: weights must add up to more than 0"},
		}
	}}, nil, "")
	var all, rejected []controlplane.ResourceStatus
	if err := json.Unmarshal(get(t, h, "/api/v1/resources").Body.Bytes(), &all); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(get(t, h, "/api/v1/resources?state=rejected").Body.Bytes(), &rejected); err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || len(rejected) != 1 || rejected[0].Name != "g" {
		t.Fatalf("all=%v rejected=%v", all, rejected)
	}
}

func TestMutatingNeedsToken(t *testing.T) {
	h := New(Backend{}, prometheus.NewRegistry(), "s3cret")
	called := 0
	h.HandleMutating("POST /api/v1/thing", func(w http.ResponseWriter, _ *http.Request) { called++ })
	for _, tc := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer nope", 401}, {"Bearer s3cret", 200}} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/api/v1/thing", strings.NewReader(""))
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("auth %q: status %d, want %d", tc.auth, rec.Code, tc.want)
		}
	}
	if called != 1 {
		t.Fatalf("handler called %d times, want 1", called)
	}
}
