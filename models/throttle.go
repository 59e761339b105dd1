package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// SharedLimiter counts failures per key in the database, so every replica
// sees every failure: with PostgreSQL and several replicas behind a load
// balancer, the sign-in and API-authentication throttles use it and an
// attacker gains nothing by spreading attempts over the replicas. (The
// single-process SQLite deployment counts in memory instead.)
//
// Each key has a fixed window that starts at its first failure; Limit
// failures within it block the key until the window ends. Keys are stored
// as SHA-256 of scope and key.
type SharedLimiter struct {
	store  *Store
	scope  string
	limit  int
	window time.Duration
	// OnError hears database errors; the limiter then lets the attempt
	// through, as the attempt itself needs the same database.
	OnError func(error)
	fails   atomic.Uint64
}

// SharedLimiter returns a limiter allowing limit failures per window for
// each key of scope.
func (s *Store) SharedLimiter(scope string, limit int, window time.Duration) *SharedLimiter {
	return &SharedLimiter{store: s, scope: scope, limit: limit, window: window}
}

func (l *SharedLimiter) keyHash(key string) string {
	sum := sha256.Sum256([]byte(l.scope + "\x00" + key))
	return hex.EncodeToString(sum[:])
}

func (l *SharedLimiter) report(err error) {
	if err != nil && l.OnError != nil {
		l.OnError(fmt.Errorf("models: throttle %s: %w", l.scope, err))
	}
}

// Blocked reports whether key has used up its failures, and for how long.
func (l *SharedLimiter) Blocked(ctx context.Context, key string) (bool, time.Duration) {
	var row struct {
		WindowStart time.Time
		Failures    int
	}
	err := l.store.db.WithContext(ctx).Table("throttle_failures").Select("window_start, failures").
		Where("key_hash = ?", l.keyHash(key)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, 0
	}
	if err != nil {
		l.report(err)
		return false, 0
	}
	left := row.WindowStart.Add(l.window).Sub(l.store.Now())
	if left <= 0 || row.Failures < l.limit {
		return false, 0
	}
	return true, left
}

// Fail records one failure for key, starting a new window when the last
// one has ended. One statement, so concurrent failures on any replica all
// count.
func (l *SharedLimiter) Fail(ctx context.Context, key string) {
	now := l.store.Now()
	ended := now.Add(-l.window)
	err := l.store.db.WithContext(ctx).Exec(`INSERT INTO throttle_failures (key_hash, window_start, failures) VALUES (?, ?, 1)
		ON CONFLICT (key_hash) DO UPDATE SET
			failures = CASE WHEN throttle_failures.window_start <= ? THEN 1 ELSE throttle_failures.failures + 1 END,
			window_start = CASE WHEN throttle_failures.window_start <= ? THEN excluded.window_start ELSE throttle_failures.window_start END`,
		l.keyHash(key), now, ended, ended).Error
	l.report(err)
	// Now and then, forget windows that ended long ago, so the table holds
	// about a day of failing keys at most.
	if l.fails.Add(1)%256 == 0 {
		l.report(l.store.db.WithContext(ctx).Exec(`DELETE FROM throttle_failures WHERE window_start < ?`, now.Add(-24*time.Hour)).Error)
	}
}

// Reset forgets key's failures (after a successful sign-in).
func (l *SharedLimiter) Reset(ctx context.Context, key string) {
	l.report(l.store.db.WithContext(ctx).Exec(`DELETE FROM throttle_failures WHERE key_hash = ?`, l.keyHash(key)).Error)
}
