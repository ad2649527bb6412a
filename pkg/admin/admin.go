// Package admin serves serin's admin HTTP API: health, readiness,
// Prometheus metrics, the per-object translation results, the connected
// nodes, the served snapshot and the load reports, plus pprof.
package admin

import (
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/serin-dev/serin/pkg/controlplane"
)

// Backend is what the admin API reads. Every function may be nil, in which
// case its endpoint answers 404.
type Backend struct {
	// Ready reports whether the first snapshot is built and served.
	Ready func() bool
	// Resources lists every object's state (and every file that failed to
	// load, as kind "File").
	Resources func() []controlplane.ResourceStatus
	// Nodes lists connected nodes with their ACK/NACK state.
	Nodes func() any
	// Snapshot returns the served resources of a fleet as JSON.
	Snapshot func(fleet string) ([]byte, bool)
	// LoadReports returns the latest per-cluster load totals.
	LoadReports func() any
	// Instance identifies this process; when set, /api/v1/loadreports
	// carries it in the X-Serin-Instance header so that a leader polling
	// its peers (pkg/peers) recognizes and skips itself.
	Instance string
}

// Handler returns the admin mux. Mutating endpoints registered later with
// HandleMutating require token when it is not empty.
type Handler struct {
	mux   *http.ServeMux
	token string
}

// New builds the admin API. token guards mutating endpoints; empty means
// they are open (serve warns about it).
func New(b Backend, reg *prometheus.Registry, token string) *Handler {
	h := &Handler{mux: http.NewServeMux(), token: strings.TrimSpace(token)}
	m := h.mux
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	m.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if b.Ready == nil || !b.Ready() {
			http.Error(w, "not ready: no snapshot served yet", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	if reg != nil {
		m.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	}
	if b.Resources != nil {
		m.HandleFunc("GET /api/v1/resources", func(w http.ResponseWriter, r *http.Request) {
			out := b.Resources()
			if out == nil {
				out = []controlplane.ResourceStatus{}
			}
			if st := r.URL.Query().Get("state"); st != "" {
				kept := out[:0:0]
				for _, s := range out {
					if strings.EqualFold(s.State, st) {
						kept = append(kept, s)
					}
				}
				out = kept
			}
			writeJSON(w, out)
		})
	}
	if b.Nodes != nil {
		m.HandleFunc("GET /api/v1/nodes", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, b.Nodes()) })
	}
	if b.Snapshot != nil {
		m.HandleFunc("GET /api/v1/snapshot", func(w http.ResponseWriter, r *http.Request) {
			fleet := r.URL.Query().Get("fleet")
			if fleet == "" {
				fleet = "default"
			}
			body, ok := b.Snapshot(fleet)
			if !ok {
				http.Error(w, "no snapshot for fleet "+fleet, http.StatusNotFound)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		})
	}
	if b.LoadReports != nil {
		m.HandleFunc("GET /api/v1/loadreports", func(w http.ResponseWriter, _ *http.Request) {
			if b.Instance != "" {
				w.Header().Set("X-Serin-Instance", b.Instance)
			}
			writeJSON(w, b.LoadReports())
		})
	}
	m.HandleFunc("GET /debug/pprof/", pprof.Index)
	m.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	m.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return h
}

// Handle registers a read-only endpoint.
func (h *Handler) Handle(pattern string, fn http.HandlerFunc) { h.mux.HandleFunc(pattern, fn) }

// HandleMutating registers an endpoint that changes state; it requires
// "Authorization: Bearer <token>" when a token is configured.
func (h *Handler) HandleMutating(pattern string, fn http.HandlerFunc) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if h.token != "" {
			got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			if subtle.ConstantTimeCompare([]byte(got), []byte(h.token)) != 1 {
				http.Error(w, "a bearer token is required (see --admin-token-file)", http.StatusUnauthorized)
				return
			}
		}
		fn(w, r)
	})
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		slog.Warn("admin: write response", "err", err)
	}
}
