// Package tlsfiles serves TLS from certificate files that are rotated in
// place: a server certificate and key, and optionally a client CA bundle
// that makes the client certificate mandatory (mTLS). The files are re-read
// when they change, so cert-manager, SPIRE or a Kubernetes Secret volume can
// rotate them without a restart.
package tlsfiles

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
)

// DefaultPollInterval is how often the files are checked for a change.
// Certificates are rotated hours or days before they expire, so seconds of
// delay cost nothing, and three stat calls every 5 s cost nothing either.
// Polling (rather than fsnotify) also sees Kubernetes Secret volumes, which
// swap a symlink to a new directory instead of writing the files.
const DefaultPollInterval = 5 * time.Second

// Files names the PEM files to serve with.
type Files struct {
	Cert, Key string // server certificate (chain) and private key
	ClientCA  string // CA bundle client certificates must chain to; "" = no client certificate asked
}

// loaded is one consistent read of the files.
type loaded struct {
	cert    *tls.Certificate
	clients *x509.CertPool
	stamp   string // size and mtime of every file, to see a change
}

// Reloader holds the current certificate and client CAs and swaps them
// atomically when the files change.
type Reloader struct {
	files    Files
	log      *slog.Logger
	interval time.Duration
	cur      atomic.Pointer[loaded]
}

// Option configures a Reloader.
type Option func(*Reloader)

// WithLogger sets the logger for reloads and failed reloads.
func WithLogger(l *slog.Logger) Option { return func(r *Reloader) { r.log = l } }

// WithPollInterval sets how often Run checks the files.
func WithPollInterval(d time.Duration) Option { return func(r *Reloader) { r.interval = d } }

// New loads the files; an error here is a configuration error to report at
// start. Call Run to follow changes.
func New(f Files, opts ...Option) (*Reloader, error) {
	if f.Cert == "" || f.Key == "" {
		return nil, errors.New("a TLS certificate needs both a certificate file and a key file")
	}
	r := &Reloader{files: f, log: slog.Default(), interval: DefaultPollInterval}
	for _, o := range opts {
		o(r)
	}
	l, err := r.load()
	if err != nil {
		return nil, err
	}
	r.cur.Store(l)
	return r, nil
}

// stamp summarizes the files' sizes and modification times. os.Stat
// follows symlinks, so a Secret volume's symlink swap changes it.
func (r *Reloader) stamp() (string, error) {
	s := ""
	for _, p := range []string{r.files.Cert, r.files.Key, r.files.ClientCA} {
		if p == "" {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		s += fmt.Sprintf("%s:%d:%d;", p, fi.Size(), fi.ModTime().UnixNano())
	}
	return s, nil
}

func (r *Reloader) load() (*loaded, error) {
	stamp, err := r.stamp()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(r.files.Cert, r.files.Key)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s, key %s: %w", r.files.Cert, r.files.Key, err)
	}
	l := &loaded{cert: &cert, stamp: stamp}
	if r.files.ClientCA != "" {
		pem, err := os.ReadFile(r.files.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("client CA: %w", err)
		}
		l.clients = x509.NewCertPool()
		if !l.clients.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client CA %s: no PEM certificate in it", r.files.ClientCA)
		}
	}
	return l, nil
}

// Reload re-reads the files if they changed. A failed read keeps the
// current pair: a rotation that writes the certificate and the key one
// after the other is caught half-way, and the next poll sees both.
func (r *Reloader) Reload() (changed bool, err error) {
	stamp, err := r.stamp()
	if err != nil {
		return false, err
	}
	if stamp == r.cur.Load().stamp {
		return false, nil
	}
	l, err := r.load()
	if err != nil {
		return false, err
	}
	r.cur.Store(l)
	return true, nil
}

// Run polls the files until ctx ends.
func (r *Reloader) Run(ctx context.Context) error {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		changed, err := r.Reload()
		switch {
		case err != nil:
			r.log.Warn("TLS files not reloaded, keeping the current certificate", "err", err)
		case changed:
			r.log.Info("TLS files reloaded", "cert", r.files.Cert, "notAfter", r.cur.Load().cert.Leaf.NotAfter)
		}
	}
}

// ServerConfig returns a server tls.Config that picks the current
// certificate and client CAs at every handshake. With a client CA the
// client must present a certificate that chains to it.
func (r *Reloader) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// gRPC needs ALPN h2 (grpc-go clients refuse a connection without
		// it); the per-handshake config replaces this one entirely.
		NextProtos: []string{"h2"},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			l := r.cur.Load()
			c := &tls.Config{
				MinVersion:   tls.VersionTLS12,
				NextProtos:   []string{"h2"},
				Certificates: []tls.Certificate{*l.cert},
			}
			if l.clients != nil {
				c.ClientCAs = l.clients
				c.ClientAuth = tls.RequireAndVerifyClientCert
			}
			return c, nil
		},
	}
}

// Identities returns who a verified client certificate names: its URI SANs
// (SPIFFE IDs) if it has any, else its DNS SANs.
func Identities(cert *x509.Certificate) []string {
	var out []string
	for _, u := range cert.URIs {
		out = append(out, u.String())
	}
	if len(out) > 0 {
		return out
	}
	return append(out, cert.DNSNames...)
}
