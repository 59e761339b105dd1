package models

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Overlaps are the rotation overlaps offered: how long the old token keeps
// working next to its replacement.
var Overlaps = map[string]time.Duration{"none": 0, "1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour}

// rotatedName gives a replacement its name: "name-r2", then "-r3", and so on.
func rotatedName(name string) string {
	if i := strings.LastIndex(name, "-r"); i > 0 {
		if n, err := strconv.Atoi(name[i+2:]); err == nil && n >= 2 {
			return name[:i] + "-r" + strconv.Itoa(n+1)
		}
	}
	return name + "-r2"
}

// RotateToken replaces an active token: the new one gets the next rotation
// name and the same lifetime (within the policy), and the old one keeps
// working for the overlap, then expires by itself. Both changes and their
// events share one transaction.
func (s *Store) RotateToken(ctx context.Context, a Actor, id int64, overlap time.Duration) (*Token, string, error) {
	return s.rotateToken(ctx, a, id, overlap, TokenRotation{}, nil)
}

// TokenRotation is what a rotation changes in the replacement. A nil field
// keeps the old token's value (as RotateToken does); an empty list means
// none (all that the role allows; any address); others are checked as at
// creation.
type TokenRotation struct {
	Scopes       *[]string
	AllowedCIDRs *[]string
}

// RotateTokenWith is RotateToken giving the replacement other scopes or
// another allowlist.
func (s *Store) RotateTokenWith(ctx context.Context, a Actor, id int64, overlap time.Duration, r TokenRotation) (*Token, string, error) {
	return s.rotateToken(ctx, a, id, overlap, r, nil)
}

// rotateToken is RotateToken; keep, when set, runs in its transaction with
// the replacement and its secret (to seal it for a reveal).
func (s *Store) rotateToken(ctx context.Context, a Actor, id int64, overlap time.Duration, r TokenRotation, keep func(tx *gorm.DB, tok *Token, secret string) error) (*Token, string, error) {
	if overlap < 0 || overlap > 7*24*time.Hour {
		return nil, "", NewValidationError("overlap", "Choose an overlap of none, 1 hour, 24 hours or 7 days.")
	}
	secret, err := NewTokenSecret()
	if err != nil {
		return nil, "", err
	}
	var fresh *Token
	err = s.write(ctx, func(tx *gorm.DB) error {
		old, err := tokenByID(tx, id)
		if err != nil {
			return err
		}
		now := s.Now()
		if old.State(now) != TokenActive {
			return s.refuse(tx, a, "token.rotate", tokenTarget(old), &RuleError{Code: "not_active", Message: "Only an active token can be rotated."})
		}
		u, err := userForUpdate(tx, old.UserID)
		if err != nil {
			return err
		}
		if u.Status != StatusActive {
			return s.refuse(tx, a, "token.rotate", tokenTarget(old), errDeactivatedOwner)
		}
		// The replacement does what the old token did unless told otherwise;
		// inherited scopes are kept as given, and the role still narrows them
		// at each request.
		keptScopes, keptCIDRs := old.Scopes, old.AllowedCIDRs
		if r.Scopes != nil {
			clean, msg := CleanScopes(*r.Scopes, u.Role)
			if msg != "" {
				return NewValidationError("scopes", msg)
			}
			keptScopes = joinScopes(clean)
		}
		if r.AllowedCIDRs != nil {
			clean, msg := CleanCIDRs(*r.AllowedCIDRs)
			if msg != "" {
				return NewValidationError("allowed_cidrs", msg)
			}
			keptCIDRs = joinCIDRs(clean)
		}
		policy, err := tokenPolicy(tx)
		if err != nil {
			return err
		}
		var expires *time.Time
		switch {
		case old.ExpiresAt != nil:
			t := now.Add(old.ExpiresAt.Sub(old.CreatedAt))
			expires = &t
		case !policy.AllowNever:
			t := now.Add(time.Duration(max(policy.DefaultDays, 1)) * 24 * time.Hour)
			expires = &t
		}
		if expires != nil && policy.MaxDays > 0 {
			if limit := now.Add(time.Duration(policy.MaxDays) * 24 * time.Hour); expires.After(limit) {
				expires = &limit
			}
		}
		name := rotatedName(old.Name)
		for {
			var taken int64
			if err := tx.Model(&Token{}).Where("user_id = ? AND name_key = ?", u.ID, strings.ToLower(name)).Count(&taken).Error; err != nil {
				return fmt.Errorf("models: rotate: %w", err)
			}
			if taken == 0 {
				break
			}
			name = rotatedName(name)
		}
		fresh = &Token{
			UserID: u.ID, Name: name, NameKey: strings.ToLower(name), Description: old.Description,
			TokenHash: HashToken(secret), Hint: TokenHint(secret), ExpiresAt: expires, CreatedBy: nonZero(a.ID), CreatedAt: now,
			Scopes: keptScopes, AllowedCIDRs: keptCIDRs,
		}
		if err := tx.Create(fresh).Error; err != nil {
			return fmt.Errorf("models: rotate: %w", err)
		}
		oldEnd := now.Add(overlap)
		if old.ExpiresAt != nil && old.ExpiresAt.Before(oldEnd) {
			oldEnd = *old.ExpiresAt
		}
		if err := tx.Model(&Token{}).Where("id = ?", old.ID).Updates(map[string]any{"expires_at": oldEnd, "replaced_by": fresh.ID}).Error; err != nil {
			return fmt.Errorf("models: rotate: %w", err)
		}
		if keep != nil {
			if err := keep(tx, fresh, secret); err != nil {
				return err
			}
		}
		ch := tokenFields(fresh, u)
		ch.set("replaces", nil, old.Name)
		ch.set("old_expires_at", nil, oldEnd.UTC().Format(time.RFC3339))
		return s.record(tx, a, "token.rotate", OutcomeSuccess, "", tokenTarget(old), ch)
	})
	if err != nil {
		return nil, "", err
	}
	return fresh, secret, nil
}
