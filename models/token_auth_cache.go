package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// maxKeptAuths bounds the caches of authentications and of their users'
// details: a deployment has far fewer tokens in use at once, and a flood of
// distinct valid tokens only costs the queries the caches would have saved.
const maxKeptAuths = 4096

// Token authentications are kept (Store.auths, by token hash) for as long as
// the generation they were read at holds.
//
// This is what lets an API request skip reading its token: every change that
// can refuse a token (revocation, rotation, deletion, the user's
// deactivation or change of type) writes an audit event, by this process or
// any other on the same database, and so moves the generation. Each request
// reads the generation (one lookup at the end of the audit log's primary
// key), and when it moved, reads the token again: revocation stays
// immediate on every replica (TestTwoReplicasOnePostgres,
// TestAuthCacheFollowsEveryChange). Expiry needs no write, so it is checked
// against the clock on every use of a kept entry.
//
// Only successes are kept: an unknown token costs its query every time, so
// guessing cannot fill the cache. Entries are values, and each request gets
// its own copies to modify.
type keptAuth struct {
	t Token
	u User
}

// keptDetail is what CallerDetail keeps of a token user's detail.
type keptDetail struct {
	teams             []TeamRef // shared by every copy: never modified
	ownerName, author string
	active            int64
	// until is when the soonest of the working tokens expires, which
	// changes the count without a write; zero when none expires.
	until time.Time
}

// cachedAuth reports whether an authentication is kept under hash at gen,
// and if so returns copies of it, or the clock's refusal once it expired.
func (s *Store) cachedAuth(gen generation, hash string) (bool, *TokenAuth, error) {
	k, ok := s.auths.get(gen, hash)
	if !ok {
		return false, nil, nil
	}
	if k.t.State(s.Now()) == TokenExpired {
		return true, nil, &TokenAuthError{Reason: "expired"}
	}
	return true, &TokenAuth{Token: &k.t, User: &k.u, gen: gen}, nil
}

// CallerDetail is APIDetailOf for the user of an authenticated token, kept
// for as long as the generation the authentication read holds, so that
// GET /api/v1/me reads nothing more while nothing changes.
func (s *Store) CallerDetail(ctx context.Context, auth *TokenAuth) (*UserDetail, int64, error) {
	u, now := auth.User, s.Now()
	if k, ok := s.details.get(auth.gen, u.ID); ok && auth.gen != (generation{}) && (k.until.IsZero() || now.Before(k.until)) {
		s.usage.mergeUser(u)
		return &UserDetail{User: u, Teams: k.teams, OwnerName: k.ownerName, CreatedBy: k.author}, k.active, nil
	}
	d, n, err := s.apiDetailAt(ctx, u, now)
	if err != nil || auth.gen == (generation{}) {
		return d, n, err
	}
	// The soonest expiry among the tokens counted, at the same instant.
	var next sql.NullTime
	if _, err := s.scanOne(ctx, []any{&next}, `SELECT expires_at FROM tokens WHERE user_id = ? AND `+activeTokenCond+`
		AND expires_at IS NOT NULL ORDER BY expires_at LIMIT 1`, u.ID, now); err != nil {
		return nil, 0, fmt.Errorf("models: user detail: %w", err)
	}
	s.details.keep(auth.gen, u.ID, keptDetail{teams: d.Teams, ownerName: d.OwnerName, author: d.CreatedBy, active: n, until: next.Time}, maxKeptAuths)
	return d, n, nil
}
