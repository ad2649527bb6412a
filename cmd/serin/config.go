package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/source/file"
	"github.com/serin-dev/serin/pkg/store"
	"github.com/serin-dev/serin/translator"
)

// config is configuration read from files and directories by the offline
// commands (lint, translate), exactly as the file source of "serin serve"
// reads it.
type config struct {
	objs  []*file.Object
	errs  []file.FileError
	byRef map[ident.Ref]*file.Object
}

// addLimitFlags registers the bounds on what one config file may cost to
// load (--max-file-bytes, --max-yaml-expansion-bytes; see
// docs/security.md), the same for every command that reads files.
func addLimitFlags(f *pflag.FlagSet, l *file.Limits) {
	*l = file.DefaultLimits()
	f.Int64Var(&l.MaxFileBytes, file.MaxFileBytesFlag, l.MaxFileBytes,
		"refuse, unread, a config file larger than this many bytes")
	f.Int64Var(&l.MaxExpansionBytes, file.MaxExpansionBytesFlag, l.MaxExpansionBytes,
		"refuse a file's YAML documents once their JSON, aliases expanded, passes this many bytes")
}

func loadConfig(lim file.Limits, paths []string) (*config, error) {
	objs, errs, err := lim.LoadPaths(paths...)
	if err != nil {
		return nil, err
	}
	c := &config{objs: objs, errs: errs, byRef: make(map[ident.Ref]*file.Object, len(objs))}
	for _, o := range objs {
		c.byRef[ident.Ref{Kind: o.Kind, Namespace: o.Key.Namespace, Name: o.Key.Name}] = o
	}
	return c, nil
}

// translate runs the objects through a store, as serve does, and the
// translator.
func (c *config) translate(opts translator.Options) (*translator.Output, error) {
	st := store.New()
	entries := make([]store.Entry, len(c.objs))
	for i, o := range c.objs {
		entries[i] = o.Entry
	}
	if _, err := st.ReplaceSource("cli", entries); err != nil {
		return nil, fmt.Errorf("load objects: %w", err)
	}
	return translator.Translate(translator.InputFrom(st.Read()), opts), nil
}

// problem is one line of lint output.
type problem struct {
	file     string
	line     int
	text     string // "Kind ns/name: field: message"
	rejected bool   // an error rather than a warning
}

func (p problem) String() string {
	switch {
	case p.file == "":
		return p.text
	case p.line == 0:
		return p.file + ": " + p.text
	}
	return fmt.Sprintf("%s:%d: %s", p.file, p.line, p.text)
}

// objectProblem locates a problem of an object at its field's line.
func (c *config) objectProblem(ref ident.Ref, fieldPath, msg string, rejected bool) problem {
	text := ref.String() + ": "
	if fieldPath != "" {
		text += fieldPath + ": "
	}
	text += msg
	o, ok := c.byRef[ref]
	if !ok {
		return problem{text: text, rejected: rejected}
	}
	return problem{file: o.Origin.File, line: o.Line(fieldPath), text: text, rejected: rejected}
}

// sortProblems orders problems by file and line and drops repeats (the
// translator reports Validate's errors too).
func sortProblems(ps []problem) []problem {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.file != b.file {
			return a.file < b.file
		}
		if a.line != b.line {
			return a.line < b.line
		}
		return a.text < b.text
	})
	out := ps[:0]
	for i, p := range ps {
		if i > 0 && p.String() == ps[i-1].String() {
			if p.rejected {
				out[len(out)-1].rejected = true
			}
			continue
		}
		out = append(out, p)
	}
	return out
}

// kindCounts renders "2 Upstream, 1 VirtualService".
func kindCounts(objs []*file.Object) string {
	counts := map[string]int{}
	for _, o := range objs {
		counts[o.Kind]++
	}
	var parts []string
	for _, k := range store.Kinds {
		if n := counts[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	return strings.Join(parts, ", ")
}
