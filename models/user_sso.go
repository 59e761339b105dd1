package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// PasswordLogin is the instance's policy for password sign-in: Enabled
// (--password-login) and BreakGlass (--allow-break-glass), which lets the
// accounts made by `warden admin create` use their password when Enabled
// is false.
type PasswordLogin struct {
	Enabled    bool
	BreakGlass bool
}

// SetPasswordLogin sets the password sign-in policy Authenticate applies.
// A new store allows password sign-in.
func (s *Store) SetPasswordLogin(p PasswordLogin) { s.passwordLogin = p }

// PasswordLoginPolicy returns the password sign-in policy.
func (s *Store) PasswordLoginPolicy() PasswordLogin { return s.passwordLogin }

// ErrPasswordLoginOff refuses a password sign-in when password sign-in is
// off and break-glass sign-in is not allowed.
var ErrPasswordLoginOff = errors.New("models: password sign-in is turned off")

// Reasons a single sign-on fails, as its auth.sso_failed event records
// them. The flow's own checks (state, nonce, token) are made by web/oidc and
// the handlers; the account rules by SignInSSO.
const (
	SSOProviderError     = "provider_error"    // the provider answered with error=…
	SSOBadState          = "bad_state"         // state differs from the pre-session's
	SSOExpiredPreSession = "expired_session"   // no pre-session cookie, or an old one
	SSOCodeRejected      = "code_rejected"     // the token endpoint refused the code (a replay)
	SSONoIDToken         = "no_id_token"       // the token response had no ID token
	SSOIssuerMismatch    = "issuer_mismatch"   // iss is not the configured issuer
	SSOAudienceMismatch  = "audience_mismatch" // aud does not hold the client id
	SSOTokenExpired      = "token_expired"     // exp has passed
	SSOBadSignature      = "bad_signature"     // not signed by the provider's keys with an allowed algorithm
	SSOInvalidToken      = "invalid_token"     // any other malformed token
	SSONonceMismatch     = "nonce_mismatch"    // nonce differs from the pre-session's
	SSONonceReplayed     = "nonce_replayed"    // an ID token already used to sign in
	SSOGroupsMissing     = "groups_missing"    // no groups claim
	SSOGroupsInvalid     = "groups_invalid"    // a groups claim that is not a list of strings
	SSOUnverifiedEmail   = "unverified_email"  // the email matches a person but is not verified
	SSONoEmail           = "no_email"          // a new person without a usable email
	SSOEmailLinked       = "email_linked"      // the email's person signs in as someone else
	SSODeactivated       = "deactivated"       // the person is deactivated
)

// SSOError is a failed single sign-on, with the reason its event records.
type SSOError struct{ Reason string }

func (e *SSOError) Error() string { return "models: single sign-on failed: " + e.Reason }

// SSOIdentity is what a verified ID token says about the person signing in.
type SSOIdentity struct {
	Issuer        string
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	// InAdminGroup says the groups claim holds one of --oidc-admin-groups.
	InAdminGroup bool
	// Nonce is the ID token's nonce; it is remembered until NonceUntil so
	// the same token never signs in twice.
	Nonce      string
	NonceUntil time.Time
}

// label is how the attempt is named in the audit log before any account is
// known: the email, or the subject.
func (id SSOIdentity) label() string {
	if id.Email != "" {
		return clipUTF8(id.Email, maxAuditField)
	}
	return clipUTF8(id.Subject, maxAuditField)
}

// ErrSSOPassword refuses a password for a person who signs in through the
// identity provider.
var ErrSSOPassword = &RuleError{Code: "sso_account", Message: "This person signs in with single sign-on and has no password."}

// PasswordAllowed reports whether the account may have a password: a
// person who does not sign in through the identity provider, or a
// break-glass account (which keeps its password when linked).
func (u *User) PasswordAllowed() bool {
	return u.Kind == KindHuman && (!u.SSO() || u.BreakGlass)
}

// SignInMethod says how a person signs in: "sso", "sso+password" (a linked
// break-glass account), "password", or "" for a service user.
func (u *User) SignInMethod() string {
	switch {
	case u.Kind != KindHuman:
		return ""
	case u.SSO() && u.PasswordHash != nil:
		return "sso+password"
	case u.SSO():
		return "sso"
	}
	return "password"
}

// SSONonce is an accepted ID token's nonce, kept (hashed) until its
// pre-session could no longer be used.
type SSONonce struct {
	NonceHash string `gorm:"primaryKey"`
	ExpiresAt time.Time
}

// TableName implements gorm's tabler.
func (SSONonce) TableName() string { return "sso_nonces" }

// RecordSSOFailure writes the auth.sso_failed event of a sign-in the flow
// refused before any account was looked at (a bad state, a forged token);
// label names the attempt (an email or subject, when known).
func (s *Store) RecordSSOFailure(ctx context.Context, a Actor, reason, label string) error {
	a.Kind, a.ID, a.Label = ActorAnonymous, 0, clipUTF8(label, maxAuditField)
	return s.RecordEvent(ctx, a, "auth.sso_failed", OutcomeFailed, reason, "", 0, "")
}

// SignInSSO signs in the person a verified ID token names, in one
// transaction with its events, and returns the new session's cookie token:
//
//   - The person is found by issuer and subject. Failing that, a person with
//     the same email is linked once (user.sso_link), only when the email is
//     verified; a person made by `warden admin create` keeps their password
//     as the break-glass way in, anyone else's password is removed.
//     Failing that, a person in an admin group is created as an Admin just
//     in time (user.sso_create).
//   - The groups decide the role of a linked person at every sign-in: in an
//     admin group they are an Admin (user.sso_role_granted); out of every
//     admin group they lose the role (user.sso_role_lost, unless they are
//     the last active Admin), their console sessions end, and they are told
//     the console is for administrators (auth.sso_denied, ErrNotAdministrator).
//   - The ID token's nonce is remembered: the same token twice fails.
//
// Failures are *SSOError with the reason their auth.sso_failed event
// records. a carries the request's details.
func (s *Store) SignInSSO(ctx context.Context, a Actor, id SSOIdentity) (string, *User, error) {
	if id.Issuer == "" || id.Subject == "" || id.Nonce == "" {
		return "", nil, errors.New("models: single sign-on needs an issuer, a subject and a nonce")
	}
	var token string
	var u *User
	// as is the person, with the request's details, for what they do by
	// signing in: join, link, sign in.
	as := func(u *User) Actor {
		me := a
		me.Kind, me.ID, me.Label = ActorHuman, u.ID, u.Handle()
		return me
	}
	anon := a
	anon.Kind, anon.ID, anon.Label = ActorAnonymous, 0, id.label()
	fail := func(tx *gorm.DB, reason string, t target) error {
		if err := s.record(tx, anon, "auth.sso_failed", OutcomeFailed, reason, t, nil); err != nil {
			return err
		}
		return &refusal{err: &SSOError{Reason: reason}}
	}
	err := s.write(ctx, func(tx *gorm.DB) error {
		now := s.Now()
		replayed, err := consumeNonce(tx, id.Nonce, id.NonceUntil, now)
		if err != nil {
			return err
		}
		if replayed {
			return fail(tx, SSONonceReplayed, target{})
		}
		byEmail := false
		if u, err = userBySSO(tx, id.Issuer, id.Subject); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if u == nil {
			if u, err = s.ssoMatchByEmail(tx, id); err != nil {
				var se *SSOError
				if errors.As(err, &se) {
					return fail(tx, se.Reason, userTargetOrNone(u))
				}
				return err
			}
			byEmail = u != nil
		}
		if u != nil && u.Status != StatusActive {
			return fail(tx, SSODeactivated, userTarget(u))
		}
		if !id.InAdminGroup {
			// Only a linked person's role follows the groups; a person
			// merely sharing the email is left alone.
			if u != nil && !byEmail {
				if err := s.ssoRoleLost(tx, u); err != nil {
					return err
				}
			}
			if err := s.record(tx, anon, "auth.sso_denied", OutcomeDenied, "not_in_group", userTargetOrNone(u), nil); err != nil {
				return err
			}
			return &refusal{err: ErrNotAdministrator}
		}
		switch {
		case u == nil:
			if u, err = s.ssoCreate(tx, id, as); err != nil {
				var se *SSOError
				if errors.As(err, &se) {
					return fail(tx, se.Reason, target{})
				}
				return err
			}
		case byEmail:
			if err := s.ssoLink(tx, u, id, as(u)); err != nil {
				return err
			}
		}
		if u.Role != RoleAdmin {
			if err := s.ssoRoleGranted(tx, u); err != nil {
				return err
			}
		}
		me := as(u)
		if token, _, err = s.insertSession(tx, me); err != nil {
			return err
		}
		return s.record(tx, me, "auth.sso_login", OutcomeSuccess, "", userTarget(u), nil)
	})
	if err != nil {
		return "", nil, err
	}
	return token, u, nil
}

func userTargetOrNone(u *User) target {
	if u == nil {
		return target{}
	}
	return userTarget(u)
}

// consumeNonce remembers an accepted nonce until until, and reports
// whether it had been accepted before. Nonces past their time are
// forgotten on the way: their pre-sessions can no longer be used.
func consumeNonce(tx *gorm.DB, nonce string, until, now time.Time) (bool, error) {
	if err := tx.Where("expires_at < ?", now).Delete(&SSONonce{}).Error; err != nil {
		return false, fmt.Errorf("models: forget old nonces: %w", err)
	}
	h := HashToken(nonce)
	var n int64
	if err := tx.Model(&SSONonce{}).Where("nonce_hash = ?", h).Count(&n).Error; err != nil {
		return false, fmt.Errorf("models: read nonce: %w", err)
	}
	if n > 0 {
		return true, nil
	}
	if until.Before(now) {
		until = now
	}
	if err := tx.Create(&SSONonce{NonceHash: h, ExpiresAt: until}).Error; err != nil {
		return false, fmt.Errorf("models: remember nonce: %w", err)
	}
	return false, nil
}

// userBySSO returns the person linked to issuer and subject, or ErrNotFound.
func userBySSO(tx *gorm.DB, issuer, subject string) (*User, error) {
	var u User
	err := tx.Where("sso_issuer = ? AND sso_subject = ?", issuer, subject).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("models: user by sign-on: %w", err)
	}
	return &u, nil
}

// ssoMatchByEmail returns the person an unlinked identity's email names,
// nil when none does. Only a verified email may claim an account: an
// unverified one that matches is an *SSOError (with that person), since
// anyone can type anyone's address into some identity providers.
func (s *Store) ssoMatchByEmail(tx *gorm.DB, id SSOIdentity) (*User, error) {
	_, key, problem := CleanEmail(id.Email)
	if id.Email == "" || problem != "" {
		return nil, nil
	}
	var u User
	err := tx.Where("email_key = ? AND kind = ?", key, KindHuman).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("models: match sign-on email: %w", err)
	}
	if !id.EmailVerified {
		return &u, &SSOError{Reason: SSOUnverifiedEmail}
	}
	if u.SSO() {
		// Linked to another subject (or issuer): one person, one identity.
		return &u, &SSOError{Reason: SSOEmailLinked}
	}
	return &u, nil
}

// ssoCreate makes a person in an admin group an Admin just in time.
func (s *Store) ssoCreate(tx *gorm.DB, id SSOIdentity, as func(*User) Actor) (*User, error) {
	email, key, problem := CleanEmail(id.Email)
	if id.Email == "" || problem != "" {
		return nil, &SSOError{Reason: SSONoEmail}
	}
	name, msg := CleanName(id.Name)
	if msg != "" {
		name, _ = CleanName(strings.SplitN(email, "@", 2)[0])
	}
	if name == "" {
		name = email
	}
	u, err := s.insertHuman(tx, name, email, key, nil, RoleAdmin, nil)
	if err != nil {
		return nil, err
	}
	u.SSOIssuer, u.SSOSubject = &id.Issuer, &id.Subject
	if err := tx.Model(&User{}).Where("id = ?", u.ID).
		Updates(map[string]any{"sso_issuer": id.Issuer, "sso_subject": id.Subject}).Error; err != nil {
		return nil, fmt.Errorf("models: link new person: %w", err)
	}
	ch := Changes{}
	ch.set("name", nil, u.Name)
	ch.set("email", nil, email)
	ch.set("role", nil, string(RoleAdmin))
	ch.set("teams", nil, []string{"Public"})
	ch.set("sign_in", nil, "sso")
	return u, s.record(tx, as(u), "user.sso_create", OutcomeSuccess, "", userTarget(u), ch)
}

// ssoLink links an existing person to the identity, once. Their password
// and any set-password link go, unless the account is break-glass.
func (s *Store) ssoLink(tx *gorm.DB, u *User, id SSOIdentity, a Actor) error {
	up := map[string]any{"sso_issuer": id.Issuer, "sso_subject": id.Subject, "updated_at": s.Now()}
	ch := Changes{}
	ch.set("sign_in", "password", "sso")
	if !u.BreakGlass {
		up["password_hash"], up["password_changed_at"] = nil, nil
		if u.PasswordHash != nil {
			ch.set("password", "set", "removed")
		}
		if err := tx.Where("user_id = ?", u.ID).Delete(&PasswordLink{}).Error; err != nil {
			return fmt.Errorf("models: drop password links: %w", err)
		}
		u.PasswordHash, u.PasswordChangedAt = nil, nil
	}
	if err := tx.Model(&User{}).Where("id = ?", u.ID).Updates(up).Error; err != nil {
		return fmt.Errorf("models: link person: %w", err)
	}
	u.SSOIssuer, u.SSOSubject = &id.Issuer, &id.Subject
	return s.record(tx, a, "user.sso_link", OutcomeSuccess, "", userTarget(u), ch)
}

// ssoRoleGranted makes a linked person in an admin group an Admin again.
func (s *Store) ssoRoleGranted(tx *gorm.DB, u *User) error {
	before := u.Role
	now := s.Now()
	if err := tx.Model(&User{}).Where("id = ?", u.ID).Updates(map[string]any{"role": RoleAdmin, "updated_at": now}).Error; err != nil {
		return fmt.Errorf("models: grant role: %w", err)
	}
	u.Role, u.UpdatedAt = RoleAdmin, now
	ch := Changes{}
	ch.set("role", string(before), string(RoleAdmin))
	return s.record(tx, System, "user.sso_role_granted", OutcomeSuccess, "", userTarget(u), ch)
}

// ssoRoleLost takes the Admin role from a person who has left every admin
// group and ends their console sessions. The last active Admin keeps the
// role (the rule holds for everyone), but is refused and signed out all
// the same; the event says so.
func (s *Store) ssoRoleLost(tx *gorm.DB, u *User) error {
	if u.Role == RoleAdmin {
		if err := guardLastAdmin(tx, u); err != nil {
			if !errors.Is(err, ErrLastAdmin) {
				return err
			}
			if err := s.record(tx, System, "user.sso_role_lost", OutcomeDenied, ErrLastAdmin.Code, userTarget(u), nil); err != nil {
				return err
			}
		} else {
			now := s.Now()
			if err := tx.Model(&User{}).Where("id = ?", u.ID).Updates(map[string]any{"role": RoleMember, "updated_at": now}).Error; err != nil {
				return fmt.Errorf("models: take role: %w", err)
			}
			ch := Changes{}
			ch.set("role", string(RoleAdmin), string(RoleMember))
			u.Role, u.UpdatedAt = RoleMember, now
			if err := s.record(tx, System, "user.sso_role_lost", OutcomeSuccess, "", userTarget(u), ch); err != nil {
				return err
			}
		}
	}
	return endSessions(tx, u.ID)
}
