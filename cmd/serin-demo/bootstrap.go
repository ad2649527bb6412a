package main

import (
	"encoding/json"
	"fmt"
	"os"
	"syscall"

	"github.com/spf13/cobra"
)

// bootstrapEnv is where grpc-go reads its xDS bootstrap from. grpc-go reads
// it once, when its packages initialize, so a process that wants to set it
// for itself has to re-execute.
const bootstrapEnv = "GRPC_XDS_BOOTSTRAP_CONFIG"

type bootstrapOptions struct {
	server  string
	nodeID  string
	cluster string
	zone    string
	// TLS channel credentials (gRFC A65): all three for mTLS, the CA
	// alone for TLS without a client certificate.
	tlsCA, tlsCert, tlsKey string
}

func (o *bootstrapOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.server, "xds-server", "127.0.0.1:18000", "serin's xDS address")
	f.StringVar(&o.nodeID, "node-id", "", "xDS node id (default serin-demo-<pid>)")
	f.StringVar(&o.cluster, "node-cluster", "default", "xDS node.cluster: the fleet whose configuration this client gets")
	f.StringVar(&o.zone, "zone", "local", "locality zone reported in load reports")
	f.StringVar(&o.tlsCA, "xds-tls-ca", "", "CA of serin's xDS server certificate: connect with TLS (gRFC A65 channel credentials)")
	f.StringVar(&o.tlsCert, "xds-tls-cert", "", "client certificate for mTLS (with --xds-tls-key and --xds-tls-ca)")
	f.StringVar(&o.tlsKey, "xds-tls-key", "", "private key of --xds-tls-cert")
}

// bootstrapJSON renders a grpc-go xDS bootstrap pointing at serin.
func bootstrapJSON(o bootstrapOptions) ([]byte, error) {
	id := o.nodeID
	if id == "" {
		id = fmt.Sprintf("serin-demo-%d", os.Getpid())
	}
	creds := map[string]any{"type": "insecure"}
	switch {
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return nil, fmt.Errorf("--xds-tls-cert and --xds-tls-key go together")
	case o.tlsCert != "" && o.tlsCA == "":
		return nil, fmt.Errorf("--xds-tls-cert needs --xds-tls-ca (the CA of serin's certificate)")
	case o.tlsCA != "":
		cfg := map[string]any{"ca_certificate_file": o.tlsCA, "refresh_interval": "600s"}
		if o.tlsCert != "" {
			cfg["certificate_file"], cfg["private_key_file"] = o.tlsCert, o.tlsKey
		}
		creds = map[string]any{"type": "tls", "config": cfg}
	}
	b := map[string]any{
		"xds_servers": []any{map[string]any{
			"server_uri":      o.server,
			"channel_creds":   []any{creds},
			"server_features": []string{"xds_v3"},
		}},
		"node": map[string]any{
			"id":       id,
			"cluster":  o.cluster,
			"locality": map[string]any{"zone": o.zone},
		},
	}
	return json.MarshalIndent(b, "", "  ")
}

// ensureBootstrap re-executes the process with GRPC_XDS_BOOTSTRAP_CONFIG set
// when it is not set yet. It returns only when the variable is set.
func ensureBootstrap(o bootstrapOptions) error {
	if os.Getenv(bootstrapEnv) != "" || os.Getenv("GRPC_XDS_BOOTSTRAP") != "" {
		return nil
	}
	b, err := bootstrapJSON(o)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable to re-exec with %s: %w", bootstrapEnv, err)
	}
	env := append(os.Environ(), bootstrapEnv+"="+string(b))
	return syscall.Exec(exe, os.Args, env)
}

func newBootstrapCmd() *cobra.Command {
	o := bootstrapOptions{}
	cmd := &cobra.Command{
		Use:   "bootstrap",
		Short: "Print a grpc-go xDS bootstrap that points at serin",
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := bootstrapJSON(o)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return err
		},
	}
	o.addFlags(cmd)
	return cmd
}
