package peers

import (
	"log/slog"
	"sync"
	"time"
)

// errorLog logs each key's failures at most once per interval, with the
// number suppressed since, and logs a recovery once.
type errorLog struct {
	logger *slog.Logger
	every  time.Duration
	now    func() time.Time
	mu     sync.Mutex
	state  map[string]*errorState
}

type errorState struct {
	last       time.Time
	suppressed int
}

func newErrorLog(log *slog.Logger, every time.Duration, now func() time.Time) *errorLog {
	return &errorLog{logger: log, every: every, now: now, state: map[string]*errorState{}}
}

func (l *errorLog) log(key, msg string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	s := l.state[key]
	if s == nil {
		s = &errorState{}
		l.state[key] = s
	} else if now.Sub(s.last) < l.every {
		s.suppressed++
		return
	}
	l.logger.Warn(msg, "peer", key, "err", err, "suppressed", s.suppressed)
	s.last, s.suppressed = now, 0
}

func (l *errorLog) ok(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, failing := l.state[key]; failing {
		delete(l.state, key)
		l.logger.Info("peer answers again", "peer", key)
	}
}

// retain forgets the failures of peers no longer discovered.
func (l *errorLog) retain(keys map[string]bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.state {
		if k != "discover" && !keys[k] {
			delete(l.state, k)
		}
	}
}
