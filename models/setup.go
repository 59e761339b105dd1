package models

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// hasActiveAdmin reports whether an active human Admin exists.
func hasActiveAdmin(tx *gorm.DB) (bool, error) {
	var n int64
	err := tx.Model(&User{}).
		Where("kind = ? AND role = ? AND status = ?", KindHuman, RoleAdmin, StatusActive).
		Limit(1).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("models: count admins: %w", err)
	}
	return n > 0, nil
}

// NeedsSetup reports whether first-run setup is still open: no active human
// Admin exists.
func (s *Store) NeedsSetup(ctx context.Context) (bool, error) {
	ok, err := hasActiveAdmin(s.db.WithContext(ctx))
	return !ok, err
}

// NewSetupToken creates the one-time token of the first-run setup URL and
// stores only its hash; a new call (a restart) replaces the previous token.
func (s *Store) NewSetupToken(ctx context.Context) (string, error) {
	token, err := RandomToken(32)
	if err != nil {
		return "", err
	}
	if err := putSetting(s.db.WithContext(ctx), settingSetupTokenHash, HashToken(token), s.Now()); err != nil {
		return "", fmt.Errorf("models: store setup token: %w", err)
	}
	return token, nil
}

// CheckSetupToken returns nil when token opens the setup page now,
// ErrSetupDone once an administrator exists and ErrInvalidSetupToken otherwise.
func (s *Store) CheckSetupToken(ctx context.Context, token string) error {
	return checkSetupToken(s.db.WithContext(ctx), token)
}

func checkSetupToken(tx *gorm.DB, token string) error {
	if ok, err := hasActiveAdmin(tx); err != nil {
		return err
	} else if ok {
		return ErrSetupDone
	}
	var st Setting
	err := tx.Where("key = ?", settingSetupTokenHash).Take(&st).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || token == "" {
		return ErrInvalidSetupToken
	}
	if err != nil {
		return fmt.Errorf("models: setup token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(st.Value), []byte(HashToken(token))) != 1 {
		return ErrInvalidSetupToken
	}
	return nil
}

// CompleteSetup creates the first administrator. The token check, the
// "no administrator yet" check and the insert share one immediate
// transaction, so two people racing through the setup page cannot both win.
func (s *Store) CompleteSetup(ctx context.Context, a Actor, token string, in NewHuman) (*User, error) {
	if err := s.CheckSetupToken(ctx, token); err != nil {
		return nil, err
	}
	in.Role = RoleAdmin
	name, email, key, err := in.validate()
	if err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	var u *User
	err = s.write(ctx, func(tx *gorm.DB) error {
		if err := checkSetupToken(tx, token); err != nil {
			return err
		}
		var err error
		if u, err = s.insertHuman(tx, name, email, key, &hash, RoleAdmin, nil); err != nil {
			return err
		}
		if err := tx.Where("key = ?", settingSetupTokenHash).Delete(&Setting{}).Error; err != nil {
			return fmt.Errorf("models: use setup token: %w", err)
		}
		// The person at the setup page has no account until this moment.
		a.Kind, a.ID, a.Label = ActorAnonymous, 0, "first-run setup"
		if err := s.recordCreate(tx, a, u); err != nil {
			return err
		}
		return s.record(tx, a, "setup.complete", OutcomeSuccess, "", userTarget(u), nil)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
