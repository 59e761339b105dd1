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
	// Notified7 is how many of the Expiring7 tokens' owners were told:
	// the token has its 7-day or 1-day notice (a token found late gets
	// only the 1-day one), or a rotation replaced it (token.rotated said
	// when it stops; the sweep does not announce it again).
	Notified7 int64
	// NotificationsConfigured reports whether any channel carries the
	// expiry notices; false: nobody is told, whatever the sweep notes.
	NotificationsConfigured bool
	// InactiveDays is the inactivity auto-revoke setting (0: off), and
	// InactiveSoon how many working tokens it will revoke within
	// InactivityWarning (warned, or about to be), by their stored last use.
	InactiveDays int
	InactiveSoon int64
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
// moves them at the boundaries computed with them. The notices' counts
// change the moment a notice or an endpoint does (withNotices).
func (s *Store) TokenOverview(ctx context.Context) (TokenOverview, error) {
	o, now, err := s.tokenCounts(ctx)
	if err != nil {
		return o, err
	}
	return s.withNotices(ctx, o, now)
}

// tokenCounts returns the token counts, kept while data_revision holds and
// until the next boundary, and the instant they are for.
func (s *Store) tokenCounts(ctx context.Context) (TokenOverview, time.Time, error) {
	rev, err := s.revision(ctx)
	if err != nil {
		return TokenOverview{}, time.Time{}, err
	}
	now, c := s.Now(), &s.counts
	c.mu.Lock()
	if c.o != nil && c.rev == rev && now.Before(c.until) {
		o := *c.o
		c.mu.Unlock()
		return o, now, nil
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
		return o, now, fmt.Errorf("models: token overview: %w", err)
	}
	if o.Notified7, err = s.notified7(ctx, o.Expiring7, now); err != nil {
		return o, now, err
	}
	// The boundaries: a token expires, enters the 7- or 30-day window, or
	// turns idle.
	until := now.Add(day)
	// The settings move data_revision (0020), so the inactivity setting and
	// its count are kept with the others.
	if o.InactiveDays, err = inactivityDays(s.db.WithContext(ctx)); err != nil {
		return o, now, err
	}
	if o.InactiveDays > 0 {
		if o.InactiveSoon, until, err = s.inactiveSoon(ctx, o.InactiveDays, now, until); err != nil {
			return o, now, err
		}
	}
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
			return o, now, fmt.Errorf("models: token overview: %w", err)
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
	return o, now, nil
}

// inactiveSoon counts the working tokens the inactivity auto-revoke of
// days will revoke within InactivityWarning (less those expiring sooner:
// they stop by themselves), and moves until to the first instant another
// token enters that window by itself (one leaving it by its expiry is a
// boundary of the Expiring7 count already).
func (s *Store) inactiveSoon(ctx context.Context, days int, now, until time.Time) (int64, time.Time, error) {
	shift := time.Duration(days)*24*time.Hour - InactivityWarning
	cutoff := now.Add(-shift)
	db := s.db.WithContext(ctx)
	var n int64
	if err := db.Raw(`SELECT COUNT(*) FROM tokens t JOIN users u ON u.id = t.user_id
		WHERE `+liveInactiveCond+` AND (t.last_used_at <= ? OR (t.last_used_at IS NULL AND t.created_at <= ?))
		  AND (t.expires_at IS NULL OR t.expires_at > ?)`,
		now, StatusActive, cutoff, cutoff, now.Add(InactivityWarning)).Scan(&n).Error; err != nil {
		return 0, until, fmt.Errorf("models: token overview: inactivity: %w", err)
	}
	for _, q := range []string{
		`SELECT last_used_at FROM tokens WHERE revoked_at IS NULL AND last_used_at > ? ORDER BY last_used_at LIMIT 1`,
		`SELECT created_at FROM tokens WHERE revoked_at IS NULL AND last_used_at IS NULL AND created_at > ? ORDER BY created_at LIMIT 1`,
	} {
		var next sql.NullTime
		if err := db.Raw(q, cutoff).Scan(&next).Error; err != nil {
			return 0, until, fmt.Errorf("models: token overview: inactivity: %w", err)
		}
		if next.Valid && next.Time.Add(shift).Before(until) {
			until = next.Time.Add(shift)
		}
	}
	return n, until, nil
}

// withNotices adds whether any channel carries the expiry notices, read
// afresh: an endpoint's change moves no data_revision (the table is tiny).
func (s *Store) withNotices(ctx context.Context, o TokenOverview, now time.Time) (TokenOverview, error) {
	on, err := s.NotificationsConfigured(ctx)
	o.NotificationsConfigured = on
	return o, err
}

// notified7 counts the tokens of the 7-day window whose owners were told:
// a 7-day or 1-day notice, or a rotation that replaced the token. Notices
// move data_revision (0018), so the count is kept with the others.
func (s *Store) notified7(ctx context.Context, expiring7 int64, now time.Time) (int64, error) {
	if expiring7 == 0 {
		return 0, nil
	}
	tokens := "tokens t"
	if s.dialect == SQLite {
		tokens = "tokens t INDEXED BY tokens_live_expires" // as the sweep reads it
	}
	var n int64
	err := s.db.WithContext(ctx).Raw(`SELECT COUNT(*) FROM `+tokens+`
		WHERE t.revoked_at IS NULL AND t.expires_at > ? AND t.expires_at <= ?
		  AND (t.replaced_by IS NOT NULL OR EXISTS (SELECT 1 FROM token_expiry_notices n
		       WHERE n.token_id = t.id AND n.threshold IN (?, ?)))`,
		now, now.Add(7*24*time.Hour), ExpiryThreshold7d, ExpiryThreshold1d).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("models: token overview: notices: %w", err)
	}
	return min(n, expiring7), nil
}

// NotificationsConfigured reports whether expiry notices reach anyone:
// email (--smtp-url), or an enabled webhook endpoint subscribed to
// token.expiring.
func (s *Store) NotificationsConfigured(ctx context.Context) (bool, error) {
	if s.email != nil {
		return true, nil
	}
	var endpoints []WebhookEndpoint
	if err := s.db.WithContext(ctx).Select("id, events").Where("enabled = ?", true).Find(&endpoints).Error; err != nil {
		return false, fmt.Errorf("models: notifications: %w", err)
	}
	for _, ep := range endpoints {
		if ep.Subscribed(EventTokenExpiring) {
			return true, nil
		}
	}
	return false, nil
}

// keptTokenCount returns the count kept for q's filters, and the revision
// and boundary a count read now would be kept under.
func (s *Store) keptTokenCount(ctx context.Context, q TokenQuery) (keptCount, bool, func(keptCount), error) {
	if _, _, err := s.tokenCounts(ctx); err != nil { // brings rev and until up to date
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
