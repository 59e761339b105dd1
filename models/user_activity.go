package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// activeTouchInterval bounds how often a person's last_active_at is written:
// at most once a minute per user, like a session's last_seen_at.
const activeTouchInterval = time.Minute

// touchDue reports whether u's last activity is a minute old or more.
func touchDue(u *User, now time.Time) bool {
	return u.LastActiveAt == nil || now.Sub(*u.LastActiveAt) >= activeTouchInterval
}

// touchActive moves userID's last activity to now, inside tx: never
// backwards, and not within a minute of the last write, so concurrent
// requests write once. A touch is no change of record: no audit event.
func touchActive(tx *gorm.DB, userID int64, now time.Time) error {
	if err := tx.Exec(`UPDATE users SET last_active_at = ? WHERE id = ? AND (last_active_at IS NULL OR last_active_at <= ?)`,
		now, userID, now.Add(-activeTouchInterval)).Error; err != nil {
		return fmt.Errorf("models: touch last active: %w", err)
	}
	return nil
}
