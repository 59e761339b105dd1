package models

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// TokenOverview holds the overview's token counts: tokens that work now,
// and among them those expiring within 7, 30 and 90 days, never used, idle
// (unused for 90 days, used before) and without expiry.
type TokenOverview struct {
	Active     int64
	Expiring7  int64
	Expiring30 int64
	Expiring90 int64
	NeverUsed  int64
	Idle       int64
	NoExpiry   int64
}

// tokenCounts keeps the last TokenOverview, and the filtered lists' counts,
// while data_revision holds and the clock has not reached until, the first
// instant a token crosses an expiry or idle boundary by itself.
type tokenCounts struct {
	mu       sync.Mutex
	rev      int64
	until    time.Time
	o        *TokenOverview
	filtered map[tokenFilterKey]keptCount
}

// tokenFilterKey is what a token list's count depends on: its filters.
type tokenFilterKey struct {
	State, Q, Role, Health string
	TeamID                 int64
	ExpiresWithin          int
}

// keptCount is a filtered list's count, exact or past TokenCountCap, and
// the shares of service users its owner filters select.
type keptCount struct {
	n      int64
	exact  bool
	shares ownerShares
}

// maxKeptCounts bounds the filtered counts kept at one revision.
const maxKeptCounts = 256

// TokenOverview counts the tokens of the overview cards. The counts change
// the moment a token does: any write moves the data revision, and time
// moves them at the boundaries computed with them.
func (s *Store) TokenOverview(ctx context.Context) (TokenOverview, error) {
	rev, err := s.revision(ctx)
	if err != nil {
		return TokenOverview{}, err
	}
	now, c := s.Now(), &s.counts
	c.mu.Lock()
	if c.o != nil && c.rev == rev && now.Before(c.until) {
		o := *c.o
		c.mu.Unlock()
		return o, nil
	}
	c.mu.Unlock()
	day := 24 * time.Hour
	var o TokenOverview
	err = s.db.WithContext(ctx).Raw(`SELECT COUNT(*) AS active,
		COUNT(CASE WHEN expires_at <= ? THEN 1 END) AS expiring7,
		COUNT(CASE WHEN expires_at <= ? THEN 1 END) AS expiring30,
		COUNT(CASE WHEN expires_at <= ? THEN 1 END) AS expiring90,
		COUNT(CASE WHEN last_used_at IS NULL THEN 1 END) AS never_used,
		COUNT(CASE WHEN last_used_at < ? THEN 1 END) AS idle,
		COUNT(CASE WHEN expires_at IS NULL THEN 1 END) AS no_expiry
		FROM `+s.dialect.liveTokens()+` WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`,
		now.Add(7*day), now.Add(30*day), now.Add(90*day), now.Add(-idleDays*day), now).Scan(&o).Error
	if err != nil {
		return o, fmt.Errorf("models: token overview: %w", err)
	}
	// The boundaries: a token expires, enters the 7- or 30-day window, or
	// turns idle.
	until := now.Add(day)
	for _, b := range []struct {
		col, after string
		from       time.Time
		shift      time.Duration
	}{
		{"expires_at", ">", now, 0},
		{"expires_at", ">", now.Add(7 * day), -7 * day},
		{"expires_at", ">", now.Add(30 * day), -30 * day},
		{"expires_at", ">", now.Add(90 * day), -90 * day},
		{"last_used_at", ">=", now.Add(-idleDays * day), idleDays * day},
	} {
		var next sql.NullTime
		if err := s.db.WithContext(ctx).Raw("SELECT "+b.col+" FROM tokens WHERE revoked_at IS NULL AND "+b.col+" "+b.after+" ? ORDER BY "+b.col+" LIMIT 1",
			b.from).Scan(&next).Error; err != nil {
			return o, fmt.Errorf("models: token overview: %w", err)
		}
		if next.Valid && next.Time.Add(b.shift).Before(until) {
			until = next.Time.Add(b.shift)
		}
	}
	c.mu.Lock()
	if rev >= c.rev {
		c.rev, c.until, c.o, c.filtered = rev, until, &o, nil
	}
	c.mu.Unlock()
	return o, nil
}

// keptTokenCount returns the count kept for q's filters, and the revision
// and boundary a count read now would be kept under.
func (s *Store) keptTokenCount(ctx context.Context, q TokenQuery) (keptCount, bool, func(keptCount), error) {
	if _, err := s.TokenOverview(ctx); err != nil { // brings rev and until up to date
		return keptCount{}, false, nil, err
	}
	key := tokenFilterKey{State: q.State, Q: q.Q, Role: string(q.Role), Health: q.Health, TeamID: q.TeamID, ExpiresWithin: q.ExpiresWithin}
	c := &s.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.filtered[key]
	rev, until := c.rev, c.until
	keep := func(k keptCount) {
		c.mu.Lock()
		defer c.mu.Unlock()
		// Kept under the revision and boundary it was read at, unless a
		// newer one was seen meanwhile (which empties the map anyway).
		if c.rev != rev || !c.until.Equal(until) || !s.Now().Before(until) {
			return
		}
		if c.filtered == nil || len(c.filtered) >= maxKeptCounts {
			c.filtered = map[tokenFilterKey]keptCount{}
		}
		c.filtered[key] = k
	}
	return k, ok, keep, nil
}
