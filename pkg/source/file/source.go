package file

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/ident"
	"github.com/serin-dev/serin/pkg/store"
)

// Source loads a directory tree of YAML and JSON files into the store and,
// with Run, keeps it in sync as files change.
//
// Every load reads the whole tree and replaces the source's objects in one
// store transaction, so readers never see half of a change that spans files.
//
// Broken files: a file that fails to decode keeps the objects it last loaded
// successfully (last-known-good), and its errors are reported by Errors.
// A half-saved file, or a typo, therefore never takes routes away. A file
// seen for the first time with errors loads the documents that did decode.
// (Last-known-good lives in memory: after a restart a broken file loads only
// its good documents.) A deleted file's objects are removed at once.
//
// Emptied files: a file that had objects and now decodes to none without
// errors (zero bytes, or only whitespace, comments and "---") is taken to
// be mid-write, as when an editor truncates it and then writes it: it keeps
// its objects until it has stayed empty for the settle time
// (DefaultEmptySettle, WithEmptySettle); Run reloads when that time is up.
// A file with fewer objects than before is applied at once.
//
// Duplicates: when two files (or two documents) define the same kind,
// namespace and name, the file that held it first keeps it (the oldest
// claim wins) and the newcomer is reported as an error naming the holder,
// whatever their paths sort as. When nothing is known yet (the first load
// without a claims file) the first by path, then by line, wins.
//
// Claim times: every object without a metadata.creationTimestamp is
// stamped with when this source first saw its kind, namespace and name,
// which the translator's OlderClaim rule reads (domain conflicts, several
// Canaries on one group). The time stays while the object exists, across
// reloads and edits; a deleted object that comes back is new. Everything
// the first load sees gets that load's time. WithClaimsFile keeps the
// times across restarts.
type Source struct {
	dir  string
	name string
	st   *store.Store
	log  *slog.Logger

	quiet, maxWait time.Duration
	limits         Limits
	emptySettle    time.Duration
	now            func() time.Time

	mu    sync.Mutex // serializes loads and guards the fields below
	files map[string]*fileState
	errs  []FileError
	// claims are when this source first saw each kind/namespace/name of
	// the objects it keeps, and which file holds it (see claims.go).
	claims      map[ident.Ref]claim
	claimsPath  string
	claimsDirty bool // the claims file needs writing even if claims did not change
	// settleAt is the earliest time a held empty file is due to let go of
	// its objects (zero: none is held); Run reloads then.
	settleAt time.Time
}

// fileState is what the source knows about one file.
type fileState struct {
	data []byte
	errs []FileError
	// applied are the objects this file contributes: the last clean decode,
	// or, for a file that never decoded cleanly, the documents that did.
	applied []*Object
	// emptySince is when the file, which had objects, was first read empty;
	// it keeps applied until it has stayed empty for the settle time.
	emptySince time.Time
}

// Option configures a Source.
type Option func(*Source)

// WithLogger sets the logger; the default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(s *Source) { s.log = l } }

// WithLimits bounds what each file may cost to load (see Limits); the
// default is DefaultLimits().
func WithLimits(l Limits) Option { return func(s *Source) { s.limits = l.withDefaults() } }

// WithDebounce sets how long the tree must be quiet before a reload, and
// the longest a reload waits while changes keep coming.
func WithDebounce(quiet, max time.Duration) Option {
	return func(s *Source) { s.quiet, s.maxWait = quiet, max }
}

// WithEmptySettle sets how long a file that had objects must stay empty
// before they are removed (see Source); zero or less removes them at once.
// The default is DefaultEmptySettle.
func WithEmptySettle(d time.Duration) Option { return func(s *Source) { s.emptySettle = d } }

// DefaultEmptySettle is how long an emptied file keeps its objects. Editors
// and tools that truncate a file and then write it leave it empty for
// milliseconds; an empty file that stays empty for 2 s is meant.
const DefaultEmptySettle = 2 * time.Second

// Debounce defaults. An editor's save, a "git checkout" or "kubectl cp" is
// a burst of events a few milliseconds apart: 50 ms of quiet coalesces it
// into one reload while still feeling instant. The 500 ms cap keeps a
// steady stream of writes (a generator rewriting many files) from
// postponing the reload forever.
const (
	DefaultQuiet   = 50 * time.Millisecond
	DefaultMaxWait = 500 * time.Millisecond
)

// New returns a source for the directory dir that writes into st under the
// source name "file:<dir>", and loads the tree once. It fails when dir
// cannot be read; broken files are not an error (see Errors).
func New(dir string, st *store.Store, opts ...Option) (*Source, error) {
	s := &Source{
		dir:     dir,
		name:    "file:" + dir,
		st:      st,
		log:     slog.Default(),
		quiet:   DefaultQuiet,
		maxWait: DefaultMaxWait,
		limits:  DefaultLimits(),
		files:   map[string]*fileState{},

		emptySettle: DefaultEmptySettle,
		now:         time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("file source: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("file source: %s is not a directory", dir)
	}
	s.loadClaims()
	if err := s.Load(); err != nil {
		return nil, err
	}
	return s, nil
}

// Name is the store source name, "file:<dir>".
func (s *Source) Name() string { return s.name }

// Dir is the directory the source loads.
func (s *Source) Dir() string { return s.dir }

// Errors returns the current problems, sorted by file and line: decode
// errors of broken files and duplicate definitions.
func (s *Source) Errors() []FileError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]FileError(nil), s.errs...)
}

// LineOf returns the line of a field of the object loaded from origin, or
// origin's line when the field or object is unknown.
func (s *Source) LineOf(origin store.Origin, fieldPath string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.files[origin.File]; ok {
		for _, o := range f.applied {
			if o.Origin == origin {
				return o.Line(fieldPath)
			}
		}
	}
	return origin.Line
}

// Load reads the whole tree now and applies it to the store in one
// transaction. When the directory itself cannot be read (it was removed or
// is being swapped), the store is left as it was and the error returned.
func (s *Source) Load() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	paths, err := ListFiles(s.dir)
	if err != nil {
		return fmt.Errorf("file source %s: %w", s.dir, err)
	}
	now := s.now()
	seen := make(map[string]bool, len(paths))
	for _, p := range paths {
		seen[p] = true
		data, err := s.limits.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			// Deleted between listing and reading: the next event reloads.
			seen[p] = false
			continue
		}
		s.files[p] = s.update(p, s.files[p], data, err, now)
	}
	s.settleAt = time.Time{}
	for p, f := range s.files {
		if !seen[p] {
			delete(s.files, p)
			continue
		}
		if !f.emptySince.IsZero() {
			if at := f.emptySince.Add(s.emptySettle); s.settleAt.IsZero() || at.Before(s.settleAt) {
				s.settleAt = at
			}
		}
	}

	var objs []*Object
	var errs []FileError
	for _, p := range paths {
		if f, ok := s.files[p]; ok {
			objs = append(objs, f.applied...)
			errs = append(errs, f.errs...)
		}
	}
	objs, dups := dedupe(objs, s.holderOf)
	errs = append(errs, dups...)
	sortFileErrors(errs)
	claims := s.claimAll(objs, now)

	entries := make([]store.Entry, len(objs))
	for i, o := range objs {
		entries[i] = o.Entry
	}
	changed, err := s.st.ReplaceSource(s.name, entries)
	if err != nil {
		return fmt.Errorf("file source %s: apply: %w", s.dir, err)
	}
	s.saveClaims(claims)
	if !equalErrors(s.errs, errs) {
		for _, e := range errs {
			s.log.Warn("config error", "file", e.File, "line", e.Line, "error", e.Message)
		}
	}
	s.errs = errs
	if changed {
		s.log.Info("config loaded", "dir", s.dir, "files", len(paths), "objects", len(entries), "errors", len(errs))
	}
	return nil
}

// update returns the new state of one file given its contents (or the
// error reading it) at time now.
func (s *Source) update(path string, old *fileState, data []byte, readErr error, now time.Time) *fileState {
	if readErr != nil {
		fe := FileError{File: path, Message: fmt.Sprintf("read: %v", readErr)}
		if le, ok := limitError(readErr); ok {
			fe = *le
			s.log.Warn("file refused: over a limit", "file", path, "error", le.Message)
		}
		f := &fileState{errs: []FileError{fe}}
		if old != nil {
			// Keep what the file had, and how long it has been empty; but
			// not its bytes: the next good read decodes again, so the read
			// error goes and an emptied file's settle time goes on.
			f.applied, f.emptySince = old.applied, old.emptySince
		}
		return f
	}
	var f *fileState
	if old != nil && old.data != nil && bytes.Equal(old.data, data) {
		if old.emptySince.IsZero() {
			return old
		}
		c := *old
		f = &c
	} else {
		objs, derrs := s.limits.DecodeObjects(path, data)
		for _, o := range objs {
			// The claim time is the source's to give (claimAll): a file
			// that wrote an old creationTimestamp would win every
			// oldest-claim conflict.
			o.Obj.SetCreationTimestamp(metav1.Time{})
		}
		f = &fileState{data: data, errs: asFileErrors(path, derrs), applied: objs}
		switch {
		case len(derrs) > 0 && old != nil:
			// Last-known-good: a known file that is now broken keeps what it had.
			f.applied = old.applied
			s.log.Warn("keeping the last good version of a broken file", "file", path, "objects", len(old.applied))
		case len(objs) == 0 && old != nil && len(old.applied) > 0:
			// Emptied: most likely mid-write (truncated, not yet written).
			// Keep its objects until it has stayed empty for the settle time.
			f.applied, f.emptySince = old.applied, old.emptySince
			if f.emptySince.IsZero() {
				f.emptySince = now
				if s.emptySettle > 0 {
					s.log.Info(fmt.Sprintf("file emptied; keeping its %d objects until it stays empty for %s", len(f.applied), s.emptySettle),
						"file", path, "objects", len(f.applied))
				}
			}
		}
	}
	if !f.emptySince.IsZero() && now.Sub(f.emptySince) >= s.emptySettle {
		s.log.Info(fmt.Sprintf("file stayed empty for %s; removing its %d objects", s.emptySettle, len(f.applied)),
			"file", path, "objects", len(f.applied))
		f.applied, f.emptySince = nil, time.Time{}
	}
	return f
}

// settleDeadline is when a held empty file is next due (zero: none).
func (s *Source) settleDeadline() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settleAt
}

// dedupe keeps one object of each kind, namespace and name and reports the
// others. With holder (the source's claims), the object in the file that
// holds the claim wins: the oldest claim, whatever the paths sort as.
// Otherwise, and for a claim no file holds yet, the first in the order
// given (by path, then line) wins.
func dedupe(objs []*Object, holder func(ident.Ref) (string, bool)) ([]*Object, []FileError) {
	winner := make(map[ident.Ref]*Object, len(objs))
	for _, o := range objs {
		ref := o.Key.Ref(o.Kind)
		w, dup := winner[ref]
		if !dup {
			winner[ref] = o
			continue
		}
		if holder == nil {
			continue
		}
		if f, ok := holder(ref); ok && w.Origin.File != f && o.Origin.File == f {
			winner[ref] = o
		}
	}
	why := ""
	if holder != nil {
		why = " (the oldest claim wins)"
	}
	out := objs[:0:0]
	var errs []FileError
	for _, o := range objs {
		w := winner[o.Key.Ref(o.Kind)]
		if w == o {
			out = append(out, o)
			continue
		}
		errs = append(errs, FileError{
			File: o.Origin.File, Line: o.Origin.Line,
			Message: fmt.Sprintf("%s: already defined at %s%s; this definition is ignored", o, w.Origin, why),
		})
	}
	return out, errs
}

func equalErrors(a, b []FileError) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// LoadPaths decodes files and directory trees once, without a store, the
// way the source does (ListFiles order, duplicates resolved first-wins). It
// is what "serin lint" and "serin translate" read. The error is for a path
// that cannot be read at all.
func LoadPaths(paths ...string) ([]*Object, []FileError, error) {
	return DefaultLimits().LoadPaths(paths...)
}

// LoadPaths is LoadPaths within the limits: a file or document over them is
// an error, as in the source.
func (l Limits) LoadPaths(paths ...string) ([]*Object, []FileError, error) {
	var objs []*Object
	var errs []FileError
	for _, root := range paths {
		files, err := ListFiles(root)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range files {
			data, err := l.ReadFile(p)
			if le, ok := limitError(err); ok {
				errs = append(errs, *le)
				continue
			}
			if err != nil {
				errs = append(errs, FileError{File: p, Message: fmt.Sprintf("read: %v", err)})
				continue
			}
			o, derrs := l.DecodeObjects(p, data)
			objs = append(objs, o...)
			errs = append(errs, asFileErrors(p, derrs)...)
		}
	}
	objs, dups := dedupe(objs, nil)
	errs = append(errs, dups...)
	sortFileErrors(errs)
	return objs, errs, nil
}
