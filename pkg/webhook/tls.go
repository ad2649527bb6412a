package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Serve serves h over TLS on addr until ctx ends. The certificate and key
// are re-read when their files change, so a rotated certificate (from
// cert-manager, or a re-rendered Secret) is picked up without a restart.
func Serve(ctx context.Context, addr, certFile, keyFile string, h http.Handler) error {
	kp := &KeyPair{cert: certFile, key: keyFile}
	if _, err := kp.get(nil); err != nil {
		return err
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("webhook listen %s: %w", addr, err)
	}
	return ServeListener(ctx, lis, kp, h)
}

// ServeListener is Serve on an open listener (tests use 127.0.0.1:0).
func ServeListener(ctx context.Context, lis net.Listener, kp *KeyPair, h http.Handler) error {
	mux := http.NewServeMux()
	mux.Handle("/validate", h)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: kp.get},
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.ServeTLS(lis, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("webhook: %w", err)
	}
	return nil
}

// NewKeyPair returns a certificate source for ServeListener.
func NewKeyPair(certFile, keyFile string) (*KeyPair, error) {
	kp := &KeyPair{cert: certFile, key: keyFile}
	if _, err := kp.get(nil); err != nil {
		return nil, err
	}
	return kp, nil
}

// KeyPair loads a certificate, reloading it when either file's
// modification time changes.
type KeyPair struct {
	cert, key string

	mu      sync.Mutex
	loaded  *tls.Certificate
	modCert time.Time
	modKey  time.Time
	checked time.Time
}

// recheck bounds how often the files are stat'ed: at most once a second.
const recheck = time.Second

func (k *KeyPair) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.loaded != nil && time.Since(k.checked) < recheck {
		return k.loaded, nil
	}
	k.checked = time.Now()
	ci, err1 := os.Stat(k.cert)
	ki, err2 := os.Stat(k.key)
	if err := errors.Join(err1, err2); err != nil {
		if k.loaded != nil {
			return k.loaded, nil // keep serving the last good pair
		}
		return nil, fmt.Errorf("webhook certificate: %w", err)
	}
	if k.loaded != nil && ci.ModTime().Equal(k.modCert) && ki.ModTime().Equal(k.modKey) {
		return k.loaded, nil
	}
	c, err := tls.LoadX509KeyPair(k.cert, k.key)
	if err != nil {
		if k.loaded != nil {
			return k.loaded, nil
		}
		return nil, fmt.Errorf("webhook certificate: %w", err)
	}
	k.loaded, k.modCert, k.modKey = &c, ci.ModTime(), ki.ModTime()
	return k.loaded, nil
}
