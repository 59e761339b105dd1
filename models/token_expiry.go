package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Expiry notice thresholds, as token_expiry_notices and the token.expiring
// payload name them.
const (
	ExpiryThreshold7d      = "7d"
	ExpiryThreshold1d      = "1d"
	expiryThresholdExpired = "expired"
)

const (
	// expirySweepBatch is how many tokens one sweep transaction notifies,
	// so a backlog (the first sweep after an upgrade) never holds the
	// writers' turn for long.
	expirySweepBatch = 200
	// expiredLookback is how long after its expiry a token still gets its
	// token.expired event. Decision: a token that expired before the
	// sweeper first saw it (before this version, or while every replica
	// was down for over a week) gets none, so an upgrade does not announce
	// years of long-dead tokens, and the sweep reads a bounded window of
	// the expiry index instead of every expired token.
	expiredLookback = 7 * 24 * time.Hour
)

// expiryStage is one threshold and the window of expiry instants, relative
// to now, in which a token is due for it.
type expiryStage struct {
	threshold string
	event     string
	after     time.Duration // expires_at > now + after
	upTo      time.Duration // expires_at <= now + upTo
}

// expiryStages are disjoint windows, so a token is due for at most one
// notice per sweep: one found 12 h before expiry with no notice yet gets
// only the 1d warning, not a late 7d one as well.
var expiryStages = []expiryStage{
	{ExpiryThreshold7d, EventTokenExpiring, 24 * time.Hour, 7 * 24 * time.Hour},
	{ExpiryThreshold1d, EventTokenExpiring, 0, 24 * time.Hour},
	{expiryThresholdExpired, EventTokenExpired, -expiredLookback, 0},
}

// SweepTokenExpiry queues the time-based token events that are due:
// token.expiring 7 days and 1 day before a token expires, and token.expired
// once it has. It returns how many events it queued (each goes to every
// enabled endpoint subscribed to it).
//
// Decision: only tokens that still work until they expire are announced:
// not revoked, not replaced by a rotation (token.rotated already said when
// the old one stops, and the new one is the one to watch) and of an active
// service user (a deactivated user's tokens are refused anyway, and
// deactivation was its own event).
//
// Each event is noted in token_expiry_notices in the same transaction as
// its outbox rows, with ON CONFLICT DO NOTHING, and only a new note queues
// anything: however many sweeps or replicas run, a token gets each notice
// once. A sweep changes nothing, so it writes no audit event, but it takes
// its turn with the other writers (s.write); a commit that queued
// deliveries wakes this process's webhook worker. With email configured
// (WithEmail), each event is also an email to the service user's owner and
// notification list, written in the same transaction.
func (s *Store) SweepTokenExpiry(ctx context.Context) (int, error) {
	total := 0
	for _, st := range expiryStages {
		for {
			n, full, err := s.sweepExpiryBatch(ctx, st)
			total += n
			if err != nil {
				return total, err
			}
			if !full {
				break
			}
		}
	}
	return total, nil
}

// sweepExpiryBatch notifies up to expirySweepBatch tokens due for st's
// notice, in one transaction, and reports whether it found a full batch
// (there may be more).
func (s *Store) sweepExpiryBatch(ctx context.Context, st expiryStage) (queued int, full bool, err error) {
	emailed := false
	err = s.write(ctx, func(tx *gorm.DB) error {
		queued, full, emailed = 0, false, false
		now := s.Now()
		// The window walks tokens_live_expires (expires_at, id, user_id
		// WHERE revoked_at IS NULL); each token in it probes the notices'
		// primary key. Read under the writers' lock, so it sees every
		// notice another replica committed.
		var due []struct {
			ID     int64
			UserID int64
		}
		if err := tx.Raw(expirySweepQuery(s.dialect),
			now.Add(st.after), now.Add(st.upTo), StatusActive, st.threshold, expirySweepBatch).Scan(&due).Error; err != nil {
			return fmt.Errorf("models: expiry sweep: %w", err)
		}
		full = len(due) == expirySweepBatch
		for _, d := range due {
			res := tx.Exec(`INSERT INTO token_expiry_notices (token_id, threshold, sent_at) VALUES (?, ?, ?)
				ON CONFLICT (token_id, threshold) DO NOTHING`, d.ID, st.threshold, now)
			if res.Error != nil {
				return fmt.Errorf("models: expiry notice: %w", res.Error)
			}
			if res.RowsAffected == 0 {
				continue // noted already: another sweep got here first
			}
			t := target{kind: "token", id: d.ID, owner: d.UserID}
			// The payload is read once, for the webhooks and the email alike.
			var loaded *WebhookData
			data := func() (WebhookData, error) {
				if loaded != nil {
					return *loaded, nil
				}
				data, err := webhookDataOf(tx, System, t, st.event, nil)
				if st.event == EventTokenExpiring {
					data.Threshold = st.threshold
				}
				if err == nil {
					loaded = &data
				}
				return data, err
			}
			if err := s.enqueueWebhookEvent(tx, st.event, now, data); err != nil {
				return err
			}
			if s.email != nil {
				ok, err := s.enqueueExpiryEmail(tx, st.event, d.ID, d.UserID, data)
				if err != nil {
					return err
				}
				emailed = emailed || ok
			}
			queued++
		}
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	if emailed {
		s.wakeEmailWorker() // committed: the worker finds the rows
	}
	return queued, full, nil
}

// expirySweepQuery reads the tokens due for a notice: expires_at in
// (?, ?], a user status, a threshold and a limit. On SQLite it names the
// working tokens' expiry index, whose window is bounded by time, because
// its planner, without statistics, would rather visit every active user's
// tokens (tokens_user_live) and sort them.
func expirySweepQuery(d Dialect) string {
	tokens := "tokens t"
	if d == SQLite {
		tokens = "tokens t INDEXED BY tokens_live_expires"
	}
	return `SELECT t.id, t.user_id FROM ` + tokens + `
		JOIN users u ON u.id = t.user_id
		WHERE t.revoked_at IS NULL AND t.expires_at > ? AND t.expires_at <= ?
		  AND t.replaced_by IS NULL AND u.status = ?
		  AND NOT EXISTS (SELECT 1 FROM token_expiry_notices n WHERE n.token_id = t.id AND n.threshold = ?)
		ORDER BY t.expires_at, t.id LIMIT ?`
}

// RunExpirySweeps sweeps every interval (and once at the start) until ctx
// ends, reporting errors to onErr: the expiry notices, then the inactivity
// auto-revoke (SweepInactiveTokens), which does nothing while it is off.
func (s *Store) RunExpirySweeps(ctx context.Context, interval time.Duration, onErr func(error)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if _, err := s.SweepTokenExpiry(ctx); err != nil && ctx.Err() == nil {
			onErr(err)
		}
		if _, err := s.SweepInactiveTokens(ctx); err != nil && ctx.Err() == nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
