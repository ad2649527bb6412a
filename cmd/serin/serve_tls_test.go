package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/serin-dev/serin/pkg/tlsfiles/tlstest"
)

func TestXDSSecurityFlags(t *testing.T) {
	ca := tlstest.NewCA(t, "test")
	srv := ca.Server(t, "serin")
	for _, tc := range []struct {
		name    string
		o       xdsTLSOptions
		addr    string
		wantErr string
		warn    string
	}{
		{"plaintext on loopback", xdsTLSOptions{}, "127.0.0.1:18000", "", ""},
		{"plaintext on localhost", xdsTLSOptions{}, "localhost:18000", "", ""},
		{"plaintext everywhere", xdsTLSOptions{}, ":18000", "", "plaintext"},
		{"plaintext on a pod IP", xdsTLSOptions{}, "10.0.0.5:18000", "", "plaintext"},
		{"cert without key", xdsTLSOptions{cert: srv.Cert}, ":18000", "go together", ""},
		{"client CA without cert", xdsTLSOptions{clientCA: ca.File}, ":18000", "needs --xds-tls-cert", ""},
		{"rules without client CA", xdsTLSOptions{cert: srv.Cert, key: srv.Key, fleetIdentities: []string{"edge=*"}}, ":18000", "needs --xds-client-ca", ""},
		{"bad rule", xdsTLSOptions{fleetIdentities: []string{"edge"}}, ":18000", "FLEET=PATTERN", ""},
		{"TLS only", xdsTLSOptions{cert: srv.Cert, key: srv.Key}, ":18000", "", "without client certificates"},
		{"mTLS without rules", xdsTLSOptions{cert: srv.Cert, key: srv.Key, clientCA: ca.File}, ":18000", "", "without --fleet-identity"},
		{"mTLS with rules", xdsTLSOptions{cert: srv.Cert, key: srv.Key, clientCA: ca.File, fleetIdentities: []string{"edge=spiffe://x/*"}}, ":18000", "", ""},
	} {
		var logs bytes.Buffer
		sec, err := newXDSSecurity(tc.o, tc.addr, slog.New(slog.NewTextHandler(&logs, nil)))
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if tc.warn == "" && logs.Len() > 0 || tc.warn != "" && !strings.Contains(logs.String(), tc.warn) {
			t.Errorf("%s: logged %q, want %q", tc.name, logs.String(), tc.warn)
		}
		if (tc.o.cert != "") != (sec.reloader != nil) {
			t.Errorf("%s: reloader %v", tc.name, sec.reloader)
		}
	}
}
