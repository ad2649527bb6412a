package canary

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/serin-dev/serin/pkg/ident"
)

// Router is what the admin API offers (admin.Handler): read endpoints and
// mutating ones that require the bearer token when one is configured.
type Router interface {
	Handle(pattern string, fn http.HandlerFunc)
	HandleMutating(pattern string, fn http.HandlerFunc)
}

// opTimeout bounds how long a manual operation waits for the engine's
// loop, which may be in the middle of a slow Prometheus query.
const opTimeout = 15 * time.Second

// Register adds the canary endpoints:
//
//	GET  /api/v1/canaries
//	GET  /api/v1/canaries/{namespace}/{name}
//	GET  /api/v1/canaries/{namespace}/{name}/history
//	POST /api/v1/canaries/{namespace}/{name}/{promote|pause|resume|abort|retry|undo}   (promote?full=true)
func (e *Engine) Register(rt Router) {
	rt.Handle("GET /api/v1/canaries", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, e.List())
	})
	rt.Handle("GET /api/v1/canaries/{namespace}/{name}", func(w http.ResponseWriter, r *http.Request) {
		v, ok := e.Get(keyOf(r))
		if !ok {
			writeError(w, http.StatusNotFound, "no canary "+keyOf(r).String())
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
	rt.Handle("GET /api/v1/canaries/{namespace}/{name}/history", func(w http.ResponseWriter, r *http.Request) {
		list, err := e.History(keyOf(r))
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		if list == nil {
			if _, ok := e.Get(keyOf(r)); !ok {
				writeError(w, http.StatusNotFound, "no canary "+keyOf(r).String())
				return
			}
			list = []Release{}
		}
		writeJSON(w, http.StatusOK, list)
	})
	for _, o := range []Operation{OpPromote, OpPause, OpResume, OpAbort, OpRetry, OpUndo} {
		rt.HandleMutating("POST /api/v1/canaries/{namespace}/{name}/"+string(o), func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), opTimeout)
			defer cancel()
			full := r.URL.Query().Get("full") == "true"
			v, err := e.Do(ctx, keyOf(r), o, full, r.RemoteAddr)
			switch {
			case err == nil:
				writeJSON(w, http.StatusOK, v)
			case errors.Is(err, ErrNotFound):
				writeError(w, http.StatusNotFound, err.Error())
			case errors.Is(err, ErrConflict):
				writeError(w, http.StatusConflict, err.Error())
			case errors.Is(err, ErrFollower):
				writeError(w, http.StatusServiceUnavailable, err.Error())
			default:
				writeError(w, http.StatusInternalServerError, err.Error())
			}
		})
	}
}

func keyOf(r *http.Request) ident.Key {
	return ident.Key{Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		slog.Warn("canary api: write response", "err", err)
	}
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
