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
}

func (o *bootstrapOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.server, "xds-server", "127.0.0.1:18000", "serin's xDS address")
	f.StringVar(&o.nodeID, "node-id", "", "xDS node id (default serin-demo-<pid>)")
	f.StringVar(&o.cluster, "node-cluster", "default", "xDS node.cluster: the fleet whose configuration this client gets")
	f.StringVar(&o.zone, "zone", "local", "locality zone reported in load reports")
}

// bootstrapJSON renders a grpc-go xDS bootstrap pointing at serin.
func bootstrapJSON(o bootstrapOptions) ([]byte, error) {
	id := o.nodeID
	if id == "" {
		id = fmt.Sprintf("serin-demo-%d", os.Getpid())
	}
	b := map[string]any{
		"xds_servers": []any{map[string]any{
			"server_uri":      o.server,
			"channel_creds":   []any{map[string]any{"type": "insecure"}},
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
