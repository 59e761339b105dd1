package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Setting keys.
const (
	settingSessionHashKey  = "session.hash_key"
	settingSessionBlockKey = "session.block_key"
	settingSetupTokenHash  = "setup.token_hash"
)

// Setting returns the value stored under key, or ErrNotFound.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var st Setting
	err := s.db.WithContext(ctx).Where("key = ?", key).Take(&st).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("models: setting %s: %w", key, err)
	}
	return st.Value, nil
}

// InstanceSettings are the settings an Admin changes: the expiry policy of
// new tokens and the inactivity auto-revoke (InactiveDays, 0 for off).
type InstanceSettings struct {
	Policy       TokenPolicy
	InactiveDays int
}

// InstanceSettings reads the settings an Admin changes.
func (s *Store) InstanceSettings(ctx context.Context) (InstanceSettings, error) {
	p, err := s.TokenPolicy(ctx)
	if err != nil {
		return InstanceSettings{}, err
	}
	days, err := s.InactivityDays(ctx)
	return InstanceSettings{Policy: p, InactiveDays: days}, err
}

// SettingsPatch is a change to InstanceSettings: nil fields keep their
// value.
type SettingsPatch struct {
	DefaultDays, MaxDays, InactiveDays *int
	AllowNever                         *bool
}

// UpdateSettings applies p to the settings as they are inside one
// transaction, so a concurrent change to a field p leaves out is kept. The
// result is checked as a whole (a refusal of either part changes neither),
// and each part that changed is audited as settings.update, as the
// console's two forms record them. It returns the settings now.
func (s *Store) UpdateSettings(ctx context.Context, a Actor, p SettingsPatch) (InstanceSettings, error) {
	var out InstanceSettings
	err := s.write(ctx, func(tx *gorm.DB) error {
		policy, err := tokenPolicy(tx)
		if err != nil {
			return err
		}
		days, err := inactivityDays(tx)
		if err != nil {
			return err
		}
		if p.DefaultDays != nil {
			policy.DefaultDays = *p.DefaultDays
		}
		if p.MaxDays != nil {
			policy.MaxDays = *p.MaxDays
		}
		if p.InactiveDays != nil {
			days = *p.InactiveDays
		}
		if p.AllowNever != nil {
			policy.AllowNever = *p.AllowNever
		}
		ve := &ValidationError{}
		var pe *ValidationError
		if errors.As(policy.Validate(), &pe) {
			for f, m := range pe.Fields {
				ve.Add(f, m)
			}
		}
		if !slices.Contains(InactivityChoices, days) {
			ve.Add("inactive_days", inactivityChoiceMessage)
		}
		if err := ve.OrNil(); err != nil {
			return err
		}
		if err := s.setTokenPolicy(tx, a, policy); err != nil {
			return err
		}
		out = InstanceSettings{Policy: policy, InactiveDays: days}
		return s.setInactivityDays(tx, a, days)
	})
	if err != nil {
		return InstanceSettings{}, err
	}
	s.usage.inactivityOn.Store(out.InactiveDays > 0)
	return out, nil
}

func putSetting(tx *gorm.DB, key, value string, now time.Time) error {
	return tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "key"}},
		DoUpdates: clause.AssignmentColumns([]string{"value", "updated_at"}),
	}).Create(&Setting{Key: key, Value: value, UpdatedAt: now}).Error
}

// SessionKeys returns the cookie signing and encryption keys, generating and
// storing them on first use. Two processes starting at once agree on one pair
// because the insert keeps whichever row was written first.
func (s *Store) SessionKeys(ctx context.Context) (hashKey, blockKey string, err error) {
	get := func(key string, n int) (string, error) {
		fresh, err := RandomToken(n)
		if err != nil {
			return "", err
		}
		db := s.db.WithContext(ctx)
		if err := db.Clauses(clause.OnConflict{DoNothing: true}).Table("settings").
			Create(map[string]any{"key": key, "value": fresh, "updated_at": s.Now()}).Error; err != nil {
			return "", fmt.Errorf("models: store %s: %w", key, err)
		}
		return s.Setting(ctx, key)
	}
	if hashKey, err = get(settingSessionHashKey, 64); err != nil {
		return "", "", err
	}
	if blockKey, err = get(settingSessionBlockKey, 32); err != nil {
		return "", "", err
	}
	return hashKey, blockKey, nil
}
