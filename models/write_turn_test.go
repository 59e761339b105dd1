package models

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

// waitFor polls cond (a state another goroutine reaches) until it holds or
// five seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestWritersTakeTurns: while one write transaction runs, the process's
// other writers wait for their turn without holding a connection (so they
// never meet at the database's lock, whose busy handler sleeps), a waiter
// whose context ends gives up at once, and the rest then run. On SQLite a
// session's touch or end waits in the same line.
func TestWritersTakeTurns(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	inside, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.exclusive(ctx, func(tx *gorm.DB) error {
			close(inside)
			<-release
			return nil
		})
	}()
	<-inside

	const waiters = 6
	var wg sync.WaitGroup
	errs := make(chan error, waiters)
	for range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.exclusive(ctx, func(tx *gorm.DB) error { return tx.Exec("SELECT 1").Error })
		}()
	}
	waitFor(t, "every writer waits", func() bool { return s.WritersWaiting() == waiters })
	if n := s.SQLDB().Stats().InUse; n != 1 {
		t.Errorf("%d connections in use while %d writers wait behind one: waiting writers hold connections", n, waiters)
	}

	gone, cancel := context.WithCancel(ctx)
	late := make(chan error, 1)
	go func() { late <- s.exclusive(gone, func(*gorm.DB) error { return errors.New("ran without its turn") }) }()
	waitFor(t, "the late writer waits", func() bool { return s.WritersWaiting() == waiters+1 })
	cancel()
	if err := <-late; !errors.Is(err, context.Canceled) {
		t.Errorf("a waiting writer whose context ended: %v, want context.Canceled", err)
	}
	if n := s.WritersWaiting(); n != waiters {
		t.Errorf("%d writers waiting after one gave up, want %d", n, waiters)
	}

	// On SQLite a session's touch or end takes its turn too.
	if !onPostgres() {
		gone, cancel := context.WithCancel(ctx)
		ended := make(chan error, 1)
		go func() { ended <- s.DeleteSessionByToken(gone, "some cookie") }()
		waitFor(t, "the session's end waits", func() bool { return s.WritersWaiting() == waiters+1 })
		cancel()
		if err := <-ended; !errors.Is(err, context.Canceled) {
			t.Errorf("a waiting session end whose context ended: %v, want context.Canceled", err)
		}
	}

	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a writer that waited its turn: %v", err)
		}
	}
	if n := s.WritersWaiting(); n != 0 {
		t.Errorf("%d writers still waiting", n)
	}
}
