package admin

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/serin-dev/serin/pkg/controlplane"
	"github.com/serin-dev/serin/xds"
)

func request(t *testing.T, h http.Handler, method, path, auth string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, path, strings.NewReader(""))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	h.ServeHTTP(rec, req)
	return rec
}

// TestTokenGuardsReadsAndWrites: with a token, every endpoint but the
// probes answers 401 unless the request carries exactly "Bearer <token>".
func TestTokenGuardsReadsAndWrites(t *testing.T) {
	h := New(Backend{
		Ready:     func() error { return nil },
		Resources: func() []controlplane.ResourceStatus { return nil },
		Nodes:     func() []xds.NodeStatus { return nil },
	}, prometheus.NewRegistry(), "s3cret")
	h.Handle("GET /api/v1/canaries", func(w http.ResponseWriter, _ *http.Request) {})
	h.HandleMutating("POST /api/v1/canaries/default/a/promote", func(w http.ResponseWriter, _ *http.Request) {})
	endpoints := []struct{ method, path string }{
		{"GET", "/metrics"}, {"GET", "/api/v1/resources"}, {"GET", "/api/v1/nodes"},
		{"GET", "/api/v1/canaries"}, {"POST", "/api/v1/canaries/default/a/promote"},
	}
	for _, e := range endpoints {
		for _, auth := range []string{"", "s3cret", "Bearer", "Bearer ", "Bearer nope", "Basic s3cret", "Bearer s3cret2", "Bearers3cret"} {
			rec := request(t, h, e.method, e.path, auth)
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("%s %s with Authorization %q: %d, want 401", e.method, e.path, auth, rec.Code)
			}
			if !strings.Contains(rec.Body.String(), "--token-file") {
				t.Errorf("401 body %q does not name the CLI's flag", rec.Body.String())
			}
		}
		for _, auth := range []string{"Bearer s3cret", "bearer s3cret"} {
			if rec := request(t, h, e.method, e.path, auth); rec.Code != http.StatusOK {
				t.Errorf("%s %s with Authorization %q: %d, want 200", e.method, e.path, auth, rec.Code)
			}
		}
	}
	for _, probe := range []string{"/healthz", "/readyz"} {
		if rec := request(t, h, "GET", probe, ""); rec.Code != http.StatusOK {
			t.Errorf("probe %s without a token: %d, want 200", probe, rec.Code)
		}
	}
}

// TestNoTokenIsOpen: without a token (loopback only, see ResolveToken)
// reads and writes need nothing, as `make run` and the tests expect.
func TestNoTokenIsOpen(t *testing.T) {
	h := New(Backend{}, prometheus.NewRegistry(), "")
	h.HandleMutating("POST /x", func(w http.ResponseWriter, _ *http.Request) {})
	if rec := request(t, h, "POST", "/x", ""); rec.Code != http.StatusOK {
		t.Fatalf("POST without token on an open API: %d", rec.Code)
	}
	if rec := request(t, h, "GET", "/metrics", ""); rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics on an open API: %d", rec.Code)
	}
}

func TestPprofNotOnAdminMux(t *testing.T) {
	for _, token := range []string{"", "s3cret"} {
		h := New(Backend{}, prometheus.NewRegistry(), token)
		for _, p := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/profile?seconds=1", "/debug/pprof/trace"} {
			if rec := request(t, h, "GET", p, "Bearer s3cret"); rec.Code != http.StatusNotFound {
				t.Errorf("token %q: admin mux answers %s with %d, want 404", token, p, rec.Code)
			}
		}
	}
	if rec := request(t, Debug(), "GET", "/debug/pprof/cmdline", ""); rec.Code != http.StatusOK {
		t.Fatalf("Debug() /debug/pprof/cmdline: %d", rec.Code)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:19000": true, "127.0.0.2:1": true, "[::1]:19000": true, "localhost:19000": true,
		"[::ffff:127.0.0.1]:1": true,
		"0.0.0.0:19000":        false, ":19000": false, "[::]:19000": false, "192.0.2.2:19000": false,
		"serin.example:19000": false,
	} {
		got, err := IsLoopback(addr)
		if err != nil || got != want {
			t.Errorf("IsLoopback(%q) = %v, %v; want %v", addr, got, err, want)
		}
	}
	if _, err := IsLoopback("19000"); err == nil {
		t.Error("IsLoopback without a port: no error")
	}
}

func TestCheckDebugAddr(t *testing.T) {
	for _, ok := range []string{"", "127.0.0.1:6060", "[::1]:6060"} {
		if err := CheckDebugAddr(ok); err != nil {
			t.Errorf("CheckDebugAddr(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"0.0.0.0:6060", ":6060", "192.0.2.2:6060"} {
		if err := CheckDebugAddr(bad); err == nil {
			t.Errorf("CheckDebugAddr(%q): no error", bad)
		}
	}
}

func TestResolveToken(t *testing.T) {
	t.Run("loopback without token is open", func(t *testing.T) {
		tok, gen, err := ResolveToken("127.0.0.1:19000", "", "")
		if err != nil || tok != "" || gen != "" {
			t.Fatalf("= %q, %q, %v", tok, gen, err)
		}
	})
	t.Run("non-loopback without token or state dir refuses", func(t *testing.T) {
		for _, addr := range []string{"0.0.0.0:19000", ":19000", "192.0.2.2:19000"} {
			_, _, err := ResolveToken(addr, "", "")
			if err == nil || !strings.Contains(err.Error(), "--admin-token-file") {
				t.Errorf("%s: err = %v, want a refusal naming --admin-token-file", addr, err)
			}
		}
	})
	t.Run("token file wins", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "tok")
		os.WriteFile(f, []byte(" abc\n"), 0o600)
		tok, gen, err := ResolveToken("0.0.0.0:1", f, t.TempDir())
		if err != nil || tok != "abc" || gen != "" {
			t.Fatalf("= %q, %q, %v", tok, gen, err)
		}
		os.WriteFile(f, []byte("\n"), 0o600)
		if _, _, err := ResolveToken("127.0.0.1:1", f, ""); err == nil {
			t.Fatal("empty token file accepted")
		}
	})
	t.Run("non-loopback generates once into the state dir", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "state")
		tok, gen, err := ResolveToken("0.0.0.0:19000", "", dir)
		if err != nil || len(tok) != 64 || gen != filepath.Join(dir, TokenFileName) {
			t.Fatalf("= %q, %q, %v", tok, gen, err)
		}
		fi, err := os.Stat(gen)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("token file mode %v, %v; want 0600", fi.Mode().Perm(), err)
		}
		again, _, err := ResolveToken("0.0.0.0:19000", "", dir)
		if err != nil || again != tok {
			t.Fatalf("second start: %q, %v; want the same token", again, err)
		}
	})
}
