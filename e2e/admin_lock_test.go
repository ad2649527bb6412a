package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nonLoopbackIP returns an IPv4 address of this machine that is not
// loopback and can be listened on, or "".
func nonLoopbackIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.To4() == nil || n.IP.IsLoopback() || !n.IP.IsGlobalUnicast() {
			continue
		}
		l, err := net.Listen("tcp", n.IP.String()+":0")
		if err != nil {
			continue
		}
		l.Close()
		return n.IP.String()
	}
	return ""
}

// TestAdminTokenOffLoopback: the real binary on a non-loopback admin
// address refuses to start without a token, generates one into
// --state-dir, and then refuses reads and a promote without it, whether
// by curl or by `serin canary`.
func TestAdminTokenOffLoopback(t *testing.T) {
	ip := nonLoopbackIP()
	if ip == "" {
		// Every address of the machine, loopback included: not a loopback
		// address to serve's check, and reachable here.
		ip = "0.0.0.0"
	}
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	admin := l.Addr().String()
	l.Close()
	xdsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	base := []string{serinBin, "serve", "--config-dir", "../examples/canary-rollout", "--xds-addr", xdsAddr, "--admin-addr", admin}

	// No token and nowhere to put one: serve does not start.
	out, err := exec.Command(base[0], base[1:]...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--admin-token-file") {
		t.Fatalf("serve on %s without a token: err %v, output %s; want a refusal", admin, err, tail(string(out), 2000))
	}

	state := t.TempDir()
	p := start(t, "serin", append(base, "--state-dir", state)...)
	waitFor(t, 20*time.Second, "serin ready (probes need no token)", func() bool {
		resp, err := http.Get("http://" + admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	tokenFile := filepath.Join(state, "admin-token")
	fi, err := os.Stat(tokenFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("generated token file: %v, mode %v; want 0600", err, fi)
	}
	if !strings.Contains(p.output(), tokenFile) {
		t.Errorf("serve did not log where the token is (%s)", tokenFile)
	}
	b, _ := os.ReadFile(tokenFile)
	token := strings.TrimSpace(string(b))

	call := func(method, path, auth string) (int, string) {
		req, _ := http.NewRequest(method, "http://"+admin+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	promote := "/api/v1/canaries/default/myapp/promote"
	for _, auth := range []string{"", token, "Bearer wrong", "Basic " + token} {
		for _, e := range [][2]string{{"POST", promote}, {"GET", "/api/v1/canaries"}, {"GET", "/api/v1/snapshot"}, {"GET", "/metrics"}} {
			if code, body := call(e[0], e[1], auth); code != http.StatusUnauthorized {
				t.Errorf("%s %s with Authorization %q: %d %s; want 401", e[0], e[1], auth, code, body)
			}
		}
	}
	if code, _ := call("GET", "/debug/pprof/cmdline", "Bearer "+token); code != http.StatusNotFound {
		t.Errorf("pprof on the admin port: %d, want 404", code)
	}
	if code, body := call("GET", "/api/v1/canaries", "Bearer "+token); code != http.StatusOK {
		t.Errorf("GET /api/v1/canaries with the token: %d %s", code, body)
	}

	// The CLI: refused without the token (and says which flag), through
	// with it.
	cli := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(serinBin, append([]string{"canary", "--admin-addr", admin}, args...)...)
		cmd.Env = append(os.Environ(), "SERIN_ADMIN_TOKEN=", "SERIN_ADMIN_TOKEN_FILE=")
		cmd.Env = append(cmd.Env, env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := cli(nil, "promote", "myapp"); err == nil || !strings.Contains(out, "--token-file") {
		t.Errorf("serin canary promote without a token: err %v, %s; want a 401 naming --token-file", err, out)
	}
	if out, err := cli(nil, "promote", "myapp", "--token-file", tokenFile); strings.Contains(out, "token") {
		t.Errorf("serin canary promote --token-file: err %v, %s; want past the token check", err, out)
	}
	if out, err := cli([]string{"SERIN_ADMIN_TOKEN_FILE=" + tokenFile}, "list"); err != nil {
		t.Errorf("serin canary list with SERIN_ADMIN_TOKEN_FILE: %v, %s", err, out)
	}
}
