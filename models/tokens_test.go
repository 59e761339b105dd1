package models

import (
	"context"

	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

func mustService(t *testing.T, s *Store, name string) *User {
	t.Helper()
	u, err := s.CreateServiceUser(context.Background(), System, NewServiceUser{Name: name, Role: RoleMember})
	if err != nil {
		t.Fatalf("create service user: %v", err)
	}
	return u
}

func mustToken(t *testing.T, s *Store, userID int64, name string, e Expiry) (*Token, string) {
	t.Helper()
	tok, secret, err := s.GenerateToken(context.Background(), System, userID, NewToken{Name: name, Expiry: e})
	if err != nil {
		t.Fatalf("generate token %q: %v", name, err)
	}
	return tok, secret
}

func TestGenerateTokenRules(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	svc := mustService(t, s, "Airflow")
	admin := mustAdmin(t, s, "ada@example.com")

	tok, secret := mustToken(t, s, svc.ID, "airflow-prod", Expiry{Days: 90})
	if CheckTokenFormat(secret) != nil || tok.TokenHash != HashToken(secret) || tok.Hint != TokenHint(secret) {
		t.Fatalf("token %+v does not match its secret", tok)
	}
	if want := clock.Now().Add(90 * 24 * time.Hour); !tok.ExpiresAt.Equal(want) {
		t.Errorf("expires %v, want %v", tok.ExpiresAt, want)
	}

	cases := []struct {
		name   string
		in     NewToken
		field  string
		policy *TokenPolicy
	}{
		{"empty name", NewToken{Name: " ", Expiry: Expiry{Days: 30}}, "name", nil},
		{"name too long", NewToken{Name: strings.Repeat("n", 256), Expiry: Expiry{Days: 30}}, "name", nil},
		{"control character", NewToken{Name: "a\x00b", Expiry: Expiry{Days: 30}}, "name", nil},
		{"duplicate name, other case", NewToken{Name: "AIRFLOW-PROD", Expiry: Expiry{Days: 30}}, "name", nil},
		{"never, not allowed", NewToken{Name: "x1", Expiry: Expiry{Never: true}}, "expiry", nil},
		{"past the maximum", NewToken{Name: "x2", Expiry: Expiry{Days: 400}}, "expiry", nil},
		{"date in the past", NewToken{Name: "x3", Expiry: Expiry{Date: ptr(clock.Now().Add(-48 * time.Hour))}}, "expiry", nil},
		{"no expiry chosen", NewToken{Name: "x4"}, "expiry", nil},
		{"past a custom maximum", NewToken{Name: "x5", Expiry: Expiry{Days: 60}}, "expiry", &TokenPolicy{DefaultDays: 30, MaxDays: 30}},
	}
	for _, c := range cases {
		if c.policy != nil {
			if err := s.SetTokenPolicy(ctx, AsUser(admin), *c.policy); err != nil {
				t.Fatal(err)
			}
		}
		_, secret, err := s.GenerateToken(ctx, System, svc.ID, c.in)
		if FieldErrors(err)[c.field] == "" || secret != "" {
			t.Errorf("%s: err = %v; want a message on %q and no secret", c.name, err, c.field)
		}
	}
	var ve *ValidationError
	_, _, err := s.GenerateToken(ctx, System, svc.ID, NewToken{Name: "airflow-prod", Expiry: Expiry{Days: 30}})
	if !errors.As(err, &ve) || !ve.Conflict {
		t.Errorf("duplicate name should be a conflict, got %v", err)
	}

	// Never, once the policy allows it; a custom date runs to the end of its day.
	if err := s.SetTokenPolicy(ctx, AsUser(admin), TokenPolicy{DefaultDays: 0, MaxDays: 0, AllowNever: true}); err != nil {
		t.Fatal(err)
	}
	never, _ := mustToken(t, s, svc.ID, "forever", Expiry{Never: true})
	if never.ExpiresAt != nil {
		t.Error("a Never token has an expiry")
	}
	day := clock.Now().Add(10 * 24 * time.Hour)
	dated, _ := mustToken(t, s, svc.ID, "dated", Expiry{Date: &day})
	if dated.ExpiresAt.Hour() != 23 || dated.ExpiresAt.Day() != day.Day() {
		t.Errorf("custom date expires at %v", dated.ExpiresAt)
	}

	// People hold no tokens; deactivated users get none.
	if _, _, err := s.GenerateToken(ctx, System, admin.ID, NewToken{Name: "t", Expiry: Expiry{Days: 30}}); RuleMessage(err) == "" {
		t.Errorf("token for a person: %v", err)
	}
	other := mustService(t, s, "Retired")
	if _, err := s.DeactivateUser(ctx, System, other.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.GenerateToken(ctx, System, other.ID, NewToken{Name: "t", Expiry: Expiry{Days: 30}}); RuleMessage(err) == "" {
		t.Errorf("token for a deactivated user: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestTokenPolicyValidation(t *testing.T) {
	for _, p := range []TokenPolicy{
		{DefaultDays: 0, MaxDays: 0, AllowNever: false},
		{DefaultDays: 400, MaxDays: 365},
		{DefaultDays: 30, MaxDays: 365, AllowNever: true},
		{DefaultDays: -1},
		{DefaultDays: 30, MaxDays: 99999},
	} {
		if p.Validate() == nil {
			t.Errorf("policy %+v accepted", p)
		}
	}
	for _, p := range []TokenPolicy{DefaultTokenPolicy, {DefaultDays: 0, AllowNever: true}, {DefaultDays: 45}} {
		if err := p.Validate(); err != nil {
			t.Errorf("policy %+v refused: %v", p, err)
		}
	}
}

func TestTokenStatesAndActions(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	svc := mustService(t, s, "Sync")
	tok, secret := mustToken(t, s, svc.ID, "sync-1", Expiry{Days: 30})
	if tok.State(clock.Now()) != TokenActive {
		t.Fatal("new token not active")
	}
	if _, err := s.DeleteToken(ctx, System, tok.ID); RuleMessage(err) == "" {
		t.Fatal("an active token was deleted")
	}
	if _, err := s.RestoreToken(ctx, System, tok.ID); RuleMessage(err) == "" {
		t.Fatal("restore of an active token accepted")
	}
	if _, err := s.RevokeToken(ctx, System, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateToken(ctx, secret); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("revoked token authenticated: %v", err)
	}
	if _, err := s.RevokeToken(ctx, System, tok.ID); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	if _, err := s.RestoreToken(ctx, System, tok.ID); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if _, err := s.AuthenticateToken(ctx, secret); err != nil {
		t.Fatalf("restored token refused: %v", err)
	}
	// Revoked, then expired: cannot be restored, can be deleted.
	s.RevokeToken(ctx, System, tok.ID)
	clock.Advance(31 * 24 * time.Hour)
	if _, err := s.RestoreToken(ctx, System, tok.ID); RuleMessage(err) == "" {
		t.Fatal("an expired token was restored")
	}
	if _, err := s.DeleteToken(ctx, System, tok.ID); err != nil {
		t.Fatalf("delete revoked+expired: %v", err)
	}
	if _, err := s.TokenByID(ctx, tok.ID); !errors.Is(err, ErrNotFound) {
		t.Fatal("deleted token still there")
	}
	// Expired without revocation: deletable, not restorable.
	exp, _ := mustToken(t, s, svc.ID, "short", Expiry{Days: 30})
	clock.Advance(30 * 24 * time.Hour)
	if st := exp.State(clock.Now()); st != TokenExpired {
		t.Fatalf("state at expires_at = %s, want expired", st)
	}
	if _, err := s.DeleteToken(ctx, System, exp.ID); err != nil {
		t.Fatalf("delete expired: %v", err)
	}
	// Restoring a token of a deactivated user is refused.
	t2, _ := mustToken(t, s, svc.ID, "t2", Expiry{Days: 30})
	s.RevokeToken(ctx, System, t2.ID)
	if _, err := s.DeactivateUser(ctx, System, svc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RestoreToken(ctx, System, t2.ID); RuleMessage(err) == "" {
		t.Fatal("restored a token of a deactivated user")
	}
}

// TestDeactivationGuardBoundary: a token blocks deactivation until its
// expires_at instant; at expires_at == now it no longer does.
func TestDeactivationGuardBoundary(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	svc := mustService(t, s, "Nightly")
	mustToken(t, s, svc.ID, "a", Expiry{Days: 30})
	mustToken(t, s, svc.ID, "b", Expiry{Days: 30})

	_, err := s.DeactivateUser(ctx, System, svc.ID)
	var re *RuleError
	if !errors.As(err, &re) || re.Code != "active_tokens" || re.Count != 2 || !strings.Contains(re.Message, "2 active tokens") {
		t.Fatalf("deactivate with 2 active tokens = %v", err)
	}
	clock.Advance(30*24*time.Hour - time.Microsecond)
	if _, err := s.DeactivateUser(ctx, System, svc.ID); !errors.As(err, &re) {
		t.Fatalf("one microsecond before expiry the tokens must still block: %v", err)
	}
	clock.Advance(time.Microsecond) // now == expires_at
	if _, err := s.DeactivateUser(ctx, System, svc.ID); err != nil {
		t.Fatalf("at expires_at the tokens are expired and must not block: %v", err)
	}
}

func TestRevokeAllThenDeactivate(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	svc := mustService(t, s, "Bulk")
	for _, n := range []string{"a", "b", "c"} {
		mustToken(t, s, svc.ID, n, Expiry{Days: 30})
	}
	if n, err := s.RevokeAllTokens(ctx, System, svc.ID); err != nil || n != 3 {
		t.Fatalf("revoke all = %d, %v", n, err)
	}
	if n, _ := s.ActiveTokenCount(ctx, svc.ID); n != 0 {
		t.Fatalf("%d active after revoke all", n)
	}
	if _, err := s.DeactivateUser(ctx, System, svc.ID); err != nil {
		t.Fatal(err)
	}
}

// TestGenerateVersusDeactivateRace: generating a token and deactivating the
// user at the same instant must never end with a deactivated user holding a
// usable token.
func TestGenerateVersusDeactivateRace(t *testing.T) {
	for round := range raceRounds() {
		s := openTestStore(t)
		ctx := context.Background()
		svc := mustService(t, s, "Racer")
		start := make(chan struct{})
		var wg sync.WaitGroup
		var secret string
		var genErr, deactErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			_, secret, genErr = s.GenerateToken(ctx, System, svc.ID, NewToken{Name: "race", Expiry: Expiry{Days: 30}})
		}()
		go func() {
			defer wg.Done()
			<-start
			_, deactErr = s.DeactivateUser(ctx, System, svc.ID)
		}()
		close(start)
		wg.Wait()
		for _, err := range []error{genErr, deactErr} {
			if err != nil && RuleMessage(err) == "" {
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		u, _ := s.UserByID(ctx, svc.ID)
		if genErr == nil && deactErr == nil {
			t.Fatalf("round %d: both succeeded", round)
		}
		if u.Status == StatusDeactivated && secret != "" {
			if _, err := s.AuthenticateToken(ctx, secret); err == nil {
				t.Fatalf("round %d: a deactivated user holds a usable token", round)
			}
			if n, _ := s.ActiveTokenCount(ctx, svc.ID); n != 0 {
				t.Fatalf("round %d: a deactivated user has %d active tokens", round, n)
			}
		}
		s.Close()
	}
}

// countingStore counts the statements a store runs, to show what happens
// without touching the database.
func countStatements(t *testing.T, s *Store) *int {
	t.Helper()
	n := new(int)
	var mu sync.Mutex
	inc := func(*gorm.DB) { mu.Lock(); *n++; mu.Unlock() }
	for _, cb := range []interface {
		Register(string, func(*gorm.DB)) error
	}{s.db.Callback().Query().After("gorm:query"), s.db.Callback().Row().After("gorm:row"), s.db.Callback().Raw().After("gorm:raw"),
		s.db.Callback().Update().After("gorm:update"), s.db.Callback().Create().After("gorm:create"), s.db.Callback().Delete().After("gorm:delete")} {
		if err := cb.Register("test:count:"+t.Name(), inc); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

func TestAuthenticateTokenOrder(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	svc := mustService(t, s, "Caller")
	tok, secret := mustToken(t, s, svc.ID, "caller", Expiry{Days: 30})
	n := countStatements(t, s)

	// A malformed token or a bad checksum is refused before any database read.
	typo := []byte(secret)
	typo[10] ^= 1
	for _, bad := range []string{"", "Bearer", "wdn_short", string(typo), strings.ToUpper(secret)} {
		before := *n
		_, err := s.AuthenticateToken(ctx, bad)
		var ae *TokenAuthError
		if !errors.As(err, &ae) || ae.Reason != "malformed" {
			t.Errorf("AuthenticateToken(%q) = %v; want malformed", bad, err)
		}
		if *n != before {
			t.Errorf("AuthenticateToken(%q) read the database %d times", bad, *n-before)
		}
	}
	// A well-formed token that was never issued.
	forged, _ := NewTokenSecret()
	if _, err := s.AuthenticateToken(ctx, forged); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("unknown token: %v", err)
	}
	auth, err := s.AuthenticateToken(ctx, secret)
	if err != nil || auth.User.ID != svc.ID || auth.Token.ID != tok.ID {
		t.Fatalf("valid token: %+v, %v", auth, err)
	}
	// A role change is seen by the next call (other changes, and changes
	// by other processes: TestAuthCacheFollowsEveryChange).
	if err := s.ExecForTest(ctx, "UPDATE users SET role = ? WHERE id = ?", RoleAdmin, svc.ID); err != nil {
		t.Fatal(err)
	}
	if auth, _ := s.AuthenticateToken(ctx, secret); auth.User.Role != RoleAdmin {
		t.Error("role change not seen by the next authentication")
	}
	// Writes: none on the authentication path; reads: the revision only,
	// while nothing changes.
	before := *n
	for i := 0; i < 50; i++ {
		auth, _ := s.AuthenticateToken(ctx, secret)
		s.RecordTokenUse(auth, "203.0.113.1", "curl/8")
	}
	if per := float64(*n-before) / 50; per != 0 {
		t.Errorf("%.2f statements per authentication; want none but the revision's", per)
	}
	// Expired at the instant.
	clock.Advance(30 * 24 * time.Hour)
	var ae *TokenAuthError
	if _, err := s.AuthenticateToken(ctx, secret); !errors.As(err, &ae) || ae.Reason != "expired" {
		t.Errorf("at expires_at: %v", err)
	}
}

func TestTokenUseIsBufferedAndFlushed(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	svc := mustService(t, s, "Busy")
	tok, secret := mustToken(t, s, svc.ID, "busy", Expiry{Days: 30})
	var writes int
	var mu sync.Mutex
	s.db.Callback().Raw().After("gorm:raw").Register("test:writes", func(db *gorm.DB) {
		if strings.HasPrefix(strings.TrimSpace(db.Statement.SQL.String()), "UPDATE") {
			mu.Lock()
			writes++
			mu.Unlock()
		}
	})
	for i := 0; i < 1000; i++ {
		clock.Advance(time.Millisecond)
		auth, err := s.AuthenticateToken(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		s.RecordTokenUse(auth, "198.51.100.9", "pipeline/1.0")
	}
	if writes != 0 {
		t.Fatalf("%d writes before the flush", writes)
	}
	got, _ := s.TokenByID(ctx, tok.ID)
	if got.LastUsedAt != nil {
		t.Fatal("last use written before the flush")
	}
	// Pages see the pending value before the flush.
	list, _ := s.TokensOf(ctx, svc.ID)
	if list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(clock.Now()) {
		t.Fatalf("pending last use not merged: %v", list[0].LastUsedAt)
	}
	if n, err := s.FlushTokenUse(ctx); err != nil || n != 1 {
		t.Fatalf("flush = %d, %v", n, err)
	}
	if writes > 2 {
		t.Fatalf("1000 requests caused %d writes; want at most 2", writes)
	}
	got, _ = s.TokenByID(ctx, tok.ID)
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(clock.Now()) || *got.LastUsedIP != "198.51.100.9" || *got.LastUsedUA != "pipeline/1.0" {
		t.Fatalf("after flush: %+v", got)
	}
	u, _ := s.UserByID(ctx, svc.ID)
	if u.LastActiveAt == nil || !u.LastActiveAt.Equal(clock.Now()) {
		t.Fatalf("user last active = %v", u.LastActiveAt)
	}
	if n, _ := s.FlushTokenUse(ctx); n != 0 {
		t.Fatal("a second flush wrote again")
	}
}

// TestAuthenticateTokenReads pins the bearer path, besides the revision
// (read by a prepared statement, not counted here), to two statements per
// authentication after a change (the token, its user), one when the token
// itself is refused, and none while nothing changes; and checks that the
// token and user it returns are the stored ones.
func TestAuthenticateTokenReads(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	admin := mustAdmin(t, s, "one-query@example.com")
	svc, err := s.CreateServiceUser(ctx, AsUser(admin), NewServiceUser{Name: "One query", Role: RoleManager,
		Description: "Reads itself.", Owner: Owner{UserID: admin.ID}})
	if err != nil {
		t.Fatal(err)
	}
	s.db.Model(&User{}).Where("id = ?", svc.ID).Update("last_active_at", clock.Now().Add(-time.Hour))
	tok, secret := mustToken(t, s, svc.ID, "one", Expiry{Days: 30})
	n := countStatements(t, s)

	auth := func(want string, reads int) *TokenAuth {
		t.Helper()
		before := *n
		got, err := s.AuthenticateToken(ctx, secret)
		if *n-before != reads {
			t.Errorf("%s: %d statements per authentication; want %d", want, *n-before, reads)
		}
		if want == "" {
			if err != nil {
				t.Fatalf("valid token: %v", err)
			}
			return got
		}
		var ae *TokenAuthError
		if !errors.As(err, &ae) || ae.Reason != want {
			t.Errorf("got %v; want %s", err, want)
		}
		return nil
	}

	got := auth("", 2)
	if again := auth("", 0); !reflect.DeepEqual(again.Token, got.Token) || !reflect.DeepEqual(again.User, got.User) {
		t.Errorf("kept authentication differs:\n got %+v %+v\nwant %+v %+v", again.Token, again.User, got.Token, got.User)
	}
	wantTok, err := s.TokenByID(ctx, tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantUser, err := s.UserByID(ctx, svc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if wantUser.OwnerUserID == nil || wantUser.CreatedBy == nil || wantUser.LastActiveAt == nil || wantUser.UserID == nil ||
		wantUser.Description == "" || wantTok.ExpiresAt == nil {
		t.Fatalf("the fixture should set every column compared: %+v %+v", wantUser, wantTok)
	}
	if !reflect.DeepEqual(got.Token, wantTok) {
		t.Errorf("token:\n got %+v\nwant %+v", got.Token, wantTok)
	}
	if !reflect.DeepEqual(got.User, wantUser) {
		t.Errorf("user:\n got %+v\nwant %+v", got.User, wantUser)
	}

	// A deactivation is seen by the very next call.
	exec := func(q string, args ...any) {
		t.Helper()
		if err := s.ExecForTest(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec("UPDATE users SET status = ? WHERE id = ?", StatusDeactivated, svc.ID)
	auth("user_deactivated", 2)
	exec("UPDATE users SET status = ? WHERE id = ?", StatusActive, svc.ID)
	auth("", 2)
	// So is a revocation, which wins over the user's state.
	exec("UPDATE users SET status = ? WHERE id = ?", StatusDeactivated, svc.ID)
	exec("UPDATE tokens SET revoked_at = ? WHERE id = ?", clock.Now(), tok.ID)
	auth("revoked", 1)
	// Refusals are not kept.
	auth("revoked", 1)
}
