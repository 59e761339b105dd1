package models

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
)

// The guards below are the rules an action must pass. The write runs each
// inside its own transaction; the *Refusal reads run the same guard up front,
// so a page can say why an action will be refused before anyone types.

// deactivateGuard refuses to deactivate the last active human Admin, and a
// service user that still has working tokens.
func deactivateGuard(tx *gorm.DB, u *User, now time.Time) error {
	if err := guardLastAdmin(tx, u); err != nil {
		return err
	}
	if u.Kind != KindService {
		return nil
	}
	n, err := activeTokenCount(tx, u.ID, now)
	if err != nil {
		return err
	}
	if n > 0 {
		return activeTokensError(u.Name, n)
	}
	return nil
}

// restoreGuard refuses to restore a token that is not revoked, has expired,
// or belongs to a deactivated user.
func restoreGuard(tx *gorm.DB, t *Token, now time.Time) error {
	if t.RevokedAt == nil {
		return &RuleError{Code: "not_revoked", Message: "Only a revoked token can be restored."}
	}
	if t.ExpiresAt != nil && !now.Before(*t.ExpiresAt) {
		return &RuleError{Code: "expired", Message: "This token has expired, so it cannot be restored. Generate a new one."}
	}
	u, err := userForUpdate(tx, t.UserID)
	if err != nil {
		return err
	}
	if u.Status != StatusActive {
		return errDeactivatedOwner
	}
	return nil
}

// DeactivateRefusal returns the rule that would refuse deactivating u now,
// or nil when the deactivation would go through.
func (s *Store) DeactivateRefusal(ctx context.Context, u *User) (*RuleError, error) {
	return asRefusal(deactivateGuard(s.db.WithContext(ctx), u, s.Now()))
}

// DemoteRefusal returns the rule that would refuse taking the Admin role
// from u now, or nil.
func (s *Store) DemoteRefusal(ctx context.Context, u *User) (*RuleError, error) {
	if u.Role != RoleAdmin || u.Status != StatusActive {
		return nil, nil
	}
	return asRefusal(guardLastAdmin(s.db.WithContext(ctx), u))
}

// RestoreRefusal returns the rule that would refuse restoring t now, or nil.
func (s *Store) RestoreRefusal(ctx context.Context, t *Token) (*RuleError, error) {
	return asRefusal(restoreGuard(s.db.WithContext(ctx), t, s.Now()))
}

// asRefusal splits a guard's error into a rule refusal or a failure.
func asRefusal(err error) (*RuleError, error) {
	var re *RuleError
	if errors.As(err, &re) {
		return re, nil
	}
	return nil, err
}

// refuseRule records a guard's rule refusal with its audit event; any other
// error (a failed read) is returned as is and rolls the transaction back.
func (s *Store) refuseRule(tx *gorm.DB, a Actor, action string, t target, err error) error {
	var re *RuleError
	if !errors.As(err, &re) {
		return err
	}
	return s.refuse(tx, a, action, t, err)
}
