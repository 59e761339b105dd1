package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// PasswordLinkLifetime is how long a set-password link works.
const PasswordLinkLifetime = 72 * time.Hour

// ErrLinkInvalid means a set-password link is unknown, used or expired.
var ErrLinkInvalid = errors.New("models: the link is not valid")

// PasswordLink is a one-time link for a person to choose a password. Only the
// hash of its token is stored.
type PasswordLink struct {
	ID        int64 `gorm:"primaryKey"`
	UserID    int64
	TokenHash string
	CreatedBy *int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

// TableName implements gorm's tabler.
func (PasswordLink) TableName() string { return "password_links" }

// UserUpdate is what an edit may change: never the name or the user_id.
type UserUpdate struct {
	Role        Role
	TeamIDs     []int64
	Description string
	Owner       Owner
	// NotifyEmails replaces a service user's notification addresses; nil
	// keeps them.
	NotifyEmails *[]string
}

// userForUpdate loads a user inside a transaction.
func userForUpdate(tx *gorm.DB, id int64) (*User, error) {
	var u User
	err := tx.Take(&u, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("models: user %d: %w", id, err)
	}
	return &u, nil
}

// guardLastAdmin refuses a change that would leave no active human Admin:
// it runs inside the change's immediate transaction, so two admins demoting
// each other at the same instant are serialised and the second one sees the
// first one's change.
func guardLastAdmin(tx *gorm.DB, u *User) error {
	if !u.IsConsoleAdmin() {
		return nil
	}
	var others int64
	err := tx.Model(&User{}).
		Where("kind = ? AND role = ? AND status = ? AND id <> ?", KindHuman, RoleAdmin, StatusActive, u.ID).
		Count(&others).Error
	if err != nil {
		return fmt.Errorf("models: count admins: %w", err)
	}
	if others == 0 {
		return ErrLastAdmin
	}
	return nil
}

// UpdateUser changes a user's role, teams, description, owner and
// notification addresses. Demoting
// an administrator ends their console sessions at once.
func (s *Store) UpdateUser(ctx context.Context, a Actor, id int64, in UserUpdate) (*User, error) {
	ve := &ValidationError{}
	if !in.Role.Valid() {
		ve.Add("role", "Choose a role.")
	}
	desc, msg := cleanDescription(in.Description)
	if msg != "" {
		ve.Add("description", msg)
	}
	var notify []string
	if in.NotifyEmails != nil {
		if notify, msg = CleanNotifyEmails(*in.NotifyEmails); msg != "" {
			ve.Add("notify_emails", msg)
		}
	}
	if err := ve.OrNil(); err != nil {
		return nil, err
	}
	var u *User
	err := s.write(ctx, func(tx *gorm.DB) error {
		var err error
		if u, err = userForUpdate(tx, id); err != nil {
			return err
		}
		if u.Kind == KindHuman {
			in.Owner = Owner{} // people have no owner
			in.NotifyEmails = nil
		}
		if in.NotifyEmails == nil {
			notify = u.NotifyList()
		}
		beforeTeams, err := s.teamNamesOf(tx, u.ID)
		if err != nil {
			return err
		}
		beforeOwner, err := ownerLabel(tx, OwnerOf(u))
		if err != nil {
			return err
		}
		before := *u
		if err := checkTeams(tx, in.TeamIDs); err != nil {
			return err
		}
		if err := checkOwner(tx, in.Owner); err != nil {
			return err
		}
		demoted := u.Role == RoleAdmin && in.Role != RoleAdmin
		if demoted {
			if err := guardLastAdmin(tx, u); err != nil {
				return s.refuse(tx, a, userAction(u, "update"), userTarget(u), err)
			}
		}
		u.Role, u.Description, u.NotifyEmails, u.UpdatedAt = in.Role, desc, joinNotifyEmails(notify), s.Now()
		setOwner(u, in.Owner)
		// A map, not the struct: Updates(struct) would skip zero values and
		// silently keep an owner that was cleared.
		if err := tx.Model(&User{}).Where("id = ?", u.ID).Updates(map[string]any{
			"role": u.Role, "description": u.Description, "owner_user_id": u.OwnerUserID,
			"owner_team_id": u.OwnerTeamID, "notify_emails": u.NotifyEmails, "updated_at": u.UpdatedAt,
		}).Error; err != nil {
			return fmt.Errorf("models: update user: %w", err)
		}
		if err := setTeams(tx, u, in.TeamIDs); err != nil {
			return err
		}
		afterTeams, err := s.teamNamesOf(tx, u.ID)
		if err != nil {
			return err
		}
		afterOwner, err := ownerLabel(tx, in.Owner)
		if err != nil {
			return err
		}
		ch := Changes{}
		ch.set("role", string(before.Role), string(u.Role))
		ch.set("teams", beforeTeams, afterTeams)
		ch.set("description", before.Description, u.Description)
		ch.set("owner", beforeOwner, afterOwner)
		ch.set("notify_emails", before.NotifyList(), u.NotifyList())
		if err := s.record(tx, a, userAction(u, "update"), OutcomeSuccess, "", userTarget(u), ch); err != nil {
			return err
		}
		if demoted && u.Kind == KindHuman {
			return endSessions(tx, u.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

func endSessions(tx *gorm.DB, userID int64) error {
	if err := tx.Where("user_id = ?", userID).Delete(&Session{}).Error; err != nil {
		return fmt.Errorf("models: end sessions: %w", err)
	}
	return nil
}

// DeactivateUser soft-deletes an account: it leaves the default list, cannot
// sign in, and a person's sessions end in the same transaction. The last
// active human Admin cannot be deactivated.
func (s *Store) DeactivateUser(ctx context.Context, a Actor, id int64) (*User, error) {
	var u *User
	err := s.write(ctx, func(tx *gorm.DB) error {
		var err error
		if u, err = userForUpdate(tx, id); err != nil {
			return err
		}
		if u.Status == StatusDeactivated {
			return nil
		}
		now := s.Now()
		// Checked in the same immediate transaction as the update, so a
		// token generated concurrently is either seen here or refused for a
		// deactivated user: never both missed.
		if err := deactivateGuard(tx, u, now); err != nil {
			return s.refuseRule(tx, a, userAction(u, "deactivate"), userTarget(u), err)
		}
		u.Status, u.DeactivatedAt, u.UpdatedAt = StatusDeactivated, &now, now
		if err := tx.Model(&User{}).Where("id = ?", u.ID).Updates(map[string]any{
			"status": StatusDeactivated, "deactivated_at": now, "updated_at": now,
		}).Error; err != nil {
			return fmt.Errorf("models: deactivate: %w", err)
		}
		if err := tx.Where("user_id = ?", u.ID).Delete(&PasswordLink{}).Error; err != nil {
			return fmt.Errorf("models: drop password links: %w", err)
		}
		ch := Changes{}
		ch.set("status", string(StatusActive), string(StatusDeactivated))
		if err := s.record(tx, a, userAction(u, "deactivate"), OutcomeSuccess, "", userTarget(u), ch); err != nil {
			return err
		}
		return endSessions(tx, u.ID)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// activeTokensError refuses to deactivate a service user that still has
// working tokens, naming how many.
func activeTokensError(name string, n int64) *RuleError {
	noun := "active tokens"
	if n == 1 {
		noun = "active token"
	}
	return &RuleError{
		Code:    "active_tokens",
		Message: fmt.Sprintf("%s has %d %s. Revoke them before deactivating it, so no integration fails without anyone deciding it should.", name, n, noun),
		Count:   n,
	}
}

// ReactivateUser restores a deactivated account with its role and teams.
func (s *Store) ReactivateUser(ctx context.Context, a Actor, id int64) (*User, error) {
	var u *User
	err := s.write(ctx, func(tx *gorm.DB) error {
		var err error
		if u, err = userForUpdate(tx, id); err != nil {
			return err
		}
		if u.Status == StatusActive {
			return nil
		}
		now := s.Now()
		u.Status, u.DeactivatedAt, u.UpdatedAt = StatusActive, nil, now
		if err := tx.Model(&User{}).Where("id = ?", u.ID).Updates(map[string]any{
			"status": StatusActive, "deactivated_at": nil, "updated_at": now,
		}).Error; err != nil {
			return fmt.Errorf("models: reactivate: %w", err)
		}
		ch := Changes{}
		ch.set("status", string(StatusDeactivated), string(StatusActive))
		return s.record(tx, a, userAction(u, "reactivate"), OutcomeSuccess, "", userTarget(u), ch)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// newPasswordLink replaces any earlier link of the user with a new one.
func (s *Store) newPasswordLink(tx *gorm.DB, userID, actorID int64) (string, error) {
	token, err := RandomToken(32)
	if err != nil {
		return "", err
	}
	if err := tx.Where("user_id = ?", userID).Delete(&PasswordLink{}).Error; err != nil {
		return "", fmt.Errorf("models: replace password link: %w", err)
	}
	now := s.Now()
	link := &PasswordLink{UserID: userID, TokenHash: HashToken(token), CreatedBy: nonZero(actorID), CreatedAt: now, ExpiresAt: now.Add(PasswordLinkLifetime)}
	if err := tx.Create(link).Error; err != nil {
		return "", fmt.Errorf("models: create password link: %w", err)
	}
	return token, nil
}

// IssuePasswordLink creates a new one-time set-password link for an active
// person (a password reset), replacing any earlier link.
func (s *Store) IssuePasswordLink(ctx context.Context, a Actor, userID int64) (string, error) {
	var token string
	err := s.write(ctx, func(tx *gorm.DB) error {
		u, err := userForUpdate(tx, userID)
		if err != nil {
			return err
		}
		if u.Kind != KindHuman {
			return s.refuse(tx, a, "user.password_link_issued", userTarget(u),
				&RuleError{Code: "service_password", Message: "Service users have no password; they authenticate with tokens."})
		}
		if u.Status != StatusActive {
			return s.refuse(tx, a, "user.password_link_issued", userTarget(u),
				&RuleError{Code: "deactivated", Message: "Restore the account before issuing a set-password link."})
		}
		if !u.PasswordAllowed() {
			return s.refuse(tx, a, "user.password_link_issued", userTarget(u), ErrSSOPassword)
		}
		if token, err = s.newPasswordLink(tx, userID, a.ID); err != nil {
			return err
		}
		return s.record(tx, a, "user.password_link_issued", OutcomeSuccess, "", userTarget(u), nil)
	})
	return token, err
}

// PasswordLinkUser returns the person a valid set-password link belongs to.
func (s *Store) PasswordLinkUser(ctx context.Context, token string) (*User, error) {
	return passwordLinkUser(s.db.WithContext(ctx), token, s.Now())
}

func passwordLinkUser(tx *gorm.DB, token string, now time.Time) (*User, error) {
	if token == "" || len(token) > 128 {
		return nil, ErrLinkInvalid
	}
	var link PasswordLink
	err := tx.Where("token_hash = ?", HashToken(token)).Take(&link).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrLinkInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("models: password link: %w", err)
	}
	if !now.Before(link.ExpiresAt) {
		return nil, ErrLinkInvalid
	}
	u, err := userForUpdate(tx, link.UserID)
	if err != nil {
		return nil, err
	}
	if u.Status != StatusActive || u.Kind != KindHuman {
		return nil, ErrLinkInvalid
	}
	return u, nil
}

// SetPasswordWithLink sets a person's password through a one-time link. The
// link is used up, and any sessions the person had end.
func (s *Store) SetPasswordWithLink(ctx context.Context, a Actor, token, password, confirm string) (*User, error) {
	u, err := s.PasswordLinkUser(ctx, token)
	if err != nil {
		return nil, err
	}
	ve := &ValidationError{}
	if msg := CheckPasswordPolicy(password, u.Handle(), u.Name); msg != "" {
		ve.Add("password", msg)
	}
	if msg := CheckPasswordConfirm(password, confirm); msg != "" {
		ve.Add("confirm", msg)
	}
	if err := ve.OrNil(); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		// Check again under the write lock: two tabs racing with one link
		// must not both set a password.
		if _, err := passwordLinkUser(tx, token, s.Now()); err != nil {
			return err
		}
		if err := tx.Where("user_id = ?", u.ID).Delete(&PasswordLink{}).Error; err != nil {
			return fmt.Errorf("models: use password link: %w", err)
		}
		now := s.Now()
		if err := tx.Model(&User{}).Where("id = ?", u.ID).Updates(map[string]any{
			"password_hash": hash, "password_changed_at": now, "updated_at": now,
		}).Error; err != nil {
			return fmt.Errorf("models: set password: %w", err)
		}
		// The person acts for themselves here, through the link.
		self := a
		self.Kind, self.ID, self.Label = ActorHuman, u.ID, u.Handle()
		if err := s.record(tx, self, "user.password_set", OutcomeSuccess, "", userTarget(u), nil); err != nil {
			return err
		}
		return endSessions(tx, u.ID)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// SignOutEverywhere ends every console session of a person and returns how
// many ended.
func (s *Store) SignOutEverywhere(ctx context.Context, a Actor, userID int64) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		u, err := userForUpdate(tx, userID)
		if err != nil {
			return err
		}
		res := tx.Where("user_id = ?", userID).Delete(&Session{})
		if res.Error != nil {
			return fmt.Errorf("models: sign out everywhere: %w", res.Error)
		}
		n = res.RowsAffected
		return s.record(tx, a, "user.sign_out_everywhere", OutcomeSuccess, fmt.Sprintf("%d sessions ended", n), userTarget(u), nil)
	})
	return n, err
}

// PendingPasswordLink reports whether a person has an unused, unexpired link.
func (s *Store) PendingPasswordLink(ctx context.Context, userID int64) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&PasswordLink{}).Where("user_id = ? AND expires_at > ?", userID, s.Now()).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("models: password link: %w", err)
	}
	return n > 0, nil
}
