// Command render-chart renders the serin Helm chart into plain manifests
// with the Helm library itself (no helm binary needed):
//
//	go run . -chart ../../deploy/helm/serin -out ../../deploy/kubernetes
//	go run . -chart ../../deploy/helm/serin -set webhook.enabled=true -out -
//
// With -out DIR it writes DIR/crds.yaml (the chart's crds/) and
// DIR/serin.yaml (a Namespace and the templates, in install order). With
// -out - it writes both, CRDs first, to standard output.
//
// It lives in its own module so that Helm's dependencies stay out of
// serin's go.mod.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/strvals"
)

type setFlags []string

func (s *setFlags) String() string     { return strings.Join(*s, ",") }
func (s *setFlags) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	chartDir := flag.String("chart", "deploy/helm/serin", "chart directory")
	out := flag.String("out", "deploy/kubernetes", "output directory, or - for standard output")
	namespace := flag.String("namespace", "serin-system", "namespace to install into")
	release := flag.String("release", "serin", "release name")
	var sets setFlags
	flag.Var(&sets, "set", "value override key=value (repeatable), as helm --set")
	flag.Parse()
	if err := run(*chartDir, *out, *namespace, *release, sets); err != nil {
		fmt.Fprintln(os.Stderr, "render-chart:", err)
		os.Exit(1)
	}
}

// plainDefaults are the values the committed plain manifests use: the
// webhook needs a certificate generated at install time, which a static
// file cannot carry, so it is left to the chart (see docs/kubernetes.md);
// likewise the admin token: a committed Secret would be a published
// token, so the manifests name one the user creates (docs/security.md).
var plainDefaults = []string{"webhook.enabled=false", "adminToken.existingSecret=serin-admin-token"}

func run(chartDir, out, namespace, release string, sets []string) error {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return fmt.Errorf("load chart: %w", err)
	}
	overrides := map[string]any{}
	if out != "-" {
		sets = append(append([]string{}, plainDefaults...), sets...)
	}
	for _, s := range sets {
		if err := strvals.ParseInto(s, overrides); err != nil {
			return fmt.Errorf("--set %s: %w", s, err)
		}
	}
	vals, err := chartutil.ToRenderValues(ch, overrides, chartutil.ReleaseOptions{
		Name: release, Namespace: namespace, Revision: 1, IsInstall: true,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		return fmt.Errorf("values: %w", err)
	}
	rendered, err := engine.Render(ch, vals)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	var manifests bytes.Buffer
	fmt.Fprintf(&manifests, "# Generated from deploy/helm/serin by hack/render-chart. DO NOT EDIT.\n")
	fmt.Fprintf(&manifests, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", namespace)
	names := make([]string, 0, len(rendered))
	for name := range rendered {
		names = append(names, name)
	}
	sort.Strings(names)
	docs := map[string]string{}
	for _, name := range names {
		if strings.HasSuffix(name, "NOTES.txt") || strings.HasPrefix(filepath.Base(name), "_") {
			continue
		}
		if strings.TrimSpace(rendered[name]) != "" {
			docs[name] = rendered[name]
		}
	}
	_, sorted, err := releaseutil.SortManifests(docs, chartutil.DefaultVersionSet, releaseutil.InstallOrder)
	if err != nil {
		return fmt.Errorf("sort manifests: %w", err)
	}
	for _, m := range sorted {
		fmt.Fprintf(&manifests, "---\n# Source: %s\n%s\n", m.Name, strings.TrimSpace(m.Content))
	}
	var crds bytes.Buffer
	fmt.Fprintf(&crds, "# Generated from deploy/helm/serin/crds by hack/render-chart. DO NOT EDIT.\n")
	for _, c := range ch.CRDObjects() {
		fmt.Fprintf(&crds, "---\n# Source: %s\n%s\n", c.Filename, strings.TrimSpace(string(c.File.Data)))
	}
	if out == "-" {
		_, err := os.Stdout.Write(append(append(crds.Bytes(), "---\n"...), manifests.Bytes()...))
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "crds.yaml"), crds.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "serin.yaml"), manifests.Bytes(), 0o644)
}
