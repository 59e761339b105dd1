package models

import (
	"context"
	"fmt"
	"strconv"

	"gorm.io/gorm"
)

// TokenPolicy is the instance's expiry policy for new tokens.
type TokenPolicy struct {
	DefaultDays int  // preselected lifetime; 0 means Never
	MaxDays     int  // longest lifetime allowed; 0 means no limit
	AllowNever  bool // whether tokens without expiry may be created
}

// DefaultTokenPolicy: 90 days by default, at most a year, no eternal tokens.
var DefaultTokenPolicy = TokenPolicy{DefaultDays: 90, MaxDays: 365, AllowNever: false}

const (
	settingPolicyDefault = "token.default_days"
	settingPolicyMax     = "token.max_days"
	settingPolicyNever   = "token.allow_never"
	maxPolicyDays        = 3650
)

// TokenPolicy reads the expiry policy, falling back to the defaults.
func (s *Store) TokenPolicy(ctx context.Context) (TokenPolicy, error) {
	return tokenPolicy(s.db.WithContext(ctx))
}

func tokenPolicy(tx *gorm.DB) (TokenPolicy, error) {
	p := DefaultTokenPolicy
	var rows []Setting
	if err := tx.Where("key IN ?", []string{settingPolicyDefault, settingPolicyMax, settingPolicyNever}).Find(&rows).Error; err != nil {
		return p, fmt.Errorf("models: token policy: %w", err)
	}
	for _, r := range rows {
		switch r.Key {
		case settingPolicyDefault:
			p.DefaultDays, _ = strconv.Atoi(r.Value)
		case settingPolicyMax:
			p.MaxDays, _ = strconv.Atoi(r.Value)
		case settingPolicyNever:
			p.AllowNever = r.Value == "true"
		}
	}
	return p, nil
}

// Validate checks that the policy is coherent.
func (p TokenPolicy) Validate() error {
	ve := &ValidationError{}
	if p.MaxDays < 0 || p.MaxDays > maxPolicyDays {
		ve.Add("max_days", fmt.Sprintf("Choose between 1 and %d days, or no limit.", maxPolicyDays))
	}
	switch {
	case p.DefaultDays < 0 || p.DefaultDays > maxPolicyDays:
		ve.Add("default_days", fmt.Sprintf("Choose between 1 and %d days.", maxPolicyDays))
	case p.DefaultDays == 0 && !p.AllowNever:
		ve.Add("default_days", "The default cannot be Never while tokens without expiry are not allowed.")
	case p.MaxDays > 0 && p.DefaultDays > p.MaxDays:
		ve.Add("default_days", "The default lifetime cannot be longer than the maximum.")
	case p.MaxDays > 0 && p.DefaultDays == 0:
		ve.Add("default_days", "The default cannot be Never while a maximum lifetime is set.")
	}
	if p.AllowNever && p.MaxDays > 0 {
		ve.Add("allow_never", "Tokens without expiry and a maximum lifetime contradict each other; remove the maximum to allow them.")
	}
	return ve.OrNil()
}

// SetTokenPolicy stores a new expiry policy. It applies to tokens created
// from now on; existing tokens keep their expiry.
func (s *Store) SetTokenPolicy(ctx context.Context, a Actor, p TokenPolicy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(tx *gorm.DB) error { return s.setTokenPolicy(tx, a, p) })
}

// setTokenPolicy stores a validated policy in tx, audited as
// settings.update when it changed.
func (s *Store) setTokenPolicy(tx *gorm.DB, a Actor, p TokenPolicy) error {
	before, err := tokenPolicy(tx)
	if err != nil {
		return err
	}
	now := s.Now()
	for k, v := range map[string]string{
		settingPolicyDefault: strconv.Itoa(p.DefaultDays),
		settingPolicyMax:     strconv.Itoa(p.MaxDays),
		settingPolicyNever:   strconv.FormatBool(p.AllowNever),
	} {
		if err := putSetting(tx, k, v, now); err != nil {
			return fmt.Errorf("models: save token policy: %w", err)
		}
	}
	ch := Changes{}
	ch.set("token.default_days", before.DefaultDays, p.DefaultDays)
	ch.set("token.max_days", before.MaxDays, p.MaxDays)
	ch.set("token.allow_never", before.AllowNever, p.AllowNever)
	if len(ch) == 0 {
		return nil
	}
	return s.record(tx, a, "settings.update", OutcomeSuccess, "", target{kind: "settings", label: "token expiry policy"}, ch)
}
