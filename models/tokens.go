package models

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
)

// MaxTokenNameChars bounds a token's name (SPEC §3).
const MaxTokenNameChars = 255

// TokenState is what a token can do now.
type TokenState string

const (
	TokenActive  TokenState = "active"
	TokenRevoked TokenState = "revoked"
	TokenExpired TokenState = "expired"
)

// Token is a service token. The secret itself is never stored: only its
// SHA-256 and a hint.
type Token struct {
	ID          int64 `gorm:"primaryKey"`
	UserID      int64
	Name        string
	NameKey     string
	Description string
	TokenHash   string
	Hint        string
	ExpiresAt   *time.Time
	RevokedAt   *time.Time
	RevokedBy   *int64
	LastUsedAt  *time.Time
	LastUsedIP  *string `gorm:"column:last_used_ip"`
	LastUsedUA  *string `gorm:"column:last_used_ua"`
	CreatedBy   *int64
	CreatedAt   time.Time
	ReplacedBy  *int64  // the token a rotation made to replace this one
	Scopes      *string // space-separated; nil: all that its user's role allows (token_scopes.go)
	// AllowedCIDRs is space-separated; nil: any address (token_ip.go).
	AllowedCIDRs *string `gorm:"column:allowed_cidrs"`
}

// TableName implements gorm's tabler.
func (Token) TableName() string { return "tokens" }

// Replaced reports whether the token was rotated and still works during the
// overlap: it stops at its expires_at.
func (t *Token) Replaced(now time.Time) bool {
	return t.ReplacedBy != nil && t.State(now) == TokenActive
}

// State is the token's state at now. A token expires at its expires_at
// instant: at expires_at == now it no longer works. Revoked wins over
// expired, because it is what an administrator did.
func (t *Token) State(now time.Time) TokenState {
	switch {
	case t.RevokedAt != nil:
		return TokenRevoked
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return TokenExpired
	}
	return TokenActive
}

// activeTokenCond selects the tokens that work now.
const activeTokenCond = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)"

// Expiry is the lifetime asked for a new token: Never, a number of days, or
// a date (the token then works until the end of that day, UTC).
type Expiry struct {
	Never bool
	Days  int
	Date  *time.Time
}

// resolve turns the request into an expiry instant under the policy.
func (e Expiry) resolve(now time.Time, p TokenPolicy) (*time.Time, string) {
	switch {
	case e.Never:
		if !p.AllowNever {
			return nil, "The expiry policy requires every token to expire."
		}
		return nil, ""
	case e.Date != nil:
		d := e.Date.UTC()
		end := time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, 0, time.UTC)
		if !end.After(now) {
			return nil, "Choose a date in the future."
		}
		if p.MaxDays > 0 && end.Sub(now) > time.Duration(p.MaxDays+1)*24*time.Hour {
			return nil, fmt.Sprintf("The expiry policy allows at most %d days.", p.MaxDays)
		}
		return &end, ""
	case e.Days > 0:
		if p.MaxDays > 0 && e.Days > p.MaxDays {
			return nil, fmt.Sprintf("The expiry policy allows at most %d days.", p.MaxDays)
		}
		if e.Days > maxPolicyDays {
			return nil, fmt.Sprintf("Choose at most %d days.", maxPolicyDays)
		}
		t := now.Add(time.Duration(e.Days) * 24 * time.Hour)
		return &t, ""
	}
	return nil, "Choose when the token expires."
}

// NewToken is the input for generating a token.
type NewToken struct {
	Name        string
	Description string
	Expiry      Expiry
	Scopes      []string // none: all that the user's role allows
	// AllowedCIDRs are the address ranges it may be used from; none: any.
	AllowedCIDRs []string
}

func cleanTokenName(raw string) (string, string) {
	if !utf8.ValidString(raw) {
		return "", "The name contains invalid characters."
	}
	name := strings.TrimSpace(raw)
	if name == "" {
		return "", "Name the token after where it is used, like “airflow-prod”."
	}
	for _, r := range name {
		if unicode.IsControl(r) || isBidiControl(r) {
			return name, "The name must not contain control or text-direction characters."
		}
	}
	if utf8.RuneCountInString(name) > MaxTokenNameChars {
		return name, fmt.Sprintf("Use at most %d characters.", MaxTokenNameChars)
	}
	return name, ""
}

// errDeactivatedOwner refuses tokens for a deactivated user.
var errDeactivatedOwner = &RuleError{Code: "deactivated", Message: "The user is deactivated: restore it before generating or restoring tokens."}

// GenerateToken creates a token for an active service user and returns it
// with its secret, which exists only in this return value.
func (s *Store) GenerateToken(ctx context.Context, a Actor, userID int64, in NewToken) (*Token, string, error) {
	return s.generateToken(ctx, a, userID, in, nil)
}

// generateToken is GenerateToken; keep, when set, runs in its transaction
// with the new token and its secret (to seal it for a reveal).
func (s *Store) generateToken(ctx context.Context, a Actor, userID int64, in NewToken, keep func(tx *gorm.DB, tok *Token, secret string) error) (*Token, string, error) {
	ve := &ValidationError{}
	name, msg := cleanTokenName(in.Name)
	if msg != "" {
		ve.Add("name", msg)
	}
	desc, msg := cleanDescription(in.Description)
	if msg != "" {
		ve.Add("description", msg)
	}
	cidrs, msg := CleanCIDRs(in.AllowedCIDRs)
	if msg != "" {
		ve.Add("allowed_cidrs", msg)
	}
	if err := ve.OrNil(); err != nil {
		return nil, "", err
	}
	secret, err := NewTokenSecret()
	if err != nil {
		return nil, "", err
	}
	var tok *Token
	err = s.write(ctx, func(tx *gorm.DB) error {
		u, err := userForUpdate(tx, userID)
		if err != nil {
			return err
		}
		if u.Kind != KindService {
			return s.refuse(tx, a, "token.create", userTarget(u), &RuleError{Code: "not_service", Message: "Only service users hold tokens."})
		}
		if u.Status != StatusActive {
			return s.refuse(tx, a, "token.create", userTarget(u), errDeactivatedOwner)
		}
		// Checked against the role as it is in this transaction: a token
		// may be narrower than its user's role, never wider.
		scopes, msg := CleanScopes(in.Scopes, u.Role)
		if msg != "" {
			return NewValidationError("scopes", msg)
		}
		policy, err := tokenPolicy(tx)
		if err != nil {
			return err
		}
		now := s.Now()
		expires, msg := in.Expiry.resolve(now, policy)
		if msg != "" {
			return NewValidationError("expiry", msg)
		}
		var taken int64
		if err := tx.Model(&Token{}).Where("user_id = ? AND name_key = ?", userID, strings.ToLower(name)).Count(&taken).Error; err != nil {
			return fmt.Errorf("models: check token name: %w", err)
		}
		if taken > 0 {
			return NewConflictError("name", "This service user already has a token named “"+name+"”. Token names are unique per user.")
		}
		tok = &Token{
			UserID: userID, Name: name, NameKey: strings.ToLower(name), Description: desc,
			TokenHash: HashToken(secret), Hint: TokenHint(secret), ExpiresAt: expires,
			CreatedBy: nonZero(a.ID), CreatedAt: now, Scopes: joinScopes(scopes), AllowedCIDRs: joinCIDRs(cidrs),
		}
		if err := tx.Create(tok).Error; err != nil {
			return fmt.Errorf("models: create token: %w", err)
		}
		if keep != nil {
			if err := keep(tx, tok, secret); err != nil {
				return err
			}
		}
		return s.record(tx, a, "token.create", OutcomeSuccess, "", tokenTarget(tok), tokenFields(tok, u))
	})
	if err != nil {
		return nil, "", err
	}
	return tok, secret, nil
}

// TokenByID returns a token, or ErrNotFound.
func (s *Store) TokenByID(ctx context.Context, id int64) (*Token, error) {
	return tokenByID(s.db.WithContext(ctx), id)
}

func tokenByID(tx *gorm.DB, id int64) (*Token, error) {
	var t Token
	err := tx.Take(&t, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("models: token %d: %w", id, err)
	}
	return &t, nil
}

// TokensOf lists a user's tokens, newest first, with last-use data that is
// still waiting in memory merged in.
func (s *Store) TokensOf(ctx context.Context, userID int64) ([]Token, error) {
	var out []Token
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("created_at DESC, id DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: tokens of %d: %w", userID, err)
	}
	for i := range out {
		s.usage.merge(&out[i])
	}
	return out, nil
}

// TokenRowsOf lists a user's tokens, newest first, with their rotation links.
func (s *Store) TokenRowsOf(ctx context.Context, userID int64) ([]TokenRow, error) {
	var ids []int64
	if err := s.db.WithContext(ctx).Model(&Token{}).Where("user_id = ?", userID).Order("created_at DESC, id DESC").Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("models: tokens of %d: %w", userID, err)
	}
	return s.tokenRows(ctx, ids, "t.created_at DESC, t.id DESC", false)
}

// ActiveTokenCount counts the tokens of a user that work now.
func (s *Store) ActiveTokenCount(ctx context.Context, userID int64) (int64, error) {
	return activeTokenCount(s.db.WithContext(ctx), userID, s.Now())
}

func activeTokenCount(tx *gorm.DB, userID int64, now time.Time) (int64, error) {
	var n int64
	if err := tx.Model(&Token{}).Where("user_id = ? AND "+activeTokenCond, userID, now).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("models: count active tokens: %w", err)
	}
	return n, nil
}

// RevokeToken revokes a token; the very next request with it fails.
// Revoking a revoked token changes nothing.
func (s *Store) RevokeToken(ctx context.Context, a Actor, id int64) (*Token, error) {
	var t *Token
	err := s.write(ctx, func(tx *gorm.DB) error {
		var err error
		if t, err = tokenByID(tx, id); err != nil {
			return err
		}
		if t.RevokedAt != nil {
			return nil
		}
		now := s.Now()
		t.RevokedAt, t.RevokedBy = &now, nonZero(a.ID)
		if err := tx.Model(&Token{}).Where("id = ?", id).Updates(map[string]any{"revoked_at": now, "revoked_by": t.RevokedBy}).Error; err != nil {
			return fmt.Errorf("models: revoke token: %w", err)
		}
		return s.recordTokenState(tx, a, "token.revoke", t, TokenActive, TokenRevoked)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// RestoreToken undoes a revocation: only for a revoked token that has not
// expired, of an active user.
func (s *Store) RestoreToken(ctx context.Context, a Actor, id int64) (*Token, error) {
	var t *Token
	err := s.write(ctx, func(tx *gorm.DB) error {
		var err error
		if t, err = tokenByID(tx, id); err != nil {
			return err
		}
		if err := restoreGuard(tx, t, s.Now()); err != nil {
			return s.refuseRule(tx, a, "token.restore", tokenTarget(t), err)
		}
		t.RevokedAt, t.RevokedBy = nil, nil
		if err := tx.Model(&Token{}).Where("id = ?", id).Updates(map[string]any{"revoked_at": nil, "revoked_by": nil}).Error; err != nil {
			return fmt.Errorf("models: restore token: %w", err)
		}
		// A restored token's idle period is warned afresh, so one revoked
		// for inactivity gets its 7 days' notice again, not a revocation
		// at the next sweep.
		if err := tx.Exec(`DELETE FROM token_inactivity_notices WHERE token_id = ?`, id).Error; err != nil {
			return fmt.Errorf("models: restore token: %w", err)
		}
		return s.recordTokenState(tx, a, "token.restore", t, TokenRevoked, TokenActive)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// DeleteToken removes a revoked or expired token for good.
func (s *Store) DeleteToken(ctx context.Context, a Actor, id int64) (*Token, error) {
	var t *Token
	err := s.write(ctx, func(tx *gorm.DB) error {
		var err error
		if t, err = tokenByID(tx, id); err != nil {
			return err
		}
		state := t.State(s.Now())
		if state == TokenActive {
			return s.refuse(tx, a, "token.delete", tokenTarget(t), &RuleError{Code: "active", Message: "An active token cannot be deleted. Revoke it first."})
		}
		if err := tx.Delete(&Token{}, id).Error; err != nil {
			return fmt.Errorf("models: delete token: %w", err)
		}
		return s.recordTokenState(tx, a, "token.delete", t, state, "deleted")
	})
	if err != nil {
		return nil, err
	}
	s.usage.forget(id)
	return t, nil
}

// RevokeAllTokens revokes every active token of a user and returns how many.
func (s *Store) RevokeAllTokens(ctx context.Context, a Actor, userID int64) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		if _, err := userForUpdate(tx, userID); err != nil {
			return err
		}
		now := s.Now()
		var active []Token
		if err := tx.Where("user_id = ? AND "+activeTokenCond, userID, now).Order("id").Find(&active).Error; err != nil {
			return fmt.Errorf("models: active tokens: %w", err)
		}
		// One event per token: each revocation is its own state change.
		for i := range active {
			t := &active[i]
			if err := tx.Model(&Token{}).Where("id = ?", t.ID).Updates(map[string]any{"revoked_at": now, "revoked_by": nonZero(a.ID)}).Error; err != nil {
				return fmt.Errorf("models: revoke token: %w", err)
			}
			if err := s.recordTokenState(tx, a, "token.revoke", t, TokenActive, TokenRevoked); err != nil {
				return err
			}
		}
		n = int64(len(active))
		return nil
	})
	return n, err
}

// tokenFields are a new token's non-secret fields for its creation event.
func tokenFields(t *Token, u *User) Changes {
	ch := Changes{}
	ch.set("name", nil, t.Name)
	ch.set("user", nil, u.Handle())
	ch.set("hint", nil, t.Hint)
	if t.ExpiresAt != nil {
		ch.set("expires_at", nil, t.ExpiresAt.UTC().Format(time.RFC3339))
	} else {
		ch.set("expires_at", nil, "never")
	}
	if t.Description != "" {
		ch.set("description", nil, t.Description)
	}
	if t.Scopes != nil {
		ch.set("scopes", nil, *t.Scopes)
	}
	if t.AllowedCIDRs != nil {
		ch.set("allowed_cidrs", nil, *t.AllowedCIDRs)
	}
	return ch
}

// recordTokenState writes a token's state change.
func (s *Store) recordTokenState(tx *gorm.DB, a Actor, action string, t *Token, before, after TokenState) error {
	ch := Changes{}
	ch.set("state", string(before), string(after))
	return s.record(tx, a, action, OutcomeSuccess, "", tokenTarget(t), ch)
}

// ErrTokenInvalid is the one answer for every failed bearer authentication.
var ErrTokenInvalid = errors.New("models: invalid token")

// TokenAuthError says why a token was refused, for logs and metrics only:
// clients always get the same answer.
type TokenAuthError struct{ Reason string }

func (e *TokenAuthError) Error() string { return "models: invalid token: " + e.Reason }

// Unwrap makes every TokenAuthError an ErrTokenInvalid.
func (e *TokenAuthError) Unwrap() error { return ErrTokenInvalid }

// TokenAuth is an authenticated API caller: the token and its user as they
// are in the database now.
type TokenAuth struct {
	Token *Token
	User  *User
	// Scopes is what the token may do: its scopes within its user's role.
	Scopes  *ScopeGrant
	allowed allowlist // the addresses it may be used from; nil: any (token_ip.go)
	rev     int64     // the data revision they were read at (see CallerDetail)
}

// AuthenticateToken checks a bearer token, in order: shape, checksum (no
// database read for either), lookup by hash, constant-time comparison, not
// revoked, not expired, user active and a service user. Successes are kept
// while the data revision holds (see token_auth_cache.go), so a revocation,
// a role change or a deactivation applies to the next request, whichever
// process or person made it.
func (s *Store) AuthenticateToken(ctx context.Context, secret string) (*TokenAuth, error) {
	if err := CheckTokenFormat(secret); err != nil {
		return nil, &TokenAuthError{Reason: "malformed"}
	}
	rev, err := s.revision(ctx)
	if err != nil {
		return nil, err
	}
	return s.authenticateAt(ctx, rev, secret)
}

// IntrospectToken is AuthenticateToken for a token another service was
// shown, read at the caller's data revision: one request reads it once.
// clientIP is where that service says the token came from: outside the
// token's allowlist it is refused and audited as in AuthenticateTokenFrom.
// Without it ("") the allowlist is not checked.
func (s *Store) IntrospectToken(ctx context.Context, caller *TokenAuth, secret, clientIP string) (*TokenAuth, error) {
	if err := CheckTokenFormat(secret); err != nil {
		return nil, &TokenAuthError{Reason: "malformed"}
	}
	auth, err := s.authenticateAt(ctx, caller.rev, secret)
	if err != nil || clientIP == "" {
		return auth, err
	}
	if err := s.checkAddress(ctx, auth, clientIP, "introspection"); err != nil {
		return nil, err
	}
	return auth, nil
}

// authenticateAt authenticates a well-formed secret at data revision rev.
func (s *Store) authenticateAt(ctx context.Context, rev int64, secret string) (*TokenAuth, error) {
	hash := HashToken(secret)
	if kept, auth, err := s.cachedAuth(rev, hash); kept {
		return auth, err
	}
	var t Token
	err := s.db.WithContext(ctx).Where("token_hash = ?", hash).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, &TokenAuthError{Reason: "unknown"}
	}
	if err != nil {
		return nil, fmt.Errorf("models: token lookup: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(t.TokenHash), []byte(hash)) != 1 {
		return nil, &TokenAuthError{Reason: "unknown"}
	}
	switch t.State(s.Now()) {
	case TokenRevoked:
		return nil, &TokenAuthError{Reason: "revoked"}
	case TokenExpired:
		return nil, &TokenAuthError{Reason: "expired"}
	}
	u, err := s.UserByID(ctx, t.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, &TokenAuthError{Reason: "unknown"}
	}
	if err != nil {
		return nil, err
	}
	if u.Status != StatusActive {
		return nil, &TokenAuthError{Reason: "user_deactivated"}
	}
	if u.Kind != KindService {
		return nil, &TokenAuthError{Reason: "not_service"}
	}
	return s.keepAuth(rev, hash, &t, u), nil
}

// ActiveTokenCounts counts the working tokens of each user in ids with one
// query, for list answers.
func (s *Store) ActiveTokenCounts(ctx context.Context, ids []int64) (map[int64]int64, error) {
	out := map[int64]int64{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		UserID int64
		N      int64
	}
	err := s.db.WithContext(ctx).Model(&Token{}).Select("user_id, COUNT(*) AS n").
		Where("user_id IN ? AND "+activeTokenCond, ids, s.Now()).Group("user_id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: active token counts: %w", err)
	}
	for _, r := range rows {
		out[r.UserID] = r.N
	}
	return out, nil
}
