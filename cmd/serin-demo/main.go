// Command serin-demo runs the pieces of serin's local demo and end-to-end
// tests: gRPC backends that say which version answered, and a proxyless gRPC
// client that dials xds:///<name> through serin and prints the live split.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "serin-demo",
		Short:         "Demo gRPC backends and a proxyless xDS client for serin",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newBackendCmd(), newClientCmd(), newBootstrapCmd())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "serin-demo:", err)
		os.Exit(1)
	}
}
