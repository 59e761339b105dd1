package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Default session lifetimes (SPEC §8).
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
	// sessionTouchInterval bounds how often a session's last_seen_at is
	// written: at most once a minute per session instead of once per request.
	// The idle timeout is therefore honoured to within a minute.
	sessionTouchInterval = time.Minute
	maxUserAgentBytes    = 512
)

// ErrSessionExpired is returned for a session past its idle or absolute limit.
var ErrSessionExpired = errors.New("models: session expired")

// SessionLifetime holds the idle and absolute session limits.
type SessionLifetime struct {
	Idle     time.Duration
	Absolute time.Duration
}

// WithSessionLifetime sets the session limits (default 30 min idle, 12 h absolute).
func WithSessionLifetime(l SessionLifetime) Option {
	return func(s *Store) { s.lifetime = l }
}

// SessionLifetime returns the configured limits.
func (s *Store) SessionLifetime() SessionLifetime { return s.lifetime }

func truncateUA(ua string) string { return clipUTF8(ua, maxUserAgentBytes) }

// CreateSession starts a console session for an administrator and returns the
// random token for the cookie. Every sign-in gets a fresh token, which is what
// defeats session fixation.
//
// a is the signing-in user with the request's details; the sign-in is
// audited in the same transaction.
func (s *Store) CreateSession(ctx context.Context, a Actor) (string, *Session, error) {
	var token string
	var sess *Session
	err := s.write(ctx, func(tx *gorm.DB) error {
		var err error
		if token, sess, err = s.insertSession(tx, a); err != nil {
			return err
		}
		return s.record(tx, a, "auth.login", OutcomeSuccess, "", target{kind: "user", id: a.ID, label: a.Label}, nil)
	})
	if err != nil {
		return "", nil, err
	}
	return token, sess, nil
}

// insertSession starts a session for a.ID inside tx and notes the user's
// activity; the caller records the sign-in.
func (s *Store) insertSession(tx *gorm.DB, a Actor) (string, *Session, error) {
	token, err := RandomToken(32)
	if err != nil {
		return "", nil, err
	}
	csrf, err := RandomToken(32)
	if err != nil {
		return "", nil, err
	}
	now := s.Now()
	sess := &Session{
		TokenHash: HashToken(token), UserID: a.ID, CSRFToken: csrf,
		CreatedAt: now, LastSeenAt: now, IP: a.IP, UserAgent: truncateUA(a.UserAgent),
	}
	if err := tx.Create(sess).Error; err != nil {
		return "", nil, fmt.Errorf("models: create session: %w", err)
	}
	if err := touchActive(tx, a.ID, now); err != nil {
		return "", nil, err
	}
	return token, sess, nil
}

// SessionByToken returns the live session for a cookie token and its user.
// A session past its limits, or whose user may no longer use the console
// (deactivated, demoted, not human), is deleted and reported as
// ErrSessionExpired or ErrNotFound. The session's last-seen time and the
// user's last activity are each written at most once a minute.
func (s *Store) SessionByToken(ctx context.Context, token string) (*Session, *User, error) {
	if token == "" {
		return nil, nil, ErrNotFound
	}
	var sess Session
	err := s.db.WithContext(ctx).Where("token_hash = ?", HashToken(token)).Take(&sess).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("models: session: %w", err)
	}
	u, err := s.UserByID(ctx, sess.UserID) // sessions go with their user: ON DELETE CASCADE
	if err != nil {
		return nil, nil, err
	}
	now := s.Now()
	end := func(db *gorm.DB) error { return db.Delete(&Session{}, sess.ID).Error }
	if now.Sub(sess.CreatedAt) >= s.lifetime.Absolute || now.Sub(sess.LastSeenAt) >= s.lifetime.Idle {
		_ = s.writeRow(ctx, end)
		return nil, nil, ErrSessionExpired
	}
	if !u.IsConsoleAdmin() {
		_ = s.writeRow(ctx, end)
		return nil, nil, ErrNotFound
	}
	touchSession := now.Sub(sess.LastSeenAt) >= sessionTouchInterval
	touchSess := func(db *gorm.DB) error {
		if err := db.Model(&Session{}).Where("id = ?", sess.ID).Update("last_seen_at", now).Error; err != nil {
			return fmt.Errorf("models: touch session: %w", err)
		}
		return nil
	}
	switch {
	case touchDue(u, now):
		// Through write, like a token-use flush: the user's triggers lock
		// data_revision, so a row-only write could deadlock with a flush.
		if err := s.write(ctx, func(tx *gorm.DB) error {
			if touchSession {
				if err := touchSess(tx); err != nil {
					return err
				}
			}
			return touchActive(tx, u.ID, now)
		}); err != nil {
			return nil, nil, err
		}
		u.LastActiveAt = &now
	case touchSession:
		if err := s.writeRow(ctx, touchSess); err != nil {
			return nil, nil, err
		}
	}
	if touchSession {
		sess.LastSeenAt = now
	}
	return &sess, u, nil
}

// DeleteSessionByToken ends the session a cookie token belongs to (sign-out).
func (s *Store) DeleteSessionByToken(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	if err := s.writeRow(ctx, func(db *gorm.DB) error {
		return db.Where("token_hash = ?", HashToken(token)).Delete(&Session{}).Error
	}); err != nil {
		return fmt.Errorf("models: delete session: %w", err)
	}
	return nil
}

// RotateSession replaces the session of oldToken with a new one for the
// same user (after a password change), in one transaction.
func (s *Store) RotateSession(ctx context.Context, a Actor, oldToken string) (string, *Session, error) {
	token, err := RandomToken(32)
	if err != nil {
		return "", nil, err
	}
	csrf, err := RandomToken(32)
	if err != nil {
		return "", nil, err
	}
	now := s.Now()
	sess := &Session{
		TokenHash: HashToken(token), UserID: a.ID, CSRFToken: csrf,
		CreatedAt: now, LastSeenAt: now, IP: a.IP, UserAgent: truncateUA(a.UserAgent),
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("token_hash = ?", HashToken(oldToken)).Delete(&Session{}).Error; err != nil {
			return fmt.Errorf("models: rotate session: %w", err)
		}
		if err := tx.Create(sess).Error; err != nil {
			return fmt.Errorf("models: rotate session: %w", err)
		}
		return s.record(tx, a, "auth.session_rotate", OutcomeSuccess, "", target{kind: "user", id: a.ID, label: a.Label}, nil)
	})
	if err != nil {
		return "", nil, err
	}
	return token, sess, nil
}

// Logout ends the session a cookie token belongs to and records the
// sign-out.
func (s *Store) Logout(ctx context.Context, a Actor, token string) error {
	if token == "" {
		return nil
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Where("token_hash = ?", HashToken(token)).Delete(&Session{})
		if res.Error != nil {
			return fmt.Errorf("models: sign out: %w", res.Error)
		}
		if res.RowsAffected == 0 || a.ID == 0 {
			return nil // already gone: nothing changed
		}
		return s.record(tx, a, "auth.logout", OutcomeSuccess, "", target{kind: "user", id: a.ID, label: a.Label}, nil)
	})
}

// Sessions lists a user's live sessions, most recently used first.
func (s *Store) Sessions(ctx context.Context, userID int64) ([]Session, error) {
	now := s.Now()
	var out []Session
	err := s.db.WithContext(ctx).
		Where("user_id = ? AND created_at > ? AND last_seen_at > ?", userID, now.Add(-s.lifetime.Absolute), now.Add(-s.lifetime.Idle)).
		Order("last_seen_at DESC, id DESC").Limit(100).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: list sessions: %w", err)
	}
	return out, nil
}

// EndSession ends one of userID's sessions; a session of someone else is
// reported as ErrNotFound.
func (s *Store) EndSession(ctx context.Context, a Actor, sessionID int64) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Where("id = ? AND user_id = ?", sessionID, a.ID).Delete(&Session{})
		if res.Error != nil {
			return fmt.Errorf("models: end session: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return s.record(tx, a, "auth.session_end", OutcomeSuccess, fmt.Sprintf("session %d", sessionID), target{kind: "user", id: a.ID, label: a.Label}, nil)
	})
}

// EndOtherSessions ends every session of userID except keepID and returns
// how many ended.
func (s *Store) EndOtherSessions(ctx context.Context, a Actor, keepID int64) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Where("user_id = ? AND id <> ?", a.ID, keepID).Delete(&Session{})
		if res.Error != nil {
			return fmt.Errorf("models: end sessions: %w", res.Error)
		}
		if n = res.RowsAffected; n == 0 {
			return nil
		}
		return s.record(tx, a, "auth.session_end", OutcomeSuccess, fmt.Sprintf("%d other sessions", n), target{kind: "user", id: a.ID, label: a.Label}, nil)
	})
	return n, err
}

// PurgeExpiredSessions deletes sessions past either limit; the server runs it
// periodically so the table does not grow with abandoned sessions.
func (s *Store) PurgeExpiredSessions(ctx context.Context) (int64, error) {
	now := s.Now()
	res := s.db.WithContext(ctx).
		Where("created_at <= ? OR last_seen_at <= ?", now.Add(-s.lifetime.Absolute), now.Add(-s.lifetime.Idle)).
		Delete(&Session{})
	if res.Error != nil {
		return 0, fmt.Errorf("models: purge sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}
