package main

import (
	"errors"
	"log/slog"
	"net"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/serin-dev/serin/pkg/tlsfiles"
	"github.com/serin-dev/serin/xds"
)

// xdsTLSOptions are the flags that secure the xDS port (docs/security.md,
// "TLS and mTLS on xDS").
type xdsTLSOptions struct {
	cert, key, clientCA string
	fleetIdentities     []string
}

func addXDSTLSFlags(f *pflag.FlagSet, o *xdsTLSOptions) {
	f.StringVar(&o.cert, "xds-tls-cert", "", "PEM certificate (chain) served on --xds-addr; re-read when the file changes (default: plaintext)")
	f.StringVar(&o.key, "xds-tls-key", "", "PEM private key of --xds-tls-cert; re-read when the file changes")
	f.StringVar(&o.clientCA, "xds-client-ca", "", "PEM CA bundle: xDS clients must present a certificate it signed (mTLS); re-read when the file changes")
	f.StringArrayVar(&o.fleetIdentities, "fleet-identity", nil, "FLEET=PATTERN, repeatable: only clients whose certificate's URI SAN (else DNS SAN) matches the glob PATTERN read FLEET and report its load; once given, fleets without a rule (default included) are closed. Needs --xds-client-ca")
}

// xdsSecurity is what the flags make: gRPC server credentials, the
// reloader to run, and the fleet access rules.
type xdsSecurity struct {
	serverOpts []grpc.ServerOption
	reloader   *tlsfiles.Reloader // nil in plaintext
	access     *xds.FleetAccess   // nil: every node reads the fleet it names
}

func newXDSSecurity(o xdsTLSOptions, addr string, log *slog.Logger) (*xdsSecurity, error) {
	access, err := xds.ParseFleetAccess(o.fleetIdentities)
	if err != nil {
		return nil, err
	}
	switch {
	case (o.cert == "") != (o.key == ""):
		return nil, errors.New("--xds-tls-cert and --xds-tls-key go together")
	case o.clientCA != "" && o.cert == "":
		return nil, errors.New("--xds-client-ca needs --xds-tls-cert and --xds-tls-key")
	case access != nil && o.clientCA == "":
		return nil, errors.New("--fleet-identity needs --xds-client-ca: without client certificates no node has an identity")
	}
	sec := &xdsSecurity{access: access}
	if o.cert == "" {
		if !isLoopback(addr) {
			log.Warn("xDS is served in plaintext on a non-loopback address: anyone who reaches it reads any fleet's configuration and sends load reports; set --xds-tls-cert, --xds-tls-key and --xds-client-ca", "xds", addr)
		}
		return sec, nil
	}
	sec.reloader, err = tlsfiles.New(tlsfiles.Files{Cert: o.cert, Key: o.key, ClientCA: o.clientCA}, tlsfiles.WithLogger(log))
	if err != nil {
		return nil, err
	}
	sec.serverOpts = []grpc.ServerOption{grpc.Creds(credentials.NewTLS(sec.reloader.ServerConfig()))}
	switch {
	case o.clientCA == "":
		log.Warn("xDS over TLS without client certificates: any client reads any fleet; set --xds-client-ca and --fleet-identity", "xds", addr)
	case access == nil:
		log.Warn("xDS over mTLS without --fleet-identity: any client with a certificate from --xds-client-ca reads any fleet it names", "xds", addr)
	}
	return sec, nil
}

// isLoopback says whether addr (host:port) listens only on loopback. An
// empty host listens everywhere.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
