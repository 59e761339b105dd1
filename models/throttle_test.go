package models

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

// TestSharedLimiterAcrossReplicas: two stores on one database stand for two
// replicas. Failures through either count against the same key, a reset
// through one clears it for both, and the window ends on time.
func TestSharedLimiterAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s1, s2 := twoStores(t, WithClock(clock.Now))
	var errs []error
	a := s1.SharedLimiter("login-account", 3, 15*time.Minute)
	b := s2.SharedLimiter("login-account", 3, 15*time.Minute)
	other := s2.SharedLimiter("api-ip", 3, 15*time.Minute)
	for _, l := range []*SharedLimiter{a, b, other} {
		l.OnError = func(err error) { errs = append(errs, err) }
	}

	a.Fail(ctx, "ada@example.com")
	b.Fail(ctx, "ada@example.com")
	if blocked, _ := a.Blocked(ctx, "ada@example.com"); blocked {
		t.Fatal("blocked after 2 of 3 failures")
	}
	a.Fail(ctx, "ada@example.com")
	for name, l := range map[string]*SharedLimiter{"replica 1": a, "replica 2": b} {
		blocked, wait := l.Blocked(ctx, "ada@example.com")
		if !blocked || wait != 15*time.Minute {
			t.Errorf("%s: Blocked = %v, %v after 3 failures on two replicas; want true, 15m", name, blocked, wait)
		}
	}
	if blocked, _ := other.Blocked(ctx, "ada@example.com"); blocked {
		t.Error("a key of another scope is blocked")
	}
	if blocked, _ := b.Blocked(ctx, "bob@example.com"); blocked {
		t.Error("another key is blocked")
	}

	clock.Advance(14 * time.Minute)
	if blocked, wait := b.Blocked(ctx, "ada@example.com"); !blocked || wait != time.Minute {
		t.Errorf("14 minutes in: Blocked = %v, %v; want true, 1m", blocked, wait)
	}
	clock.Advance(time.Minute)
	if blocked, _ := b.Blocked(ctx, "ada@example.com"); blocked {
		t.Error("still blocked when the window ended")
	}
	// A failure after the window starts a new one at 1.
	b.Fail(ctx, "ada@example.com")
	b.Fail(ctx, "ada@example.com")
	if blocked, _ := a.Blocked(ctx, "ada@example.com"); blocked {
		t.Error("the old window's failures still count")
	}
	a.Reset(ctx, "ada@example.com")
	b.Fail(ctx, "ada@example.com")
	b.Fail(ctx, "ada@example.com")
	if blocked, _ := b.Blocked(ctx, "ada@example.com"); blocked {
		t.Error("Reset through replica 1 did not clear the count for replica 2")
	}
	if len(errs) > 0 {
		t.Fatalf("database errors: %v", errs)
	}
}

// TestSharedLimiterCountsConcurrentFailures: failures arriving at once on
// two replicas are all counted (one upsert each, no lost update).
func TestSharedLimiterCountsConcurrentFailures(t *testing.T) {
	ctx := context.Background()
	s1, s2 := twoStores(t)
	const workers, each = 8, 10
	limiters := []*SharedLimiter{s1.SharedLimiter("ip", workers*each, time.Hour), s2.SharedLimiter("ip", workers*each, time.Hour)}
	var mu sync.Mutex
	var errs []error
	for _, l := range limiters {
		l.OnError = func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				limiters[w%2].Fail(ctx, "203.0.113.7")
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("database errors: %v", errs[0])
	}
	var n int
	s1.db.Raw(`SELECT failures FROM throttle_failures`).Scan(&n)
	if n != workers*each {
		t.Fatalf("%d failures counted, want %d", n, workers*each)
	}
	if blocked, _ := limiters[0].Blocked(ctx, "203.0.113.7"); !blocked {
		t.Error("not blocked at the limit")
	}
}

// TestWriterLockTimesOut: on PostgreSQL a writer waits for the writer lock
// at most lock_timeout (as busy_timeout bounds it on SQLite), so a stuck
// transaction on one replica cannot hang every other writer for ever.
func TestWriterLockTimesOut(t *testing.T) {
	if !onPostgres() {
		t.Skip("SQLite's busy_timeout has its own test (TestConnectionPragmas)")
	}
	ctx := context.Background()
	s1, s2 := twoStores(t)
	mustAdmin(t, s1, "ada@example.com")
	var v string
	if err := s2.db.Raw(`SHOW lock_timeout`).Scan(&v).Error; err != nil || v != "10s" {
		t.Fatalf("lock_timeout = %q, %v; want 10s", v, err)
	}
	// Hold the writer lock in one store's transaction while the other
	// tries to write with a short lock_timeout of its own.
	held := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s1.exclusive(ctx, func(tx *gorm.DB) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	err := s2.db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`SET LOCAL lock_timeout = '200ms'`).Error; err != nil {
			return err
		}
		return tx.Exec(`SELECT pg_advisory_xact_lock(?)`, writerLockKey).Error
	})
	close(release)
	if err == nil || !strings.Contains(err.Error(), "lock timeout") {
		t.Errorf("waiting on a held writer lock: %v; want a lock timeout", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
