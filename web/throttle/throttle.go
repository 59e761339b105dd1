// Package throttle counts failed attempts per key (an account, a client IP)
// in fixed windows and refuses further attempts once a key reaches its limit.
//
// Limiter keeps its counters in process memory: they reset on restart and
// are per process, which is right for the single-process SQLite
// deployment. With PostgreSQL and several replicas, the counters live in
// the database instead (models.SharedLimiter), behind the same Counter
// interface, so an attacker cannot multiply the limit by spreading attempts
// over the replicas.
package throttle

import (
	"context"
	"sync"
	"time"
)

// Counter counts failures per key and refuses keys that reached a limit.
type Counter interface {
	// Blocked reports whether key has used up its failures, and for how long.
	Blocked(ctx context.Context, key string) (bool, time.Duration)
	// Fail records one failure for key.
	Fail(ctx context.Context, key string)
	// Reset forgets key's failures.
	Reset(ctx context.Context, key string)
}

// maxKeys bounds memory under a flood of distinct keys; past it, the oldest
// windows are forgotten first (expired ones are dropped on every sweep).
const maxKeys = 100_000

// Limiter allows Limit failures per key within Window.
type Limiter struct {
	Limit  int
	Window time.Duration
	Now    func() time.Time

	mu      sync.Mutex
	entries map[string]*entry
	sweeps  int
}

type entry struct {
	count int
	start time.Time
}

// New returns a Limiter allowing limit failures per window.
func New(limit int, window time.Duration) *Limiter {
	return &Limiter{Limit: limit, Window: window, Now: time.Now, entries: map[string]*entry{}}
}

// Blocked reports whether key has used up its failures, and for how long it
// stays blocked.
func (l *Limiter) Blocked(_ context.Context, key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	e, ok := l.entries[key]
	if !ok || now.Sub(e.start) >= l.Window {
		return false, 0
	}
	if e.count >= l.Limit {
		return true, e.start.Add(l.Window).Sub(now)
	}
	return false, 0
}

// Fail records one failure for key.
func (l *Limiter) Fail(_ context.Context, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	e, ok := l.entries[key]
	if !ok || now.Sub(e.start) >= l.Window {
		if !ok && len(l.entries) >= maxKeys {
			l.sweep(now)
		}
		l.entries[key] = &entry{count: 1, start: now}
		return
	}
	e.count++
}

// Reset forgets key's failures (after a successful sign-in).
func (l *Limiter) Reset(_ context.Context, key string) {
	l.mu.Lock()
	delete(l.entries, key)
	l.mu.Unlock()
}

// sweep drops expired windows; if the map is still full, it drops the oldest
// half so memory stays bounded. Called with l.mu held.
func (l *Limiter) sweep(now time.Time) {
	for k, e := range l.entries {
		if now.Sub(e.start) >= l.Window {
			delete(l.entries, k)
		}
	}
	if len(l.entries) < maxKeys {
		return
	}
	cutoff := now.Add(-l.Window / 2)
	for k, e := range l.entries {
		if e.start.Before(cutoff) {
			delete(l.entries, k)
		}
	}
	for k := range l.entries {
		if len(l.entries) < maxKeys/2 {
			break
		}
		delete(l.entries, k)
	}
}
