package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/source/file"
	"github.com/serin-dev/serin/translator"
)

func init() { register(newLintCmd) }

func newLintCmd(a *app) *cobra.Command {
	var allowWarnings bool
	var limits file.Limits
	cmd := &cobra.Command{
		Use:   "lint DIR|FILE...",
		Short: "Check configuration files and report every problem",
		Long: `lint decodes the files (directories are read as "serin serve" reads them),
validates every object and translates the whole set, then prints one line
per problem:

  file:line: Kind namespace/name: field: message

The line is the offending field's where it is known. lint exits with status
1 when there is any problem, 0 (with a short summary) otherwise.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := loadConfig(limits, args)
			if err != nil {
				return fmt.Errorf("lint: %w", err)
			}
			ps, err := c.lint()
			if err != nil {
				return fmt.Errorf("lint: %w", err)
			}
			failed := false
			for _, p := range ps {
				fmt.Fprintln(a.stdout, p)
				failed = failed || p.rejected || !allowWarnings
			}
			if failed {
				return &exitError{code: 1, err: fmt.Errorf("%d problem(s) found", len(ps))}
			}
			files := map[string]bool{}
			for _, o := range c.objs {
				files[o.Origin.File] = true
			}
			summary := fmt.Sprintf("OK: %d object(s) in %d file(s)", len(c.objs), len(files))
			if k := kindCounts(c.objs); k != "" {
				summary += " (" + k + ")"
			}
			if len(ps) > 0 {
				summary += fmt.Sprintf(", %d warning(s)", len(ps))
			}
			fmt.Fprintln(a.stdout, summary)
			return nil
		},
	}
	addLimitFlags(cmd.Flags(), &limits)
	cmd.Flags().BoolVar(&allowWarnings, "allow-warnings", false, "exit 0 when there are only warnings (no decode errors or rejections)")
	return cmd
}

// lint collects decode errors, Validate's errors and the translator's
// problems, located and sorted.
func (c *config) lint() ([]problem, error) {
	var ps []problem
	for _, e := range c.errs {
		ps = append(ps, problem{file: e.File, line: e.Line, text: e.Message, rejected: true})
	}
	for _, o := range c.objs {
		ref := ident.Ref{Kind: o.Kind, Namespace: o.Key.Namespace, Name: o.Key.Name}
		v, ok := o.Obj.(interface{ Validate() field.ErrorList })
		if !ok {
			continue
		}
		for _, e := range v.Validate() {
			msg := e.ErrorBody()
			if msg == "" {
				msg = e.Detail
			}
			ps = append(ps, c.objectProblem(ref, e.Field, msg, true))
		}
	}
	out, err := c.translate(translator.Options{})
	if err != nil {
		return nil, err
	}
	for _, r := range out.Reports {
		for _, p := range r.Problems {
			ps = append(ps, c.objectProblem(r.Ref, p.Field, p.Message, p.Severity == v1alpha1.StateRejected))
		}
	}
	return sortProblems(ps), nil
}
