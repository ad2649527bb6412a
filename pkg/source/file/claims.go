package file

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/pkg/ident"
)

// claim is what the source remembers of one kind/namespace/name: when it
// first saw it (the object's claim time, see OlderClaim in the API) and
// the file that holds it (which wins a duplicate definition).
type claim struct {
	At   time.Time
	File string
}

// WithClaimsFile keeps the claim times (when this source first saw each
// kind/namespace/name) in path, so that a restart keeps them; without it
// they live in memory and a restart stamps everything it loads with the
// time of the first load. The file is JSON, written atomically after each
// load that changes it. A file that cannot be read or decoded is logged
// and replaced: claim times start over, nothing else is lost.
func WithClaimsFile(path string) Option { return func(s *Source) { s.claimsPath = path } }

// maxClaimsFileBytes bounds the claims file read at start-up: about
// 200 bytes a claim, 64 MiB is 300,000 objects, far past any directory the
// limits let load. A larger file is treated as corrupt.
const maxClaimsFileBytes = 64 << 20

// claimsVersion is the format of the claims file.
const claimsVersion = 1

type claimsDoc struct {
	Version int          `json:"version"`
	Claims  []claimEntry `json:"claims"`
}

type claimEntry struct {
	Kind      string    `json:"kind"`
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	FirstSeen time.Time `json:"firstSeen"`
	File      string    `json:"file,omitempty"`
}

// readClaims loads the claims file; a missing file is no claims.
func readClaims(path string) (map[ident.Ref]claim, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[ident.Ref]claim{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxClaimsFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxClaimsFileBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxClaimsFileBytes)
	}
	var doc claimsDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if doc.Version != claimsVersion {
		return nil, fmt.Errorf("version %d, want %d", doc.Version, claimsVersion)
	}
	out := make(map[ident.Ref]claim, len(doc.Claims))
	for _, c := range doc.Claims {
		if c.Kind == "" || c.Name == "" || c.FirstSeen.IsZero() {
			return nil, fmt.Errorf("claim %q %s/%s: kind, name and firstSeen are required", c.Kind, c.Namespace, c.Name)
		}
		out[ident.Ref{Kind: c.Kind, Namespace: c.Namespace, Name: c.Name}] = claim{At: c.FirstSeen, File: c.File}
	}
	return out, nil
}

// writeClaims writes the claims to path atomically: temporary file, fsync,
// rename, fsync of the directory. Entries are sorted so the file diffs well.
func writeClaims(path string, claims map[ident.Ref]claim) error {
	doc := claimsDoc{Version: claimsVersion, Claims: make([]claimEntry, 0, len(claims))}
	for _, ref := range slices.SortedFunc(maps.Keys(claims), ident.Ref.Compare) {
		c := claims[ref]
		doc.Claims = append(doc.Claims, claimEntry{Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name, FirstSeen: c.At.UTC(), File: c.File})
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// loadClaims reads the claims file into s.claims, starting fresh (with a
// warning) when it is unreadable. Called once, before the first load.
func (s *Source) loadClaims() {
	s.claims = map[ident.Ref]claim{}
	if s.claimsPath == "" {
		return
	}
	c, err := readClaims(s.claimsPath)
	if err != nil {
		s.log.Warn("claims file unreadable; claim times start over", "file", s.claimsPath, "error", err)
		s.claimsDirty = true // replace it with a good one
		return
	}
	s.claims = c
}

// claimAll records a claim for every object the load keeps and stamps
// each object that has no creationTimestamp with its claim time. It
// returns the new claims: only kept objects have one, so a deleted object
// that comes back is claimed anew.
func (s *Source) claimAll(objs []*Object, now time.Time) map[ident.Ref]claim {
	next := make(map[ident.Ref]claim, len(objs))
	for _, o := range objs {
		ref := o.Key.Ref(o.Kind)
		c, ok := s.claims[ref]
		if !ok {
			c.At = now
		}
		c.File = o.Origin.File
		next[ref] = c
		if ts := o.Obj.GetCreationTimestamp(); ts.IsZero() {
			// Only objects no load has stamped yet (fresh decodes, never in
			// the store) get here, so store objects stay immutable.
			o.Obj.SetCreationTimestamp(metav1.NewTime(c.At))
		}
	}
	return next
}

// saveClaims writes the claims file when the claims changed (or the last
// write failed).
func (s *Source) saveClaims(next map[ident.Ref]claim) {
	if !s.claimsDirty && equalClaims(s.claims, next) {
		s.claims = next
		return
	}
	s.claims = next
	if s.claimsPath == "" {
		return
	}
	if err := writeClaims(s.claimsPath, next); err != nil {
		s.claimsDirty = true
		s.log.Warn("cannot write the claims file; claim times are kept in memory until a write succeeds", "file", s.claimsPath, "error", err)
		return
	}
	s.claimsDirty = false
}

func equalClaims(a, b map[ident.Ref]claim) bool {
	if len(a) != len(b) {
		return false
	}
	for r, x := range a {
		y, ok := b[r]
		if !ok || !x.At.Equal(y.At) || x.File != y.File {
			return false
		}
	}
	return true
}

// holderOf returns the file holding a claim, for dedupe.
func (s *Source) holderOf(ref ident.Ref) (string, bool) {
	c, ok := s.claims[ref]
	return c.File, ok && c.File != ""
}
