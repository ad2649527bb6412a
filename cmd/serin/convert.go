package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/serin-dev/serin/pkg/source/file"
)

func init() { register(newConvertCmd) }

func newConvertCmd(a *app) *cobra.Command {
	var limits file.Limits
	cmd := &cobra.Command{
		Use:   "convert FILE",
		Short: "Print Gloo Edge YAML as serin YAML",
		Long: `convert reads Gloo Edge objects (gloo.solo.io/v1 Upstream and UpstreamGroup,
gateway.solo.io/v1 VirtualService) or serin's own, and prints them as
serin.dev/v1alpha1 YAML: status and cluster-assigned metadata are dropped,
the rest is kept as written. FILE "-" reads standard input. Objects that do
not decode are reported on stderr and the exit status is 1.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			var data []byte
			var err error
			if name == "-" {
				name = "<stdin>"
				data, err = limits.ReadAll(name, cmd.InOrStdin())
			} else {
				data, err = limits.ReadFile(name)
			}
			if err != nil {
				return fmt.Errorf("convert: %w", err)
			}
			out, errs := limits.Convert(name, data)
			if _, err := a.stdout.Write(out); err != nil {
				return fmt.Errorf("convert: %w", err)
			}
			for _, e := range errs {
				fmt.Fprintln(a.stderr, e)
			}
			if len(errs) > 0 {
				return &exitError{code: 1, err: fmt.Errorf("convert: %d object(s) could not be converted", len(errs))}
			}
			return nil
		},
	}
	addLimitFlags(cmd.Flags(), &limits)
	return cmd
}
