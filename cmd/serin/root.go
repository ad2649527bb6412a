package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// Adding a command is one new file: define a constructor that returns the
// *cobra.Command and register it from the file's init:
//
//	func init() { register(newServeCmd) }
//	func newServeCmd(a *app) *cobra.Command { ... }
//
// Commands print results to a.stdout, and log (log/slog) through a.log,
// which writes to stderr at the level of --log-level.
var commands []func(a *app) *cobra.Command

func register(newCmd func(a *app) *cobra.Command) { commands = append(commands, newCmd) }

// app is what every command shares: its output streams and its logger.
type app struct {
	stdout, stderr io.Writer
	log            *slog.Logger

	logLevel  string
	logFormat string
}

// exitError ends the program with a status code. A nil err means that the
// command has already said everything (lint's problem lines).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// newRootCmd builds the command tree around the given output streams.
func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "serin",
		Short: "serin is an Envoy xDS control plane for canary releases",
		Long: `serin serves Envoy and proxyless gRPC clients over xDS from Upstreams,
UpstreamGroups, VirtualServices and Gateways (Gloo Edge's field names), and
walks canary releases from 1% to 100% on the numbers the data plane reports.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			l, err := newLogger(a.stderr, a.logLevel, a.logFormat)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			a.log = l
			slog.SetDefault(l)
			return nil
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", "text", "log format: text or json")
	for _, newCmd := range commands {
		root.AddCommand(newCmd(a))
	}
	return root
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// run executes the command line and returns the process exit status: 0 on
// success, 1 when the command failed (or lint found problems), 2 for usage
// errors.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "serin: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "serin: %v\n", err)
	if isUsageError(err) {
		fmt.Fprintln(stderr, "Run 'serin --help' for usage.")
		return 2
	}
	return 1
}

// isUsageError recognizes cobra's errors about the command line itself.
func isUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "requires at most"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, " "+p) {
			return true
		}
	}
	return false
}
