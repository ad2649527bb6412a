package file

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Run watches the directory tree and reloads it after changes until ctx is
// done. Bursts of events are debounced (see DefaultQuiet and
// DefaultMaxWait) into one reload, and each reload applies the whole tree
// in one transaction. New subdirectories are watched as they appear. When
// an emptied file is holding its objects (see Source), Run reloads once its
// settle time is up, since no event will say so.
//
// Every event leads to a reload of the tree rather than of one file: editors'
// atomic saves (write a temporary file, rename it over the original) and
// Kubernetes ConfigMap updates (swap a symlink) then need no special cases,
// and unchanged files cost only a read and a compare.
func (s *Source) Run(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("file source %s: watch: %w", s.dir, err)
	}
	defer w.Close()
	watched := map[string]bool{}
	s.syncWatches(w, watched)
	// Catch changes made between New and the watches being in place.
	s.reload()

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	// settle fires when an emptied file has stayed empty long enough to
	// let go of its objects: no event will say so.
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	defer settle.Stop()
	armSettle := func() {
		settle.Stop()
		if at := s.settleDeadline(); !at.IsZero() {
			settle.Reset(max(time.Until(at), time.Millisecond))
		}
	}
	armSettle()
	var burstStart time.Time
	pending := false
	// When the directory itself is removed (rm -rf dir && regenerate dir),
	// its watch is gone and no event will say when it is back: poll for it.
	var rootTicker *time.Ticker
	var rootPoll <-chan time.Time
	defer func() {
		if rootTicker != nil {
			rootTicker.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-rootPoll:
			if info, err := os.Stat(s.dir); err == nil && info.IsDir() {
				rootTicker.Stop()
				rootTicker, rootPoll = nil, nil
				delete(watched, s.dir)
				s.syncWatches(w, watched)
				s.reload()
				armSettle()
			}
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if isEditorTemp(filepath.Base(ev.Name)) || ev.Op == fsnotify.Chmod {
				continue
			}
			if filepath.Clean(ev.Name) == filepath.Clean(s.dir) && ev.Has(fsnotify.Remove|fsnotify.Rename) && rootPoll == nil {
				s.log.Warn("config directory removed; keeping the current objects until it is back", "dir", s.dir)
				rootTicker = time.NewTicker(rootPollInterval)
				rootPoll = rootTicker.C
				continue
			}
			if ev.Has(fsnotify.Remove | fsnotify.Rename) {
				// inotify drops the watch of a removed or renamed directory
				// (and of everything under it): forget them, so a directory
				// re-created under the same name is watched again.
				forgetWatches(watched, ev.Name)
			}
			if ev.Has(fsnotify.Create) {
				if info, err := os.Stat(ev.Name); err == nil && info.IsDir() {
					// Files may be written into the new directory before its
					// watch exists; the reload after the debounce reads them.
					s.syncWatches(w, watched)
				}
			}
			now := time.Now()
			if !pending {
				pending, burstStart = true, now
			}
			wait := s.quiet
			if deadline := burstStart.Add(s.maxWait); now.Add(wait).After(deadline) {
				wait = deadline.Sub(now)
			}
			timer.Reset(wait)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			// Typically an event queue overflow: events were lost, so reload.
			s.log.Warn("file watch error; reloading", "dir", s.dir, "error", err)
			if !pending {
				pending, burstStart = true, time.Now()
			}
			timer.Reset(s.quiet)
		case <-timer.C:
			pending = false
			s.syncWatches(w, watched)
			s.reload()
			armSettle()
		case <-settle.C:
			s.reload()
			armSettle()
		}
	}
}

// rootPollInterval is how often a removed config directory is looked for:
// often enough that a regenerated directory is picked up at once, rarely
// enough to cost nothing.
const rootPollInterval = 250 * time.Millisecond

func (s *Source) reload() {
	if err := s.Load(); err != nil {
		s.log.Error("config reload failed; keeping the current objects", "dir", s.dir, "error", err)
	}
}

// syncWatches watches every directory ListFiles descends into and forgets
// the ones that are gone (inotify drops those itself).
func (s *Source) syncWatches(w *fsnotify.Watcher, watched map[string]bool) {
	dirs := listDirs(s.dir)
	now := make(map[string]bool, len(dirs))
	for _, d := range dirs {
		now[d] = true
		if watched[d] {
			continue
		}
		if err := w.Add(d); err != nil {
			s.log.Warn("cannot watch directory", "dir", d, "error", err)
			continue
		}
		watched[d] = true
	}
	for d := range watched {
		if !now[d] {
			_ = w.Remove(d)
			delete(watched, d)
		}
	}
}

// forgetWatches drops path and every watched directory below it.
func forgetWatches(watched map[string]bool, path string) {
	path = filepath.Clean(path)
	prefix := path + string(filepath.Separator)
	for d := range watched {
		if d == path || strings.HasPrefix(d, prefix) {
			delete(watched, d)
		}
	}
}
