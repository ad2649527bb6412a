package canary

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// muxRouter is a Router on a plain ServeMux (no token).
type muxRouter struct{ *http.ServeMux }

func (m muxRouter) Handle(p string, fn http.HandlerFunc)         { m.ServeMux.HandleFunc(p, fn) }
func (m muxRouter) HandleMutating(p string, fn http.HandlerFunc) { m.ServeMux.HandleFunc(p, fn) }

// POST .../undo: a conflict naming the missing stable, then the stable at
// 100% with the operator recorded.
func TestAPIUndo(t *testing.T) {
	f := newFixture(t, nil, nil, testCanary("app"))
	if _, err := f.do("app", OpPromote, true, "ops"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.e.Run(ctx)
	mux := http.NewServeMux()
	f.e.Register(muxRouter{mux})
	post := func() (*httptest.ResponseRecorder, View) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/canaries/default/app/undo", nil)
		req.RemoteAddr = "192.0.2.7:4242"
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		var v View
		json.Unmarshal(rec.Body.Bytes(), &v)
		return rec, v
	}
	if rec, _ := post(); rec.Code != http.StatusConflict {
		t.Fatalf("undo without the stable Upstream: %d %s", rec.Code, rec.Body)
	}
	f.putUpstream("app-v1")
	rec, v := post()
	if rec.Code != http.StatusOK || v.Phase != v1alpha1.PhaseRolledBack {
		t.Fatalf("undo: %d %s", rec.Code, rec.Body)
	}
	if d := v.Decisions[len(v.Decisions)-1]; !d.Manual || d.Actor != "192.0.2.7:4242" {
		t.Fatalf("undo decision %+v, want manual by the API peer", d)
	}
}
