package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// bomb is the 8.5 KB alias bomb of the "trust" issue: 5 levels of x10
// aliases over an 8 KB leaf, 800 MB once expanded.
func bomb() string {
	var b strings.Builder
	b.WriteString("apiVersion: serin.dev/v1alpha1\nkind: Upstream\nmetadata: {name: bomb}\n")
	b.WriteString("l0: &l0 " + strings.Repeat("x", 8<<10) + "\n")
	for i := 1; i <= 5; i++ {
		ref := fmt.Sprintf("*l%d", i-1)
		fmt.Fprintf(&b, "l%d: &l%d [%s]\n", i, i, strings.Repeat(ref+",", 9)+ref)
	}
	return b.String()
}

func TestLintRefusesOverLimits(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "bomb.yaml"), bomb())
	writeTestFile(t, filepath.Join(dir, "good.yaml"), "apiVersion: serin.dev/v1alpha1\nkind: Upstream\nmetadata: {name: good}\nspec: {static: {hosts: [{addr: 10.0.0.1, port: 1}]}}\n")
	code, out, _ := serin(t, "lint", dir)
	want := filepath.Join(dir, "bomb.yaml") + ":1: document 1 expands to more than 16 MiB after YAML aliases (limit --max-yaml-expansion-bytes)\n"
	if code != 1 || out != want {
		t.Errorf("lint: exit %d\nstdout %q\nwant   %q", code, out, want)
	}

	// The flags set the limits.
	code, out, _ = serin(t, "lint", "--max-file-bytes", "100", "--max-yaml-expansion-bytes", "1073741824", filepath.Join(dir, "good.yaml"))
	want = filepath.Join(dir, "good.yaml") + ": file is 122 bytes, more than 100 bytes (limit --max-file-bytes); it is not read\n"
	if code != 1 || out != want {
		t.Errorf("lint --max-file-bytes: exit %d\nstdout %q\nwant   %q", code, out, want)
	}
	_, _, errOut := serin(t, "translate", dir)
	if !strings.Contains(errOut, "bomb.yaml:1: document 1 expands to more than 16 MiB") {
		t.Errorf("translate: stderr %q", errOut)
	}
	for _, cmd := range []string{"serve", "lint", "translate", "convert"} {
		_, out, _ := serin(t, cmd, "--help")
		if !strings.Contains(out, "--max-file-bytes int") || !strings.Contains(out, "--max-yaml-expansion-bytes int") {
			t.Errorf("%s --help lacks the limit flags", cmd)
		}
	}
}
