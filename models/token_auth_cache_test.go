package models

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestAuthCacheFollowsEveryChange: authentications are kept per data
// revision (token_auth_cache.go). Every change that decides whether a token works,
// made through a second store on the same database (another replica, or the
// command line beside a running server), applies to the first store's very
// next authentication; expiry applies with no write at all.
func TestAuthCacheFollowsEveryChange(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	server, other := twoStores(t, WithClock(clock.Now))
	admin := AsUser(mustAdmin(t, other, "ada@example.com"))

	// kept authenticates twice on the server, so the second answer comes
	// from its cache.
	kept := func(secret string) *TokenAuth {
		t.Helper()
		for range 2 {
			if _, err := server.AuthenticateToken(ctx, secret); err != nil {
				t.Fatalf("before the change: %v", err)
			}
		}
		if !isKept(server, secret) {
			t.Fatal("the authentication was not kept")
		}
		a, _ := server.AuthenticateToken(ctx, secret)
		return a
	}
	refused := func(secret, want string) {
		t.Helper()
		_, err := server.AuthenticateToken(ctx, secret)
		var ae *TokenAuthError
		if !errors.As(err, &ae) || ae.Reason != want {
			t.Errorf("after the change: %v; want %s", err, want)
		}
	}
	n := 0
	fresh := func(e Expiry) (*User, *Token, string) {
		t.Helper()
		n++
		u, err := other.CreateServiceUser(ctx, admin, NewServiceUser{Name: fmt.Sprintf("Pipeline %d", n), Role: RoleMember})
		if err != nil {
			t.Fatal(err)
		}
		tok, secret, err := other.GenerateToken(ctx, admin, u.ID, NewToken{Name: "ci", Expiry: e})
		if err != nil {
			t.Fatal(err)
		}
		return u, tok, secret
	}
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	t.Run("revoked, then restored", func(t *testing.T) {
		_, tok, secret := fresh(Expiry{Days: 30})
		kept(secret)
		_, err := other.RevokeToken(ctx, admin, tok.ID)
		must(t, err)
		refused(secret, "revoked")
		_, err = other.RestoreToken(ctx, admin, tok.ID)
		must(t, err)
		if _, err := server.AuthenticateToken(ctx, secret); err != nil {
			t.Errorf("restored token refused: %v", err)
		}
	})
	t.Run("deleted", func(t *testing.T) {
		_, tok, secret := fresh(Expiry{Days: 30})
		kept(secret)
		_, err := other.RevokeToken(ctx, admin, tok.ID) // deleting needs it
		must(t, err)
		_, err = other.DeleteToken(ctx, admin, tok.ID)
		must(t, err)
		refused(secret, "unknown")
	})
	t.Run("user deactivated", func(t *testing.T) {
		u, _, secret := fresh(Expiry{Days: 30})
		kept(secret)
		_, err := other.RevokeAllTokens(ctx, admin, u.ID)
		must(t, err)
		_, err = other.DeactivateUser(ctx, admin, u.ID)
		must(t, err)
		_, err = server.AuthenticateToken(ctx, secret)
		if !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("token of a deactivated user: %v", err)
		}
	})
	t.Run("role changed", func(t *testing.T) {
		u, _, secret := fresh(Expiry{Days: 30})
		if a := kept(secret); a.User.Role != RoleMember {
			t.Fatalf("role %s", a.User.Role)
		}
		_, err := other.UpdateUser(ctx, admin, u.ID, UserUpdate{Role: RoleAdmin})
		must(t, err)
		a, err := server.AuthenticateToken(ctx, secret)
		if err != nil || a.User.Role != RoleAdmin {
			t.Errorf("after the role change: %v, %+v", err, a)
		}
	})
	t.Run("rotated: the old token works for the overlap, then expires", func(t *testing.T) {
		_, tok, secret := fresh(Expiry{Days: 30})
		kept(secret)
		_, next, err := other.RotateToken(ctx, admin, tok.ID, time.Hour)
		must(t, err)
		kept(secret)
		kept(next)
		clock.Advance(time.Hour)
		refused(secret, "expired")
		if _, err := server.AuthenticateToken(ctx, next); err != nil {
			t.Errorf("replacement: %v", err)
		}
		clock.Advance(-time.Hour)
	})
	t.Run("expired, with no write", func(t *testing.T) {
		_, _, secret := fresh(Expiry{Days: 1})
		kept(secret)
		before := mustRevision(t, server)
		clock.Advance(24 * time.Hour)
		refused(secret, "expired")
		if mustRevision(t, server) != before {
			t.Fatal("the revision moved: the kept entry was not what refused")
		}
		clock.Advance(-24 * time.Hour)
	})
	t.Run("kept copies are the caller's own", func(t *testing.T) {
		_, _, secret := fresh(Expiry{Days: 30})
		a := kept(secret)
		a.User.Name, a.Token.ID = "changed by a caller", -1
		b, err := server.AuthenticateToken(ctx, secret)
		if err != nil || b.User.Name == a.User.Name || b.Token.ID == -1 {
			t.Errorf("a caller's change reached the cache: %+v %+v", b.User, b.Token)
		}
	})
}

func mustRevision(t *testing.T, s *Store) int64 {
	t.Helper()
	n, err := s.revision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// isKept reports whether the store keeps an authentication of secret at
// the current revision.
func isKept(s *Store, secret string) bool {
	rev, err := s.revision(context.Background())
	if err != nil {
		return false
	}
	s.auths.mu.Lock()
	defer s.auths.mu.Unlock()
	_, ok := s.auths.auths[HashToken(secret)]
	return ok && s.auths.rev == rev
}

// TestAuthCacheSeesChangesMadeBehindItsBack: a token that authenticated
// once (and so is kept) is refused on the very next request after a direct
// SQL UPDATE of its user's status, or of its own revoked_at, that writes no
// audit event: triggers move the revision, not the store (issue 15).
func TestAuthCacheSeesChangesMadeBehindItsBack(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	for _, tc := range []struct{ name, sql, want string }{
		{"user deactivated", `UPDATE users SET status = 'deactivated' WHERE id = ?`, "user_deactivated"},
		{"token revoked", `UPDATE tokens SET revoked_at = CURRENT_TIMESTAMP WHERE user_id = ?`, "revoked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := mustService(t, s, "Behind "+tc.name)
			_, secret := mustToken(t, s, svc.ID, "ci", Expiry{Days: 30})
			for range 2 {
				if _, err := s.AuthenticateToken(ctx, secret); err != nil {
					t.Fatal(err)
				}
			}
			if !isKept(s, secret) {
				t.Fatal("the authentication was not kept")
			}
			events := countEvents(t, s)
			if err := s.db.Exec(tc.sql, svc.ID).Error; err != nil {
				t.Fatal(err)
			}
			if n := countEvents(t, s); n != events {
				t.Fatalf("the direct UPDATE wrote %d audit events", n-events)
			}
			_, err := s.AuthenticateToken(ctx, secret)
			var ae *TokenAuthError
			if !errors.As(err, &ae) || ae.Reason != tc.want {
				t.Errorf("after a direct UPDATE: %v; want %s", err, tc.want)
			}
		})
	}
}

func countEvents(t *testing.T, s *Store) int64 {
	t.Helper()
	var n int64
	if err := s.db.Model(&Event{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCallerDetailFollowsChanges: GET /me's detail is kept with the
// authentication; teams, names and the count of working tokens follow
// other processes' writes, and the count also follows the clock when a
// token expires.
func TestCallerDetailFollowsChanges(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	server, other := twoStores(t, WithClock(clock.Now))
	admin := AsUser(mustAdmin(t, other, "ada@example.com"))
	team, err := other.CreateTeam(ctx, admin, TeamInput{Name: "Data"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := other.CreateServiceUser(ctx, admin, NewServiceUser{Name: "Loader", Role: RoleMember, Owner: Owner{TeamID: team.ID}})
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := other.GenerateToken(ctx, admin, u.ID, NewToken{Name: "main", Expiry: Expiry{Days: 90}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.GenerateToken(ctx, admin, u.ID, NewToken{Name: "short", Expiry: Expiry{Days: 2}}); err != nil {
		t.Fatal(err)
	}
	n := countStatements(t, server)
	me := func() (*UserDetail, int64) {
		t.Helper()
		auth, err := server.AuthenticateToken(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		d, active, err := server.CallerDetail(ctx, auth)
		if err != nil {
			t.Fatal(err)
		}
		return d, active
	}
	if d, active := me(); active != 2 || d.OwnerName != "Data" {
		t.Fatalf("first: %d tokens, owner %q", active, d.OwnerName)
	}
	before := *n
	if _, active := me(); active != 2 {
		t.Fatalf("kept: %d tokens", active)
	}
	if reads := *n - before; reads != 0 {
		t.Errorf("unchanged: %d statements for authentication and detail; want none but the revision's", reads)
	}

	// The short token expires: the count drops with no write.
	clock.Advance(2 * 24 * time.Hour)
	if _, active := me(); active != 1 {
		t.Errorf("after an expiry: %d working tokens; want 1", active)
	}
	// Another process renames the owning team and adds the user to it.
	if _, err := other.UpdateTeam(ctx, admin, team.ID, TeamInput{Name: "Data platform"}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.UpdateUser(ctx, admin, u.ID, UserUpdate{Role: RoleMember, TeamIDs: []int64{team.ID}, Owner: Owner{TeamID: team.ID}}); err != nil {
		t.Fatal(err)
	}
	d, _ := me()
	if d.OwnerName != "Data platform" {
		t.Errorf("owner after the rename: %q", d.OwnerName)
	}
	var names []string
	for _, tm := range d.Teams {
		names = append(names, tm.Name)
	}
	if fmt.Sprint(names) != "[Data platform Public]" {
		t.Errorf("teams: %v", names)
	}
	// And a new token.
	if _, _, err := other.GenerateToken(ctx, admin, u.ID, NewToken{Name: "third", Expiry: Expiry{Days: 30}}); err != nil {
		t.Fatal(err)
	}
	if _, active := me(); active != 2 {
		t.Errorf("after another process made a token: %d working tokens; want 2", active)
	}
}

// TestAuthCacheUnderConcurrentRevocation: with readers authenticating
// throughout, a revocation is never followed by a success: once
// RevokeToken returns, every authentication that starts refuses.
func TestAuthCacheUnderConcurrentRevocation(t *testing.T) {
	ctx := context.Background()
	server, other := twoStores(t)
	admin := AsUser(mustAdmin(t, other, "ada@example.com"))
	for round := range 20 {
		u, err := other.CreateServiceUser(ctx, admin, NewServiceUser{Name: fmt.Sprintf("Racer %d", round), Role: RoleMember})
		if err != nil {
			t.Fatal(err)
		}
		tok, secret, err := other.GenerateToken(ctx, admin, u.ID, NewToken{Name: "r", Expiry: Expiry{Days: 1}})
		if err != nil {
			t.Fatal(err)
		}
		var (
			revoked  = make(chan struct{})
			wg       sync.WaitGroup
			mu       sync.Mutex
			failures []string
		)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-revoked:
						// Started after the revocation returned: must refuse.
						if _, err := server.AuthenticateToken(ctx, secret); err == nil {
							mu.Lock()
							failures = append(failures, "accepted after revocation")
							mu.Unlock()
						}
						return
					default:
					}
					_, _ = server.AuthenticateToken(ctx, secret)
				}
			}()
		}
		if _, err := other.RevokeToken(ctx, admin, tok.ID); err != nil {
			t.Fatal(err)
		}
		close(revoked)
		wg.Wait()
		if len(failures) > 0 {
			t.Fatalf("round %d: %v", round, failures)
		}
	}
}
