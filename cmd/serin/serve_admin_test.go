package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRefusesOpenNonLoopbackAdmin: the serve code path's address
// check, before anything listens. 0.0.0.0 without --admin-token-file or
// --state-dir does not start; --debug-addr must be loopback.
func TestServeRefusesOpenNonLoopbackAdmin(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--admin-addr", "0.0.0.0:0"}, "--admin-token-file"},
		{[]string{"--admin-addr", ":0"}, "--admin-token-file"},
		{[]string{"--debug-addr", "0.0.0.0:0"}, "--debug-addr"},
	} {
		args := append([]string{"serve", "--config-dir", "../../examples/canary", "--xds-addr", "127.0.0.1:0"}, tc.args...)
		code, _, errOut := serin(t, args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("serin %q: exit %d, stderr %q; want a refusal naming %s", tc.args, code, errOut, tc.want)
		}
	}
}

// TestCanaryCLIToken: the CLI sends "Bearer <token>" from --token-file,
// SERIN_ADMIN_TOKEN_FILE or SERIN_ADMIN_TOKEN, on reads as well as
// writes, and a 401 names --token-file.
func TestCanaryCLIToken(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Write([]byte("[]"))
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "token")
	os.WriteFile(file, []byte("tok\n"), 0o600)

	t.Setenv(envTokenFile, "")
	t.Setenv(envToken, "")
	code, _, errOut := serin(t, "canary", "list", "--admin-addr", srv.URL)
	if code == 0 || !strings.Contains(errOut, "--token-file") {
		t.Fatalf("no token: exit %d, stderr %q; want a 401 naming --token-file", code, errOut)
	}
	if code, _, errOut := serin(t, "canary", "list", "--admin-addr", srv.URL, "--token-file", file); code != 0 {
		t.Fatalf("--token-file: exit %d, %s", code, errOut)
	}
	t.Setenv(envTokenFile, file)
	if code, _, errOut := serin(t, "canary", "list", "--admin-addr", srv.URL); code != 0 {
		t.Fatalf("%s: exit %d, %s", envTokenFile, code, errOut)
	}
	t.Setenv(envTokenFile, "")
	t.Setenv(envToken, "tok")
	if code, _, errOut := serin(t, "canary", "list", "--admin-addr", srv.URL); code != 0 {
		t.Fatalf("%s: exit %d, %s", envToken, code, errOut)
	}
	t.Setenv(envToken, "wrong")
	code, _, errOut = serin(t, "canary", "promote", "x", "--admin-addr", srv.URL)
	if code == 0 || !strings.Contains(errOut, "refused the token") {
		t.Fatalf("wrong token: exit %d, stderr %q", code, errOut)
	}
	want := []string{"", "Bearer tok", "Bearer tok", "Bearer tok", "Bearer wrong"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Authorization headers %q, want %q", got, want)
	}
}
