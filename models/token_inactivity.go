package models

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// InactivityChoices are the inactivity auto-revoke settings an admin may
// pick, in days; 0 is off, the default.
var InactivityChoices = []int{0, 30, 60, 90, 180, 365}

const (
	settingInactiveDays = "token.revoke_inactive_days"
	// InactivityWarning is how long before an inactivity revocation the
	// owners are warned, and the least time between warning and revocation.
	InactivityWarning = 7 * 24 * time.Hour
	// inactivitySweepBatch is how many tokens one sweep transaction warns
	// or revokes, so a backlog never holds the writers' turn for long.
	inactivitySweepBatch = 200
	// reasonInactive is the audit reason of a revocation for inactivity.
	reasonInactive = "inactive"
)

// InactivityDays reads the inactivity auto-revoke setting: revoke tokens
// unused for this many days; 0 means off.
func (s *Store) InactivityDays(ctx context.Context) (int, error) {
	days, err := inactivityDays(s.db.WithContext(ctx))
	if err == nil {
		s.usage.inactivityOn.Store(days > 0) // for RecordTokenUse
	}
	return days, err
}

func inactivityDays(tx *gorm.DB) (int, error) {
	var rows []Setting
	if err := tx.Where("key = ?", settingInactiveDays).Find(&rows).Error; err != nil {
		return 0, fmt.Errorf("models: inactivity setting: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	n, err := strconv.Atoi(rows[0].Value)
	if err != nil || !slices.Contains(InactivityChoices, n) {
		return 0, nil // a value written by hand that is not a choice: off
	}
	return n, nil
}

// SetInactivityDays stores the inactivity auto-revoke setting (one of
// InactivityChoices), audited as settings.update with its before and
// after. Turning it on or shortening it revokes nothing at once: every
// token is warned at least InactivityWarning before the sweep revokes it.
func (s *Store) SetInactivityDays(ctx context.Context, a Actor, days int) error {
	if !slices.Contains(InactivityChoices, days) {
		return NewValidationError("inactive_days", inactivityChoiceMessage)
	}
	err := s.write(ctx, func(tx *gorm.DB) error { return s.setInactivityDays(tx, a, days) })
	if err == nil {
		s.usage.inactivityOn.Store(days > 0)
	}
	return err
}

// inactivityChoiceMessage is the refusal of a days value not in
// InactivityChoices.
const inactivityChoiceMessage = "Choose Off, or 30, 60, 90, 180 or 365 days."

// setInactivityDays stores a valid setting in tx, audited as
// settings.update when it changed.
func (s *Store) setInactivityDays(tx *gorm.DB, a Actor, days int) error {
	before, err := inactivityDays(tx)
	if err != nil {
		return err
	}
	if before == days {
		return nil
	}
	if err := putSetting(tx, settingInactiveDays, strconv.Itoa(days), s.Now()); err != nil {
		return fmt.Errorf("models: save inactivity setting: %w", err)
	}
	ch := Changes{}
	ch.set(settingInactiveDays, before, days)
	return s.record(tx, a, "settings.update", OutcomeSuccess, "", target{kind: "settings", label: "inactivity auto-revoke"}, ch)
}

// InactiveSince is when a token's current idle period began: its last use,
// or its creation if it was never used.
func InactiveSince(t *Token) time.Time {
	if t.LastUsedAt != nil {
		return *t.LastUsedAt
	}
	return t.CreatedAt
}

// InactivityRevocations says when the inactivity sweep will revoke each
// working token of toks (their pending uses merged, as the lists show
// them), by id; nil when the setting is off. It is the token's inactive
// since plus the setting's days, or later when its warning came late (a
// token is revoked no sooner than InactivityWarning after its warning, and
// one not yet warned will be warned at the next sweep). A token that
// expires first is left out: it stops by itself.
func (s *Store) InactivityRevocations(ctx context.Context, toks []*Token) (map[int64]time.Time, error) {
	days, err := s.InactivityDays(ctx)
	if err != nil || days == 0 {
		return nil, err
	}
	now := s.Now()
	out := map[int64]time.Time{}
	var warned []int64
	for _, t := range toks {
		if t.State(now) != TokenActive || t.ReplacedBy != nil {
			continue
		}
		at := InactiveSince(t).Add(time.Duration(days) * 24 * time.Hour)
		if at.Before(now.Add(InactivityWarning)) {
			warned = append(warned, t.ID)
			at = now.Add(InactivityWarning) // not warned yet: the next sweep warns
		}
		out[t.ID] = at
	}
	byID := map[int64]*Token{}
	for _, t := range toks {
		byID[t.ID] = t
	}
	if len(warned) == 0 {
		return withoutExpiring(out, byID), nil
	}
	// In the warning window: the warning of the current idle period, if
	// sent, holds the date.
	var notices []struct {
		TokenID       int64
		InactiveSince time.Time
		RevokeAt      time.Time
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT token_id, inactive_since, revoke_at FROM token_inactivity_notices
		WHERE token_id IN ? AND days = ?`, warned, days).Scan(&notices).Error; err != nil {
		return nil, fmt.Errorf("models: inactivity notices: %w", err)
	}
	for _, n := range notices {
		if t := byID[n.TokenID]; t != nil && n.InactiveSince.Equal(InactiveSince(t)) {
			out[n.TokenID] = n.RevokeAt
		}
	}
	return withoutExpiring(out, byID), nil
}

// withoutExpiring drops the tokens that expire before their revocation.
func withoutExpiring(out map[int64]time.Time, byID map[int64]*Token) map[int64]time.Time {
	for id, at := range out {
		if t := byID[id]; t.ExpiresAt != nil && !t.ExpiresAt.After(at) {
			delete(out, id)
		}
	}
	return out
}

// InactivitySweep is what one inactivity sweep did.
type InactivitySweep struct {
	Warned  int // tokens warned (each once per idle period and setting)
	Revoked int
}

// SweepInactiveTokens applies the inactivity auto-revoke setting; off, it
// does nothing. A token counts as inactive from its last use, or, never
// used, from its creation. Only working tokens count: not revoked, not
// expired, not replaced by a rotation (it stops by itself), of an active
// service user; one that expires before its revocation is not warned.
//
// It first writes this process's buffered token uses (FlushTokenUse), and
// skips any token with a use still buffered, so a token in use is never
// revoked for a use not yet written.
//
// Warning: InactivityWarning before the revocation is due, the token gets
// token.inactive_warning (webhooks, and email to the owners with
// WithEmail), noted in token_inactivity_notices under its idle period and
// the setting with ON CONFLICT DO NOTHING, so it is sent once however many
// sweeps or replicas run. A use starts a new idle period, which is warned
// again when it too runs out; a changed setting warns again with its date.
// A token found past due (the setting just turned on or shortened) is
// warned now and revoked InactivityWarning later, never at once.
//
// Revocation: once the warning's revoke_at has passed and the token has not
// been used since, it is revoked by the system with reason "inactive",
// audited as token.revoke and sent as token.revoked, as a leaked token is.
// The update only takes an unrevoked token, under the writers' lock, so a
// second sweep or replica revokes nothing more and writes no second event.
func (s *Store) SweepInactiveTokens(ctx context.Context) (InactivitySweep, error) {
	var done InactivitySweep
	days, err := s.InactivityDays(ctx)
	if err != nil || days == 0 {
		return done, err
	}
	if _, err := s.FlushTokenUse(ctx); err != nil {
		return done, err
	}
	for after := int64(0); ; {
		n, last, full, err := s.warnInactiveBatch(ctx, days, after)
		done.Warned += n
		if err != nil {
			return done, err
		}
		if !full {
			break
		}
		after = last
	}
	for after := int64(0); ; {
		n, last, full, err := s.revokeInactiveBatch(ctx, days, after)
		done.Revoked += n
		if err != nil {
			return done, err
		}
		if !full {
			break
		}
		after = last
	}
	return done, nil
}

// inactiveToken is a working token the sweep considers.
type inactiveToken struct {
	ID         int64
	UserID     int64
	Name       string
	LastUsedAt *time.Time
	CreatedAt  time.Time
	ExpiresAt  *time.Time
}

func (t inactiveToken) since() time.Time {
	if t.LastUsedAt != nil {
		return *t.LastUsedAt
	}
	return t.CreatedAt
}

// liveInactiveCond is the working tokens of active service users, for the
// sweep's queries; its parameters are now and the active status.
const liveInactiveCond = `t.revoked_at IS NULL AND t.replaced_by IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)
	AND u.status = ?`

// warnInactiveBatch warns up to inactivitySweepBatch tokens (ids above
// after) whose idle period reaches days within InactivityWarning and has
// no warning yet, and returns how many it warned, the last id it read and
// whether the batch was full.
func (s *Store) warnInactiveBatch(ctx context.Context, days int, after int64) (warned int, last int64, full bool, err error) {
	emailed := false
	period := time.Duration(days) * 24 * time.Hour
	err = s.write(ctx, func(tx *gorm.DB) error {
		warned, last, full, emailed = 0, after, false, false
		now := s.Now()
		cutoff := now.Add(InactivityWarning - period) // idle since before this: warn
		var due []inactiveToken
		if err := tx.Raw(`SELECT t.id, t.user_id, t.name, t.last_used_at, t.created_at, t.expires_at FROM tokens t
			JOIN users u ON u.id = t.user_id
			WHERE `+liveInactiveCond+`
			  AND (t.last_used_at <= ? OR (t.last_used_at IS NULL AND t.created_at <= ?))
			  AND NOT EXISTS (SELECT 1 FROM token_inactivity_notices n
			      WHERE n.token_id = t.id AND n.inactive_since = COALESCE(t.last_used_at, t.created_at) AND n.days = ?)
			  AND t.id > ?
			ORDER BY t.id LIMIT ?`, now, StatusActive, cutoff, cutoff, days, after, inactivitySweepBatch).Scan(&due).Error; err != nil {
			return fmt.Errorf("models: inactivity sweep: %w", err)
		}
		full = len(due) == inactivitySweepBatch
		for _, d := range due {
			last = d.ID
			if s.usage.pendingUse(d.ID) {
				continue // used since the flush: a new idle period has begun
			}
			revokeAt := d.since().Add(period)
			if earliest := now.Add(InactivityWarning); revokeAt.Before(earliest) {
				revokeAt = earliest
			}
			if d.ExpiresAt != nil && !d.ExpiresAt.After(revokeAt) {
				continue // it expires first: no warning of a revocation that will not come
			}
			// The idle period is copied from the token's own row, so the
			// key matches it exactly whatever the driver's time format.
			res := tx.Exec(`INSERT INTO token_inactivity_notices (token_id, inactive_since, days, warned_at, revoke_at)
				SELECT id, COALESCE(last_used_at, created_at), ?, ?, ? FROM tokens WHERE id = ?
				ON CONFLICT (token_id, inactive_since, days) DO NOTHING`, days, now, revokeAt, d.ID)
			if res.Error != nil {
				return fmt.Errorf("models: inactivity notice: %w", res.Error)
			}
			if res.RowsAffected == 0 {
				continue // warned already: another sweep got here first
			}
			t := target{kind: "token", id: d.ID, owner: d.UserID}
			var loaded *WebhookData
			data := func() (WebhookData, error) {
				if loaded != nil {
					return *loaded, nil
				}
				data, err := webhookDataOf(tx, System, t, EventTokenInactiveWarning, nil)
				data.Inactivity = &WebhookInactivity{
					Days: days, InactiveSince: d.since().UTC().Format(time.RFC3339), NeverUsed: d.LastUsedAt == nil,
					RevokeAt: revokeAt.UTC().Format(time.RFC3339),
				}
				if err == nil {
					loaded = &data
				}
				return data, err
			}
			if err := s.enqueueWebhookEvent(tx, EventTokenInactiveWarning, now, data); err != nil {
				return err
			}
			if s.email != nil {
				ok, err := s.enqueueExpiryEmail(tx, EventTokenInactiveWarning, d.ID, d.UserID, data)
				if err != nil {
					return err
				}
				emailed = emailed || ok
			}
			warned++
		}
		return nil
	})
	if err != nil {
		return 0, after, false, err
	}
	if emailed {
		s.wakeEmailWorker()
	}
	return warned, last, full, nil
}

// revokeInactiveBatch revokes up to inactivitySweepBatch tokens (ids above
// after) whose warning for the current idle period and setting is due.
func (s *Store) revokeInactiveBatch(ctx context.Context, days int, after int64) (revoked int, last int64, full bool, err error) {
	err = s.write(ctx, func(tx *gorm.DB) error {
		revoked, last, full = 0, after, false
		now := s.Now()
		// revoke_at is never before inactive_since + days, and the join on
		// the idle period means no use was written since the warning.
		var due []inactiveToken
		if err := tx.Raw(`SELECT t.id, t.user_id, t.name, t.last_used_at, t.created_at, t.expires_at FROM tokens t
			JOIN users u ON u.id = t.user_id
			JOIN token_inactivity_notices n ON n.token_id = t.id
			     AND n.inactive_since = COALESCE(t.last_used_at, t.created_at) AND n.days = ?
			WHERE `+liveInactiveCond+` AND n.revoke_at <= ? AND t.id > ?
			ORDER BY t.id LIMIT ?`, days, now, StatusActive, now, after, inactivitySweepBatch).Scan(&due).Error; err != nil {
			return fmt.Errorf("models: inactivity sweep: %w", err)
		}
		full = len(due) == inactivitySweepBatch
		for _, d := range due {
			last = d.ID
			if s.usage.pendingUse(d.ID) {
				continue // in use: the flush will start a new idle period
			}
			tok, err := tokenByID(tx, d.ID)
			if err != nil {
				return err
			}
			res := tx.Model(&Token{}).Where("id = ? AND revoked_at IS NULL", d.ID).
				Updates(map[string]any{"revoked_at": now, "revoked_by": nil})
			if res.Error != nil {
				return fmt.Errorf("models: revoke inactive token: %w", res.Error)
			}
			if res.RowsAffected == 0 {
				continue
			}
			tok.RevokedAt, tok.RevokedBy = &now, nil
			ch := Changes{}
			ch.set("state", string(TokenActive), string(TokenRevoked))
			ch.set("inactive_since", "", d.since().UTC().Format(time.RFC3339))
			ch.set("inactive_days", 0, days)
			if err := s.record(tx, System, "token.revoke", OutcomeSuccess, reasonInactive, tokenTarget(tok), ch); err != nil {
				return err
			}
			revoked++
		}
		return nil
	})
	if err != nil {
		return 0, after, false, err
	}
	return revoked, last, full, nil
}
