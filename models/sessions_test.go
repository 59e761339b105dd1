package models

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestSessionLifecycle(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now), WithSessionLifetime(SessionLifetime{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}))
	ctx := context.Background()
	u := mustAdmin(t, s, "ada@example.com")

	tok, sess, err := s.CreateSession(ctx, Actor{Kind: ActorHuman, ID: u.ID, Label: u.Handle(), IP: "203.0.113.9", UserAgent: "test-agent"})
	if err != nil {
		t.Fatal(err)
	}
	if sess.TokenHash == tok || sess.TokenHash != HashToken(tok) {
		t.Fatal("the session table must hold only the hash of the cookie token")
	}
	tok2, _, _ := s.CreateSession(ctx, Actor{Kind: ActorHuman, ID: u.ID, Label: u.Handle(), IP: "203.0.113.9", UserAgent: "test-agent"})
	if tok2 == tok {
		t.Fatal("two sign-ins produced the same session token")
	}
	got, gotUser, err := s.SessionByToken(ctx, tok)
	if err != nil || got.ID != sess.ID || gotUser.ID != u.ID {
		t.Fatalf("SessionByToken = %+v, %+v, %v", got, gotUser, err)
	}
	if _, _, err := s.SessionByToken(ctx, tok+"x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown token = %v", err)
	}

	// Idle: 29 minutes of silence is fine and refreshes last_seen; 30 is not.
	clock.Advance(29 * time.Minute)
	if _, _, err := s.SessionByToken(ctx, tok); err != nil {
		t.Fatalf("after 29 idle minutes: %v", err)
	}
	clock.Advance(29 * time.Minute)
	if _, _, err := s.SessionByToken(ctx, tok); err != nil {
		t.Fatalf("29 minutes after the last request: %v", err)
	}
	clock.Advance(30 * time.Minute)
	if _, _, err := s.SessionByToken(ctx, tok); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("after 30 idle minutes = %v; want ErrSessionExpired", err)
	}
	if _, _, err := s.SessionByToken(ctx, tok); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an expired session must be deleted, got %v", err)
	}
}

func TestSessionAbsoluteLimit(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now), WithSessionLifetime(SessionLifetime{Idle: 30 * time.Minute, Absolute: 2 * time.Hour}))
	ctx := context.Background()
	u := mustAdmin(t, s, "ada@example.com")
	tok, _, _ := s.CreateSession(ctx, Actor{Kind: ActorHuman, ID: u.ID, Label: u.Handle(), IP: "", UserAgent: ""})
	// Stay busy: a request every 20 minutes keeps the idle timer fresh.
	for elapsed := time.Duration(0); elapsed < 2*time.Hour-20*time.Minute; elapsed += 20 * time.Minute {
		clock.Advance(20 * time.Minute)
		if _, _, err := s.SessionByToken(ctx, tok); err != nil {
			t.Fatalf("at %v: %v", elapsed+20*time.Minute, err)
		}
	}
	clock.Advance(20 * time.Minute) // now exactly 2 h after sign-in
	if _, _, err := s.SessionByToken(ctx, tok); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("at the absolute limit = %v; want ErrSessionExpired", err)
	}
}

func TestSessionTouchIsCoalesced(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	u := mustAdmin(t, s, "ada@example.com")
	tok, sess, _ := s.CreateSession(ctx, Actor{Kind: ActorHuman, ID: u.ID, Label: u.Handle(), IP: "", UserAgent: ""})
	clock.Advance(30 * time.Second)
	got, _, _ := s.SessionByToken(ctx, tok)
	if !got.LastSeenAt.Equal(sess.LastSeenAt) {
		t.Fatal("last_seen_at was written twice within a minute")
	}
	clock.Advance(31 * time.Second)
	got, _, _ = s.SessionByToken(ctx, tok)
	if !got.LastSeenAt.Equal(clock.Now()) {
		t.Fatalf("last_seen_at = %v; want %v", got.LastSeenAt, clock.Now())
	}
}

func TestSessionEndsWhenUserLosesConsoleAccess(t *testing.T) {
	for _, change := range []map[string]any{{"role": RoleManager}, {"status": StatusDeactivated}} {
		s := openTestStore(t)
		ctx := context.Background()
		u := mustAdmin(t, s, "ada@example.com")
		tok, _, _ := s.CreateSession(ctx, Actor{Kind: ActorHuman, ID: u.ID, Label: u.Handle(), IP: "", UserAgent: ""})
		s.db.Model(&User{}).Where("id = ?", u.ID).Updates(change)
		if _, _, err := s.SessionByToken(ctx, tok); !errors.Is(err, ErrNotFound) {
			t.Errorf("after %v the session = %v; want it gone", change, err)
		}
	}
}

func TestEndSessionOwnership(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	a := mustAdmin(t, s, "ada@example.com")
	b := mustAdmin(t, s, "bob@example.com")
	_, bs, _ := s.CreateSession(ctx, Actor{Kind: ActorHuman, ID: b.ID, Label: b.Handle(), IP: "", UserAgent: ""})
	if err := s.EndSession(ctx, AsUser(a), bs.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ending another user's session = %v; want ErrNotFound", err)
	}
	if err := s.EndSession(ctx, AsUser(b), bs.ID); err != nil {
		t.Fatal(err)
	}
}

func TestPurgeExpiredSessions(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	u := mustAdmin(t, s, "ada@example.com")
	s.CreateSession(ctx, Actor{Kind: ActorHuman, ID: u.ID, Label: u.Handle(), IP: "", UserAgent: ""})
	clock.Advance(time.Hour)
	fresh, _, _ := s.CreateSession(ctx, Actor{Kind: ActorHuman, ID: u.ID, Label: u.Handle(), IP: "", UserAgent: ""})
	n, err := s.PurgeExpiredSessions(ctx)
	if err != nil || n != 1 {
		t.Fatalf("purged %d, %v; want 1", n, err)
	}
	if _, _, err := s.SessionByToken(ctx, fresh); err != nil {
		t.Fatalf("fresh session purged: %v", err)
	}
}

// TestSessionByTokenReads: every console page loads its session and
// user; one statement does both, and each field arrives as stored.
func TestSessionByTokenReads(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	u := mustAdmin(t, s, "ada@example.com")
	tok, sess, err := s.CreateSession(ctx, Actor{Kind: ActorHuman, ID: u.ID, Label: u.Handle(), IP: "203.0.113.9", UserAgent: "test-agent"})
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	n := countStatements(t, s)
	got, gotUser, err := s.SessionByToken(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if *n != 2 {
		t.Errorf("SessionByToken ran %d statements; want 2 (the session, its user)", *n)
	}
	if !reflect.DeepEqual(*got, *sess) {
		t.Errorf("session = %+v\nwant      %+v", *got, *sess)
	}
	if !reflect.DeepEqual(*gotUser, *want) {
		t.Errorf("user = %+v\nwant   %+v", *gotUser, *want)
	}
}
