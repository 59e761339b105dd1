package models

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testClock is a settable clock for expiry tests.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testHasher keeps Argon2id real but small, so store tests stay quick; the
// production parameters have their own test.
var testHasher = NewPasswordHasher(1024, 1, 1)

func openTestStore(t *testing.T, opts ...Option) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "warden.db")
	opts = append([]Option{WithPasswordHasher(testHasher)}, opts...)
	s, err := OpenSQLite(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

const testPassword = "violet kettle on a windy ridge"

func mustAdmin(t *testing.T, s *Store, email string) *User {
	t.Helper()
	u, err := s.CreateHumanAdmin(context.Background(), NewHuman{
		Name: "Ada Admin", Email: email, Password: testPassword, Confirm: testPassword,
	})
	if err != nil {
		t.Fatalf("create admin: %v", err)
	}
	return u
}
