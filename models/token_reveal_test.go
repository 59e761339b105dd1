package models

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"
)

func revealKeyFor(t *testing.T, sessionID int64) RevealKey {
	t.Helper()
	k := RevealKey{SessionID: sessionID, Key: make([]byte, 32)}
	if _, err := rand.Read(k.Key); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestTokenRevealOnceToItsSession(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	svc := mustService(t, s, "Reveal")
	mine, theirs := revealKeyFor(t, 7), revealKeyFor(t, 8)

	tok, id, err := s.GenerateTokenForReveal(ctx, System, svc.ID, NewToken{Name: "once", Expiry: Expiry{Days: 30}}, mine)
	if err != nil {
		t.Fatal(err)
	}
	var row tokenReveal
	if err := s.db.Where("id = ?", id).Take(&row).Error; err != nil {
		t.Fatal(err)
	}
	if row.SessionID != 7 || row.TokenID != tok.ID || len(row.Sealed) == 0 || bytes.Contains(row.Sealed, []byte("wdn_")) {
		t.Fatalf("stored reveal %+v: want the secret sealed for session 7", row)
	}

	// Another session, or the right session id with another key, gets the
	// token without its secret.
	for name, k := range map[string]RevealKey{"another session": theirs, "no key": {SessionID: 7}} {
		r, err := s.TakeTokenReveal(ctx, id, k)
		if err != nil || r.Secret != "" || r.Token.ID != tok.ID {
			t.Fatalf("%s: %+v, %v; want the token without its secret", name, r, err)
		}
	}
	r, err := s.TakeTokenReveal(ctx, id, mine)
	if err != nil || r.Secret == "" || HashToken(r.Secret) != tok.TokenHash || r.Replaces != nil {
		t.Fatalf("first take: %+v, %v; want the token's secret", r, err)
	}
	r, err = s.TakeTokenReveal(ctx, id, mine)
	if err != nil || r.Secret != "" || r.Token.Name != "once" {
		t.Fatalf("second take: %+v, %v; want the token without its secret", r, err)
	}
	if _, err := s.TakeTokenReveal(ctx, "unknown", mine); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown reveal: %v; want ErrNotFound", err)
	}

	// A wrong key for the right session: the secret is lost, not shown.
	_, lost, _ := s.GenerateTokenForReveal(ctx, System, svc.ID, NewToken{Name: "rekeyed", Expiry: Expiry{Days: 30}}, mine)
	if r, err := s.TakeTokenReveal(ctx, lost, revealKeyFor(t, 7)); err != nil || r.Secret != "" {
		t.Fatalf("wrong key: %+v, %v", r, err)
	}
	if r, _ := s.TakeTokenReveal(ctx, lost, mine); r.Secret != "" {
		t.Error("a failed opening left the secret to be shown later")
	}

	// No session, no token: nothing is generated without somewhere to seal it.
	if _, _, err := s.GenerateTokenForReveal(ctx, System, svc.ID, NewToken{Name: "nowhere", Expiry: Expiry{Days: 30}}, RevealKey{SessionID: 7}); err == nil {
		t.Error("generated a token with no key to seal it")
	}
	if toks, _ := s.TokensOf(ctx, svc.ID); len(toks) != 2 {
		t.Errorf("%d tokens; want 2", len(toks))
	}
}

func TestTokenRevealExpiresAndIsPurged(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	svc := mustService(t, s, "Reveal")
	k := revealKeyFor(t, 1)

	_, late, _ := s.GenerateTokenForReveal(ctx, System, svc.ID, NewToken{Name: "late", Expiry: Expiry{Days: 30}}, k)
	clock.Advance(RevealTTL - time.Microsecond)
	_, onTime, _ := s.GenerateTokenForReveal(ctx, System, svc.ID, NewToken{Name: "on-time", Expiry: Expiry{Days: 30}}, k)
	clock.Advance(time.Microsecond)
	if r, err := s.TakeTokenReveal(ctx, late, k); err != nil || r.Secret != "" {
		t.Fatalf("after %v: %+v, %v; want no secret", RevealTTL, r, err)
	}
	// The purge clears sealed secrets past their 10 minutes, and keeps the
	// rest.
	_, kept, _ := s.GenerateTokenForReveal(ctx, System, svc.ID, NewToken{Name: "kept", Expiry: Expiry{Days: 30}}, k)
	clock.Advance(RevealTTL - time.Microsecond)
	if _, err := s.PurgeTokenReveals(ctx); err != nil {
		t.Fatal(err)
	}
	var sealed int64
	s.db.Model(&tokenReveal{}).Where("sealed IS NOT NULL").Count(&sealed)
	if sealed != 1 {
		t.Errorf("%d sealed reveals after the purge; want 1 (kept)", sealed)
	}
	if r, err := s.TakeTokenReveal(ctx, onTime, k); err != nil || r.Secret != "" {
		t.Errorf("on-time, after its 10 minutes and a purge: %+v, %v", r, err)
	}
	if r, err := s.TakeTokenReveal(ctx, kept, k); err != nil || r.Secret == "" {
		t.Errorf("kept, within its 10 minutes: %+v, %v; want its secret", r, err)
	}
	// A day on, the reveals are forgotten.
	clock.Advance(revealKeep)
	if _, err := s.PurgeTokenReveals(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeTokenReveal(ctx, late, k); !errors.Is(err, ErrNotFound) {
		t.Errorf("a day on: %v; want ErrNotFound", err)
	}
}

func TestTokenRevealRotation(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	svc := mustService(t, s, "Reveal")
	old, _ := mustToken(t, s, svc.ID, "deploy", Expiry{Days: 30})
	k := revealKeyFor(t, 3)
	fresh, id, err := s.RotateTokenForReveal(ctx, System, old.ID, time.Hour, k)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.TakeTokenReveal(ctx, id, k)
	if err != nil || HashToken(r.Secret) != fresh.TokenHash || r.Replaces == nil || r.Replaces.ID != old.ID {
		t.Fatalf("rotation reveal: %+v, %v", r, err)
	}
	// A refused rotation seals nothing.
	if _, _, err := s.RotateTokenForReveal(ctx, System, fresh.ID+100, time.Hour, k); err == nil {
		t.Error("rotated an unknown token")
	}
	var n int64
	s.db.Model(&tokenReveal{}).Count(&n)
	if n != 1 {
		t.Errorf("%d reveals; want 1", n)
	}
}

// TestTokenRevealTakenOnce races takes of one reveal: one shows the secret.
func TestTokenRevealTakenOnce(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	svc := mustService(t, s, "Reveal")
	k := revealKeyFor(t, 5)
	_, id, err := s.GenerateTokenForReveal(ctx, System, svc.ID, NewToken{Name: "raced", Expiry: Expiry{Days: 30}}, k)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	secrets := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			r, err := s.TakeTokenReveal(ctx, id, k)
			if err != nil {
				t.Error(err)
				return
			}
			if r.Secret != "" {
				secrets <- r.Secret
			}
		})
	}
	wg.Wait()
	close(secrets)
	if n := len(secrets); n != 1 {
		t.Errorf("%d takes showed the secret; want 1", n)
	}
}
