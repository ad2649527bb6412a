// Package admin serves serin's admin HTTP API: health, readiness,
// Prometheus metrics, the per-object translation results, the connected
// nodes, the served snapshot and the load reports. pprof is not here: it
// is on a separate, loopback-only listener (Debug).
package admin

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/serin-dev/serin/pkg/controlplane"
	"github.com/serin-dev/serin/pkg/load"
	"github.com/serin-dev/serin/xds"
)

// Backend is what the admin API reads. Every function may be nil, in which
// case its endpoint answers 404.
type Backend struct {
	// Ready says why serin is not ready (no snapshot served yet, shutting
	// down, a rollback not yet saved), or nil when it is.
	Ready func() error
	// Resources lists every object's state (and every file that failed to
	// load, as kind "File").
	Resources func() []controlplane.ResourceStatus
	// Nodes lists connected nodes with their ACK/NACK state.
	Nodes func() []xds.NodeStatus
	// Snapshot returns the served resources of a fleet as JSON.
	Snapshot func(fleet string) ([]byte, bool)
	// LoadReports returns the latest per-cluster load totals.
	LoadReports func() []load.Totals
	// Instance identifies this process; when set, /api/v1/loadreports
	// carries it in the X-Serin-Instance header so that a leader polling
	// its peers (pkg/peers) recognizes and skips itself.
	Instance string
}

// Handler is the admin mux. When its token is not empty every endpoint
// but /healthz and /readyz requires "Authorization: Bearer <token>".
type Handler struct {
	mux   *http.ServeMux
	token string
}

// New builds the admin API. token guards every endpoint, reads included,
// except the probes (/healthz, /readyz: the kubelet cannot carry a secret,
// and they say only "ok"). Empty means open, which serve allows only on a
// loopback address (RequireToken).
func New(b Backend, reg *prometheus.Registry, token string) *Handler {
	h := &Handler{mux: http.NewServeMux(), token: strings.TrimSpace(token)}
	m := h.mux
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	m.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if b.Ready == nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		if err := b.Ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	if reg != nil {
		h.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}).ServeHTTP)
	}
	if b.Resources != nil {
		h.Handle("GET /api/v1/resources", func(w http.ResponseWriter, r *http.Request) {
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
			writePage(w, r, out, func(s *controlplane.ResourceStatus) string {
				return s.Kind + "\x00" + s.Namespace + "\x00" + s.Name
			})
		})
	}
	if b.Nodes != nil {
		h.Handle("GET /api/v1/nodes", func(w http.ResponseWriter, r *http.Request) {
			writePage(w, r, b.Nodes(), func(n *xds.NodeStatus) string {
				// One id may be connected more than once: the time orders them.
				return n.ID + "\x00" + fmt.Sprintf("%020d", n.Connected.UnixNano())
			})
		})
	}
	if b.Snapshot != nil {
		h.Handle("GET /api/v1/snapshot", func(w http.ResponseWriter, r *http.Request) {
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
		h.Handle("GET /api/v1/loadreports", func(w http.ResponseWriter, r *http.Request) {
			if b.Instance != "" {
				w.Header().Set("X-Serin-Instance", b.Instance)
			}
			writePage(w, r, b.LoadReports(), func(t *load.Totals) string { return t.Cluster })
		})
	}
	return h
}

// Handle registers a read-only endpoint; it requires the token too: what
// the API shows (snapshots, webhook URLs, node names) maps the mesh.
func (h *Handler) Handle(pattern string, fn http.HandlerFunc) {
	h.mux.HandleFunc(pattern, h.authorized(fn))
}

// HandleMutating registers an endpoint that changes state. It is guarded
// like Handle; the two stay apart so that call sites say which they are.
func (h *Handler) HandleMutating(pattern string, fn http.HandlerFunc) {
	h.mux.HandleFunc(pattern, h.authorized(fn))
}

// Unauthorized is the 401 body. It names both sides' flags: the server's
// and the CLI's.
const Unauthorized = "unauthorized: send \"Authorization: Bearer <token>\" with the token serve reads from --admin-token-file (serin canary: --token-file or SERIN_ADMIN_TOKEN_FILE)"

func (h *Handler) authorized(fn http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.token != "" && !bearerMatches(r.Header.Get("Authorization"), h.token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="serin-admin"`)
			http.Error(w, Unauthorized, http.StatusUnauthorized)
			return
		}
		fn(w, r)
	}
}

// bearerMatches accepts only "Bearer <token>" (the scheme is
// case-insensitive, RFC 9110 11.1) and compares in constant time. A bare
// token is refused: it would also match a header some proxy added for
// another scheme.
func bearerMatches(header, token string) bool {
	scheme, got, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) == 1
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
