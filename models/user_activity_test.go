package models

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

// countUserTouches counts the statements that write users.last_active_at.
func countUserTouches(t *testing.T, s *Store) func() int {
	t.Helper()
	var mu sync.Mutex
	n := 0
	if err := s.db.Callback().Raw().After("gorm:raw").Register("test:touches:"+t.Name(), func(db *gorm.DB) {
		if strings.HasPrefix(strings.TrimSpace(db.Statement.SQL.String()), "UPDATE users SET last_active_at") {
			mu.Lock()
			n++
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	return func() int { mu.Lock(); defer mu.Unlock(); return n }
}

func lastActive(t *testing.T, s *Store, id int64) *time.Time {
	t.Helper()
	u, err := s.UserByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u.LastActiveAt
}

// TestSignInSetsLastActive: a person who signs in is active from then on,
// and the sign-in is the only event.
func TestSignInSetsLastActive(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	u := mustAdmin(t, s, "ada@example.com")
	if got := lastActive(t, s, u.ID); got != nil {
		t.Fatalf("before signing in, last active = %v; want never", got)
	}
	clock.Advance(time.Hour)
	mark := auLastID(t, s)
	if _, _, err := s.CreateSession(ctx, Actor{Kind: ActorHuman, ID: u.ID, Label: u.Handle()}); err != nil {
		t.Fatal(err)
	}
	if got := lastActive(t, s, u.ID); got == nil || !got.Equal(clock.Now()) {
		t.Fatalf("after signing in, last active = %v; want %v", got, clock.Now())
	}
	if evs := auEventsAfter(t, s, mark); len(evs) != 1 || evs[0].Action != "auth.login" {
		t.Fatalf("signing in wrote %d events; want auth.login only", len(evs))
	}
}

// TestConsoleUseTouchesLastActive: console requests move a person's last
// activity at most once a minute, without an audit event.
func TestConsoleUseTouchesLastActive(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	u := mustAdmin(t, s, "ada@example.com")
	tok, _, err := s.CreateSession(ctx, Actor{Kind: ActorHuman, ID: u.ID, Label: u.Handle()})
	if err != nil {
		t.Fatal(err)
	}
	signedIn := clock.Now()
	touches := countUserTouches(t, s)
	mark := auLastID(t, s)

	clock.Advance(59 * time.Second)
	for range 3 {
		_, got, err := s.SessionByToken(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if got.LastActiveAt == nil || !got.LastActiveAt.Equal(signedIn) {
			t.Fatalf("within a minute the user reads last active %v; want %v", got.LastActiveAt, signedIn)
		}
	}
	if n := touches(); n != 0 {
		t.Fatalf("requests within a minute of signing in wrote last_active_at %d times", n)
	}
	if got := lastActive(t, s, u.ID); !got.Equal(signedIn) {
		t.Fatalf("last active moved to %v within a minute", got)
	}

	clock.Advance(time.Second)
	_, got, err := s.SessionByToken(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastActiveAt == nil || !got.LastActiveAt.Equal(clock.Now()) {
		t.Fatalf("a minute on, the user reads last active %v; want %v", got.LastActiveAt, clock.Now())
	}
	if stored := lastActive(t, s, u.ID); stored == nil || !stored.Equal(clock.Now()) {
		t.Fatalf("a minute on, last active = %v; want %v", stored, clock.Now())
	}
	if _, _, err := s.SessionByToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if n := touches(); n != 1 {
		t.Fatalf("last_active_at written %d times; want once", n)
	}
	if evs := auEventsAfter(t, s, mark); len(evs) != 0 {
		t.Fatalf("touching last activity wrote %d events (first %s); want none", len(evs), evs[0].Action)
	}
}

// TestPeopleSortAndFilterByLastActive: a person's activity sorts and
// filters like a service user's.
func TestPeopleSortAndFilterByLastActive(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	ada := mustAdmin(t, s, "ada@example.com")
	svc := mustService(t, s, "Nightly")
	_, secret := mustToken(t, s, svc.ID, "nightly", Expiry{Days: 365})
	if _, _, err := s.CreateSession(ctx, Actor{Kind: ActorHuman, ID: ada.ID, Label: ada.Handle()}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(24 * time.Hour)
	auth, err := s.AuthenticateToken(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	s.RecordTokenUse(auth, "192.0.2.1", "cron/1")
	if _, err := s.FlushTokenUse(ctx); err != nil {
		t.Fatal(err)
	}
	q := DefaultUserQuery()
	q.Sort, q.Desc = SortLastActive, true
	page, err := s.ListUsers(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Rows) != 2 || page.Rows[0].ID != svc.ID || page.Rows[1].ID != ada.ID {
		t.Fatalf("newest first = %v; want the service user, then Ada", uaRowIDs(page.Rows))
	}
	clock.Advance(90*24*time.Hour - 12*time.Hour) // Ada idle 90.5 days, the service user 89.5
	q = DefaultUserQuery()
	q.Health = "idle"
	if page, err = s.ListUsers(ctx, q); err != nil {
		t.Fatal(err)
	}
	if len(page.Rows) != 1 || page.Rows[0].ID != ada.ID {
		t.Fatalf("idle = %v; want Ada only", uaRowIDs(page.Rows))
	}
}

// TestListUsersLastActiveOrderMatchesRows: token uses not yet flushed do
// not make a row show a time its place in the order or filter contradicts.
func TestListUsersLastActiveOrderMatchesRows(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	use := func(secret string) {
		t.Helper()
		auth, err := s.AuthenticateToken(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		s.RecordTokenUse(auth, "192.0.2.1", "job/1")
	}
	var secrets []string
	for _, name := range []string{"First", "Second", "Third"} {
		u := mustService(t, s, name)
		_, secret := mustToken(t, s, u.ID, strings.ToLower(name), Expiry{Days: 365})
		secrets = append(secrets, secret)
	}
	for _, secret := range secrets { // First used longest ago
		clock.Advance(time.Hour)
		use(secret)
	}
	if _, err := s.FlushTokenUse(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(100 * 24 * time.Hour) // all three idle
	use(secrets[0])                     // First is busy again, not yet flushed

	for _, desc := range []bool{true, false} {
		q := DefaultUserQuery()
		q.Sort, q.Desc = SortLastActive, desc
		page, err := s.ListUsers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(page.Rows); i++ {
			a, b := page.Rows[i-1].LastActiveAt, page.Rows[i].LastActiveAt
			if a == nil || b == nil {
				t.Fatalf("row without last activity: %v", uaRowIDs(page.Rows))
			}
			if (desc && a.Before(*b)) || (!desc && a.After(*b)) {
				t.Errorf("desc=%v: row %d shows %v, row %d shows %v: out of order", desc, i-1, a, i, b)
			}
		}
	}
	q := DefaultUserQuery()
	q.Health = "idle"
	page, err := s.ListUsers(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range page.Rows {
		if r.LastActiveAt == nil || clock.Now().Sub(*r.LastActiveAt) < 90*24*time.Hour {
			t.Errorf("idle filter shows %s last active %v", r.Name, r.LastActiveAt)
		}
	}
	// Sorted by name, a page shows the pending use.
	page, err = s.ListUsers(ctx, DefaultUserQuery())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range page.Rows {
		if r.Name == "First" && (r.LastActiveAt == nil || !r.LastActiveAt.Equal(clock.Now())) {
			t.Errorf("by name, First shows %v; want the pending use %v", r.LastActiveAt, clock.Now())
		}
	}
}

func uaRowIDs(rows []UserRow) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}
