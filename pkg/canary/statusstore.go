package canary

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/ident"
	"k8s.io/apimachinery/pkg/util/validation"
)

// StatusStore keeps each Canary's status where it survives restarts and
// leader changes. File mode uses FileStore (--state-dir); Kubernetes
// implements it on the Canary status subresource, written by the leader.
type StatusStore interface {
	// Load returns the saved status, or nil when there is none.
	Load(ctx context.Context, key ident.Key) (*v1alpha1.CanaryStatus, error)
	// Save replaces the saved status.
	Save(ctx context.Context, key ident.Key, st *v1alpha1.CanaryStatus) error
}

// UnreadableStatusError is a StatusStore's answer when a saved status
// exists but cannot be read (a corrupt or unreadable file). Previous is
// the redundant copy of the last good save when that one is readable; the
// engine then keeps its weights, in phase Error, until an operator acts.
// Without it the engine serves the stable at 100%. Other load errors are
// taken as passing (the engine retries and changes nothing meanwhile).
type UnreadableStatusError struct {
	Path string
	Err  error
	// Previous is the copy of the last good save (PreviousPath), nil when
	// it is missing or unreadable too (PreviousErr).
	Previous     *v1alpha1.CanaryStatus
	PreviousPath string
	PreviousErr  error
}

func (e *UnreadableStatusError) Error() string {
	return fmt.Sprintf("cannot read the saved status %s: %v", e.Path, e.Err)
}

func (e *UnreadableStatusError) Unwrap() error { return e.Err }

// StatusDeleter is implemented by stores that forget a deleted Canary's
// status (Kubernetes does not need to: the object and its status go together).
type StatusDeleter interface {
	Delete(ctx context.Context, key ident.Key) error
}

// Release is one rollout of one canary upstream: the spec it started with,
// every decision, and the outcome.
type Release struct {
	Number    int                       `json:"number"`
	Release   string                    `json:"release"`
	Spec      v1alpha1.CanarySpec       `json:"spec"`
	Started   time.Time                 `json:"started"`
	Ended     *time.Time                `json:"ended,omitempty"`
	Outcome   v1alpha1.CanaryPhase      `json:"outcome,omitempty"`
	Decisions []v1alpha1.CanaryDecision `json:"decisions"`
}

// ReleaseLog keeps every release of every Canary.
type ReleaseLog interface {
	// Releases lists a Canary's releases, oldest first.
	Releases(key ident.Key) ([]Release, error)
	// SaveRelease inserts or replaces the release with r.Number.
	SaveRelease(key ident.Key, r Release) error
}

// Bounds on what is kept: status history stays small enough for a
// Kubernetes object (etcd's 1.5 MiB limit), the release log per Canary
// stays a few MB at most.
const (
	maxStatusHistory   = 50
	maxReleaseDecision = 1000
	maxReleases        = 50
)

// MemoryStore keeps statuses and releases in memory: state is lost on
// restart. It is what the engine uses when no store is configured.
type MemoryStore struct {
	mu       sync.Mutex
	status   map[ident.Key]*v1alpha1.CanaryStatus
	releases map[ident.Key][]Release
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{status: map[ident.Key]*v1alpha1.CanaryStatus{}, releases: map[ident.Key][]Release{}}
}

func (m *MemoryStore) Load(_ context.Context, k ident.Key) (*v1alpha1.CanaryStatus, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st := m.status[k]; st != nil {
		return st.DeepCopy(), nil
	}
	return nil, nil
}

func (m *MemoryStore) Save(_ context.Context, k ident.Key, st *v1alpha1.CanaryStatus) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status[k] = st.DeepCopy()
	return nil
}

func (m *MemoryStore) Delete(_ context.Context, k ident.Key) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.status, k)
	return nil
}

func (m *MemoryStore) Releases(k ident.Key) ([]Release, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Release(nil), m.releases[k]...), nil
}

func (m *MemoryStore) SaveRelease(k ident.Key, r Release) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.releases[k] = UpsertRelease(m.releases[k], r, maxReleases)
	return nil
}

// UpsertRelease replaces the release numbered r.Number or appends r,
// keeping the newest max releases. Every ReleaseLog stores history this way.
func UpsertRelease(list []Release, r Release, max int) []Release {
	for i := range list {
		if list[i].Number == r.Number {
			list[i] = r
			return list
		}
	}
	list = append(list, r)
	if len(list) > max {
		list = list[len(list)-max:]
	}
	return list
}

// FileStore keeps each Canary's status and releases as JSON files under a
// directory (--state-dir):
//
//	<dir>/status/<namespace>/<name>.json
//	<dir>/status/<namespace>/<name>.json.prev   a second copy of the last good save
//	<dir>/releases/<namespace>/<name>.json
//
// Every write is atomic: a temp file in the same directory, fsync, rename,
// fsync of the directory. A crash leaves the old or the new file, never a
// torn one. A status file damaged afterwards (disk, hand edit) is what
// the second copy is for: Load returns an *UnreadableStatusError carrying
// it, and the next Save moves the damaged file aside as <name>.json.corrupt.
type FileStore struct {
	dir string
	mu  sync.Mutex
}

// NewFileStore creates dir if needed.
func NewFileStore(dir string) (*FileStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	return &FileStore{dir: dir}, nil
}

func (f *FileStore) path(kind string, k ident.Key) string {
	return filepath.Join(f.dir, kind, k.Namespace, k.Name+".json")
}

// checkKey refuses a key that is not a Kubernetes namespace and name:
// the file's path is made of it, and "../x" must not leave the directory.
// (Sources refuse such names already; this is the last line.)
func checkKey(k ident.Key) error {
	if len(validation.IsDNS1123Label(k.Namespace)) > 0 || len(validation.IsDNS1123Subdomain(k.Name)) > 0 {
		return fmt.Errorf("canary state: %q is not a namespace/name", k.String())
	}
	return nil
}

// prevPath is the second copy of the status at path. The suffix comes
// after ".json" so that no Canary's own file can be another's copy (a
// Canary may be named "myapp.prev").
func prevPath(path string) string { return path + ".prev" }

func (f *FileStore) Load(_ context.Context, k ident.Key) (*v1alpha1.CanaryStatus, error) {
	if err := checkKey(k); err != nil {
		return nil, err
	}
	path := f.path("status", k)
	var st v1alpha1.CanaryStatus
	ok, err := readJSON(path, &st)
	if err == nil && ok {
		return &st, nil
	}
	ue := &UnreadableStatusError{Path: path, Err: err, PreviousPath: prevPath(path)}
	var prev v1alpha1.CanaryStatus
	pok, perr := readJSON(ue.PreviousPath, &prev)
	switch {
	case perr != nil:
		ue.PreviousErr = perr
	case pok:
		ue.Previous = &prev
	case !ok:
		return nil, nil // neither: nothing was ever saved
	default:
		ue.PreviousErr = fs.ErrNotExist
	}
	if !ok && err == nil {
		// The status is gone but its copy is not: someone removed it.
		ue.Err = fs.ErrNotExist
	}
	return nil, ue
}

// Save writes the status, then its second copy. A status file that no
// longer parses is kept aside (<name>.json.corrupt) for whoever looks
// into it.
func (f *FileStore) Save(_ context.Context, k ident.Key, st *v1alpha1.CanaryStatus) error {
	if err := checkKey(k); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	path := f.path("status", k)
	if b, err := os.ReadFile(path); err == nil && !json.Valid(b) {
		_ = os.Rename(path, path+".corrupt")
	}
	if err := writeJSONAtomic(path, st); err != nil {
		return err
	}
	return writeJSONAtomic(prevPath(path), st)
}

func (f *FileStore) Delete(_ context.Context, k ident.Key) error {
	if err := checkKey(k); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	path := f.path("status", k)
	for _, p := range []string{prevPath(path), path} { // the copy first: a crash never leaves a copy without its status
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete canary state: %w", err)
		}
	}
	return nil
}

func (f *FileStore) Releases(k ident.Key) ([]Release, error) {
	if err := checkKey(k); err != nil {
		return nil, err
	}
	var list []Release
	if _, err := readJSON(f.path("releases", k), &list); err != nil {
		return nil, err
	}
	return list, nil
}

func (f *FileStore) SaveRelease(k ident.Key, r Release) error {
	if err := checkKey(k); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var list []Release
	if _, err := readJSON(f.path("releases", k), &list); err != nil {
		return err
	}
	return writeJSONAtomic(f.path("releases", k), UpsertRelease(list, r, maxReleases))
}

func readJSON(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return true, nil
}

// writeJSONAtomic writes v to path: temp file, fsync, rename, fsync dir.
func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	// The rename is durable only once the directory entry is.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
