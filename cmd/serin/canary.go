package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/serin-dev/serin/pkg/canary"
)

func init() { register(newCanaryCmd) }

// canaryClient talks to a running serin's admin API.
type canaryClient struct {
	addr      string
	tokenFile string
	namespace string
	asJSON    bool
	http      *http.Client
}

func newCanaryCmd(a *app) *cobra.Command {
	c := &canaryClient{http: &http.Client{Timeout: 20 * time.Second}}
	cmd := &cobra.Command{
		Use:   "canary",
		Short: "Follow and steer canary releases through a running serin's admin API",
		Long: `Follow and steer canary releases through a running serin's admin API.

NAME is a Canary's name (in --namespace) or NAMESPACE/NAME. Every command
sends the admin token when it finds one: --token-file, else the file named
by SERIN_ADMIN_TOKEN_FILE, else SERIN_ADMIN_TOKEN itself. serve requires it
on any non-loopback --admin-addr.`,
	}
	f := cmd.PersistentFlags()
	f.StringVar(&c.addr, "admin-addr", "127.0.0.1:19000", "admin address of the serin to talk to")
	f.StringVar(&c.tokenFile, "token-file", "", "file holding the admin bearer token (default: $"+envTokenFile+", else $"+envToken+")")
	f.StringVarP(&c.namespace, "namespace", "n", "default", "namespace of NAME")
	f.BoolVar(&c.asJSON, "json", false, "print the API's JSON instead of text")

	cmd.AddCommand(&cobra.Command{
		Use: "list", Short: "List canaries with their phase, step and weight", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list []canary.View
			if err := c.get(cmd.Context(), "/api/v1/canaries", &list); err != nil {
				return err
			}
			if c.asJSON {
				return printJSON(a.stdout, list)
			}
			renderList(a.stdout, list, time.Now())
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use: "status NAME", Short: "Show a canary's step, weight, live numbers against its limits, and last decisions", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := c.view(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if c.asJSON {
				return printJSON(a.stdout, v)
			}
			renderStatus(a.stdout, v, time.Now())
			return nil
		},
	})
	var every time.Duration
	watch := &cobra.Command{
		Use: "watch NAME", Short: "Show a canary's status, refreshed in place until it ends or Ctrl-C", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.watch(cmd.Context(), a.stdout, args[0], every)
		},
	}
	watch.Flags().DurationVar(&every, "interval", time.Second, "refresh interval")
	cmd.AddCommand(watch)
	cmd.AddCommand(&cobra.Command{
		Use: "history NAME", Short: "Show every release of a canary: spec at start, decisions, outcome", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, name := c.split(args[0])
			var list []canary.Release
			if err := c.get(cmd.Context(), "/api/v1/canaries/"+ns+"/"+name+"/history", &list); err != nil {
				return err
			}
			if c.asJSON {
				return printJSON(a.stdout, list)
			}
			renderHistory(a.stdout, ns+"/"+name, list)
			return nil
		},
	})
	ops := []struct {
		op    canary.Operation
		short string
	}{
		{canary.OpPromote, "Promote to the next step now (--full: to 100%)"},
		{canary.OpPause, "Pause the rollout at its current weights"},
		{canary.OpResume, "Resume a paused rollout (its step's window starts again)"},
		{canary.OpAbort, "Abort: roll back to the stable at 100%"},
		{canary.OpRetry, "Retry a rolled-back or failed release from the start"},
		{canary.OpUndo, "Undo a finished release: the stable gets 100% again (phase RolledBack)"},
	}
	for _, o := range ops {
		var full bool
		sub := &cobra.Command{
			Use: string(o.op) + " NAME", Short: o.short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				v, err := c.do(cmd.Context(), args[0], o.op, full)
				if err != nil {
					return err
				}
				if c.asJSON {
					return printJSON(a.stdout, v)
				}
				fmt.Fprintf(a.stdout, "%s/%s: %s, step %d, weight %d%%\n", v.Namespace, v.Name, v.Phase, v.Step, v.Weight)
				return nil
			},
		}
		if o.op == canary.OpPromote {
			sub.Flags().BoolVar(&full, "full", false, "promote to 100% at once")
		}
		cmd.AddCommand(sub)
	}
	return cmd
}

func (c *canaryClient) split(arg string) (string, string) {
	if ns, name, ok := strings.Cut(arg, "/"); ok {
		return ns, name
	}
	return c.namespace, arg
}

func (c *canaryClient) view(ctx context.Context, arg string) (canary.View, error) {
	ns, name := c.split(arg)
	var v canary.View
	err := c.get(ctx, "/api/v1/canaries/"+ns+"/"+name, &v)
	return v, err
}

func (c *canaryClient) url(path string) string {
	if strings.HasPrefix(c.addr, "http://") || strings.HasPrefix(c.addr, "https://") {
		return strings.TrimSuffix(c.addr, "/") + path
	}
	return "http://" + c.addr + path
}

func (c *canaryClient) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(path), nil)
	if err != nil {
		return err
	}
	return c.send(req, v)
}

func (c *canaryClient) do(ctx context.Context, arg string, o canary.Operation, full bool) (canary.View, error) {
	ns, name := c.split(arg)
	path := "/api/v1/canaries/" + ns + "/" + name + "/" + string(o)
	if full {
		path += "?full=true"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url(path), nil)
	if err != nil {
		return canary.View{}, err
	}
	var v canary.View
	err = c.send(req, &v)
	return v, err
}

// Where the CLI finds the admin token when --token-file is not given.
const (
	envTokenFile = "SERIN_ADMIN_TOKEN_FILE"
	envToken     = "SERIN_ADMIN_TOKEN"
)

// token finds the admin token: --token-file, $SERIN_ADMIN_TOKEN_FILE,
// $SERIN_ADMIN_TOKEN; "" when none is set (a loopback serve needs none).
func (c *canaryClient) token() (string, error) {
	from, path := "--token-file", c.tokenFile
	if path == "" {
		from, path = envTokenFile, os.Getenv(envTokenFile)
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("%s: %w", from, err)
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", fmt.Errorf("%s: %s is empty", from, path)
		}
		return t, nil
	}
	return strings.TrimSpace(os.Getenv(envToken)), nil
}

func (c *canaryClient) send(req *http.Request, v any) error {
	tok, err := c.token()
	if err != nil {
		return err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("admin API at %s: %w (is serin serving there? see --admin-addr)", c.addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusUnauthorized {
		if tok == "" {
			return fmt.Errorf("%s %s: the admin API at %s requires a token: pass --token-file (or set %s or %s)", req.Method, req.URL.Path, c.addr, envTokenFile, envToken)
		}
		return fmt.Errorf("%s %s: the admin API at %s refused the token: check --token-file (or %s, %s) against serve's --admin-token-file", req.Method, req.URL.Path, c.addr, envTokenFile, envToken)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(body))
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, msg)
	}
	return json.Unmarshal(body, v)
}

// watch redraws the status in place on a terminal (and appends a block
// per refresh otherwise) until ctx is done: it keeps watching after a
// release ends, for the next one.
func (c *canaryClient) watch(ctx context.Context, w io.Writer, arg string, every time.Duration) error {
	tty := isTerminal(w)
	t := time.NewTicker(max(every, 100*time.Millisecond))
	defer t.Stop()
	for {
		v, err := c.view(ctx, arg)
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil
		}
		if tty {
			fmt.Fprint(w, "\x1b[H\x1b[2J") // home, clear: redraw in place
		}
		if err != nil {
			fmt.Fprintf(w, "%s  %v\n", time.Now().Format("15:04:05"), err)
		} else {
			renderStatus(w, v, time.Now())
			if !tty {
				fmt.Fprintln(w, strings.Repeat("-", 72))
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
