package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"

	"github.com/serin-dev/serin/pkg/source/file"
	"github.com/serin-dev/serin/pkg/store"
	"github.com/serin-dev/serin/translator"
)

func init() { register(newTranslateCmd) }

func newTranslateCmd(a *app) *cobra.Command {
	var output, fleet string
	var opts translator.Options
	var limits file.Limits
	cmd := &cobra.Command{
		Use:   "translate DIR|FILE...",
		Short: "Print the Envoy resources that serve would send, per fleet",
		Long: `translate reads the configuration as "serin serve" does and prints the Envoy
v3 resources of every fleet (clusters, endpoints, listeners, API listeners
and routes) in protobuf's JSON mapping, as YAML or JSON.

With -o ir it prints instead the translator's intermediate representation
(IR) as YAML: per fleet the listeners, virtual hosts and clusters with every
reference resolved and every default applied, before they become Envoy
resources. See docs/architecture.md.

Problems (rejected objects, warnings) are logged to stderr; the resources
printed are what would be served despite them. The exit status is 1 when a
file failed to decode.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "yaml" && output != "json" && output != "ir" {
				return &exitError{code: 2, err: fmt.Errorf("translate: -o %q: want yaml, json or ir", output)}
			}
			c, err := loadConfig(limits, args)
			if err != nil {
				return fmt.Errorf("translate: %w", err)
			}
			ir, reports, err := c.buildIR(opts)
			if err != nil {
				return fmt.Errorf("translate: %w", err)
			}
			for _, r := range reports {
				for _, p := range r.Problems {
					a.log.Warn(c.objectProblem(r.Ref, p.Field, p.Message, false).String(), "severity", p.Severity)
				}
			}
			if output == "ir" {
				err = writeIR(a, ir, fleet)
			} else {
				// Translate is BuildIR then Emit.
				out := &translator.Output{Fleets: translator.Emit(ir), Reports: reports}
				var doc []byte
				if doc, err = fleetsDocument(out, fleet); err == nil {
					err = writeDocument(a.stdout, doc, output)
				}
			}
			if err != nil {
				return fmt.Errorf("translate: %w", err)
			}
			if len(c.errs) > 0 {
				for _, e := range c.errs {
					a.log.Error(e.Error())
				}
				return &exitError{code: 1, err: fmt.Errorf("translate: %d file error(s); their objects are left out", len(c.errs))}
			}
			return nil
		},
	}
	addLimitFlags(cmd.Flags(), &limits)
	cmd.Flags().StringVarP(&output, "output", "o", "yaml", "output format: yaml or json (Envoy resources), or ir (the translator's IR as YAML)")
	cmd.Flags().StringVar(&fleet, "fleet", "", "print only this fleet")
	cmd.Flags().BoolVar(&opts.LoadReporting, "load-reporting", false, "translate as serve --load-reporting would (lrs_server on clusters)")
	return cmd
}

// buildIR is config.translate stopped at the IR: the objects go through a
// store, as in serve, then translator.BuildIR.
func (c *config) buildIR(opts translator.Options) (*translator.IR, []translator.Report, error) {
	st := store.New()
	entries := make([]store.Entry, len(c.objs))
	for i, o := range c.objs {
		entries[i] = o.Entry
	}
	if _, err := st.ReplaceSource("cli", entries); err != nil {
		return nil, nil, fmt.Errorf("load objects: %w", err)
	}
	ir, reports := translator.BuildIR(translator.InputFrom(st.Read()), opts)
	return ir, reports, nil
}

// writeIR prints the IR (only the fleet named only, when set) as YAML. An
// IR that breaks its invariants is printed all the same, with an error
// logged: that is a translator bug, and the IR is what shows it.
func writeIR(a *app, ir *translator.IR, only string) error {
	if err := ir.Validate(); err != nil {
		for _, p := range strings.Split(err.Error(), "\n") {
			a.log.Error("the IR breaks an invariant (a serin bug; please report it)", "problem", p)
		}
	}
	if only != "" {
		var picked *translator.IR
		for _, f := range ir.Fleets {
			if f != nil && f.Name == only {
				picked = &translator.IR{Fleets: []*translator.Fleet{f}}
			}
		}
		if picked == nil {
			return fmt.Errorf("no fleet %q", only)
		}
		ir = picked
	}
	doc, err := translator.EncodeIR(ir)
	if err != nil {
		return fmt.Errorf("encode the IR: %w", err)
	}
	_, err = a.stdout.Write(doc)
	return err
}

// fleetJSON is one fleet's resources in xDS order.
type fleetJSON struct {
	Clusters     []json.RawMessage `json:"clusters"`
	Endpoints    []json.RawMessage `json:"endpoints"`
	Listeners    []json.RawMessage `json:"listeners"`
	APIListeners []json.RawMessage `json:"apiListeners"`
	Routes       []json.RawMessage `json:"routes"`
}

// fleetsDocument renders {"fleets": {name: resources}} as indented JSON
// (fleet names sorted), resources through protojson with Envoy's field names.
func fleetsDocument(out *translator.Output, only string) ([]byte, error) {
	names := make([]string, 0, len(out.Fleets))
	for name := range out.Fleets {
		if only == "" || name == only {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no fleet %q", only)
	}
	sort.Strings(names)
	fleets := make(map[string]*fleetJSON, len(names))
	for _, name := range names {
		r := out.Fleets[name]
		f := &fleetJSON{}
		var err error
		if f.Clusters, err = marshalAll(r.Clusters); err != nil {
			return nil, err
		}
		if f.Endpoints, err = marshalAll(r.Endpoints); err != nil {
			return nil, err
		}
		if f.Listeners, err = marshalAll(r.Listeners); err != nil {
			return nil, err
		}
		if f.APIListeners, err = marshalAll(r.APIListeners); err != nil {
			return nil, err
		}
		if f.Routes, err = marshalAll(r.Routes); err != nil {
			return nil, err
		}
		fleets[name] = f
	}
	return json.MarshalIndent(map[string]any{"fleets": fleets}, "", "  ")
}

var protoJSON = protojson.MarshalOptions{UseProtoNames: true}

func marshalAll[M proto.Message](msgs []M) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(msgs))
	for _, m := range msgs {
		b, err := protoJSON.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encode %T: %w", m, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// writeDocument writes indented JSON as is, or as block-style YAML that
// keeps the JSON's field order (protojson's is the proto declaration order,
// which reads better than sorted).
func writeDocument(w io.Writer, js []byte, format string) error {
	if format == "json" {
		_, err := w.Write(append(js, '\n'))
		return err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(js, &n); err != nil {
		return fmt.Errorf("to YAML: %w", err)
	}
	blockStyle(&n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return fmt.Errorf("to YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("to YAML: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// blockStyle clears JSON's flow and quoting styles so that the encoder
// writes plain block YAML; it still quotes strings that need it.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}
