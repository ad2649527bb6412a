package admin

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// TokenFileName is the file under --state-dir where serve keeps the token
// it generated.
const TokenFileName = "admin-token"

// IsLoopback reports whether a listen address (host:port) accepts only
// connections from this host: a loopback IP or "localhost". An empty host
// or 0.0.0.0 listens on every interface; any other name may resolve to
// anything later, so it counts as not loopback.
func IsLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false, nil
	}
	return ip.Unmap().IsLoopback(), nil
}

// CheckDebugAddr refuses a pprof address that is not loopback: profiles
// cost seconds of CPU and carry the command line, and pprof has no
// authentication of its own.
func CheckDebugAddr(addr string) error {
	if addr == "" {
		return nil
	}
	ok, err := IsLoopback(addr)
	if err != nil {
		return fmt.Errorf("--debug-addr %q: %w", addr, err)
	}
	if !ok {
		return fmt.Errorf("--debug-addr %s is not a loopback address: pprof has no authentication; use 127.0.0.1:PORT (and kubectl port-forward or ssh -L to reach it)", addr)
	}
	return nil
}

// ResolveToken decides the admin API's token at start:
//   - tokenFile set: its content (trimmed, not empty);
//   - addr loopback: none, the API is open to this host only;
//   - stateDir set: the token in stateDir/admin-token, generated (32
//     random bytes, hex, mode 0600) on the first start and kept after;
//   - otherwise an error: a non-loopback admin API never runs open.
//
// generated is the file's path when the token came from stateDir, so that
// serve can log where it is.
func ResolveToken(addr, tokenFile, stateDir string) (token, generated string, err error) {
	if tokenFile != "" {
		t, err := ReadToken(tokenFile)
		if err != nil {
			return "", "", fmt.Errorf("--admin-token-file: %w", err)
		}
		return t, "", nil
	}
	loop, err := IsLoopback(addr)
	if err != nil {
		return "", "", fmt.Errorf("--admin-addr %q: %w", addr, err)
	}
	if loop {
		return "", "", nil
	}
	if stateDir == "" {
		return "", "", fmt.Errorf("--admin-addr %s is not a loopback address, so the admin API needs a token: set --admin-token-file, or --state-dir to have one generated there", addr)
	}
	path := filepath.Join(stateDir, TokenFileName)
	t, err := ReadToken(path)
	if err == nil {
		return t, path, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", "", err
	}
	if t, err = generateToken(path); err != nil {
		return "", "", fmt.Errorf("generate the admin token: %w", err)
	}
	return t, path, nil
}

// ReadToken reads a token file; an empty one is an error, not "no token".
func ReadToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return t, nil
}

func generateToken(path string) (string, error) {
	var b [32]byte // 256 bits: not guessable over HTTP in any lifetime
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	t := hex.EncodeToString(b[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	// O_EXCL: two replicas sharing a state dir never overwrite each
	// other's token; the loser of the race reads the winner's.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return ReadToken(path)
	}
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(t + "\n"); err != nil {
		f.Close()
		return "", err
	}
	return t, f.Close()
}
