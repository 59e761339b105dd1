package models

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
)

// MaxDescriptionChars bounds a user's or team's description.
const MaxDescriptionChars = 1000

// Owner is who answers for a service user: a person or a team, or nobody.
type Owner struct {
	UserID int64
	TeamID int64
}

// ParseOwner reads the "user:ID" / "team:ID" form value; "" is no owner.
func ParseOwner(s string) (Owner, bool) {
	if s == "" {
		return Owner{}, true
	}
	kind, num, ok := strings.Cut(s, ":")
	id, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || id <= 0 {
		return Owner{}, false
	}
	switch kind {
	case "user":
		return Owner{UserID: id}, true
	case "team":
		return Owner{TeamID: id}, true
	}
	return Owner{}, false
}

// String is the form value of the owner.
func (o Owner) String() string {
	switch {
	case o.UserID != 0:
		return "user:" + strconv.FormatInt(o.UserID, 10)
	case o.TeamID != 0:
		return "team:" + strconv.FormatInt(o.TeamID, 10)
	}
	return ""
}

// OwnerOf returns the owner recorded on u.
func OwnerOf(u *User) Owner {
	var o Owner
	if u.OwnerUserID != nil {
		o.UserID = *u.OwnerUserID
	}
	if u.OwnerTeamID != nil {
		o.TeamID = *u.OwnerTeamID
	}
	return o
}

// cleanDescription allows line breaks and tabs but no other control or
// text-direction characters.
func cleanDescription(raw string) (string, string) {
	if !utf8.ValidString(raw) {
		return "", "The description contains invalid characters."
	}
	d := strings.TrimSpace(strings.ReplaceAll(raw, "\r\n", "\n"))
	for _, r := range d {
		if (unicode.IsControl(r) && r != '\n' && r != '\t') || isBidiControl(r) {
			return d, "The description must not contain control or text-direction characters."
		}
	}
	if utf8.RuneCountInString(d) > MaxDescriptionChars {
		return d, fmt.Sprintf("Use at most %d characters.", MaxDescriptionChars)
	}
	return d, ""
}

// NewServiceUser is the input for creating a service user.
type NewServiceUser struct {
	Name        string
	Role        Role
	TeamIDs     []int64
	Description string
	Owner       Owner
	// NotifyEmails are addresses that hear about its expiring tokens
	// besides its owner (see CleanNotifyEmails).
	NotifyEmails []string
}

// CreateServiceUser creates a service user whose user_id is derived from its
// name. A user_id that exists already, active or deactivated, is a conflict
// reported on the name field; no suffix is ever added silently.
func (s *Store) CreateServiceUser(ctx context.Context, a Actor, in NewServiceUser) (*User, error) {
	ve := &ValidationError{}
	name, msg := CleanName(in.Name)
	if msg != "" {
		ve.Add("name", msg)
	}
	userID := DeriveUserID(name)
	if msg == "" && userID == "" {
		ve.Add("name", "The name needs at least one letter or digit.")
	}
	if !in.Role.Valid() {
		ve.Add("role", "Choose a role.")
	}
	desc, msg := cleanDescription(in.Description)
	if msg != "" {
		ve.Add("description", msg)
	}
	notify, msg := CleanNotifyEmails(in.NotifyEmails)
	if msg != "" {
		ve.Add("notify_emails", msg)
	}
	if err := ve.OrNil(); err != nil {
		return nil, err
	}
	var u *User
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := checkTeams(tx, in.TeamIDs); err != nil {
			return err
		}
		if err := checkOwner(tx, in.Owner); err != nil {
			return err
		}
		var taken int64
		if err := tx.Model(&User{}).Where("user_id = ?", userID).Count(&taken).Error; err != nil {
			return fmt.Errorf("models: check user_id: %w", err)
		}
		if taken > 0 {
			return NewConflictError("name", "The user_id "+userID+" is already taken by another service user (perhaps a deactivated one). Choose a different name.")
		}
		now := s.Now()
		u = &User{
			Kind: KindService, Name: name, UserID: &userID, Role: in.Role, Status: StatusActive,
			Description: desc, NotifyEmails: joinNotifyEmails(notify), CreatedBy: nonZero(a.ID), CreatedAt: now, UpdatedAt: now,
			SearchText: SearchText(name, &userID, nil),
		}
		setOwner(u, in.Owner)
		if err := tx.Create(u).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return NewConflictError("name", "The user_id "+userID+" is already taken. Choose a different name.")
			}
			return fmt.Errorf("models: create service user: %w", err)
		}
		if err := setTeams(tx, u, in.TeamIDs); err != nil {
			return err
		}
		return s.recordCreate(tx, a, u)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// NewHumanUser is the input for creating a person's account, who then
// chooses a password through a one-time link.
type NewHumanUser struct {
	Name    string
	Email   string
	Role    Role
	TeamIDs []int64
}

// CreateHumanUser creates a person's account without a password and returns
// it with the token of its one-time set-password link.
func (s *Store) CreateHumanUser(ctx context.Context, a Actor, in NewHumanUser) (*User, string, error) {
	ve := &ValidationError{}
	name, msg := CleanName(in.Name)
	if msg != "" {
		ve.Add("name", msg)
	}
	email, key, msg := CleanEmail(in.Email)
	if msg != "" {
		ve.Add("email", msg)
	}
	if !in.Role.Valid() {
		ve.Add("role", "Choose a role.")
	}
	if err := ve.OrNil(); err != nil {
		return nil, "", err
	}
	var (
		u     *User
		token string
	)
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := checkTeams(tx, in.TeamIDs); err != nil {
			return err
		}
		var taken int64
		if err := tx.Model(&User{}).Where("email_key = ?", key).Count(&taken).Error; err != nil {
			return fmt.Errorf("models: check email: %w", err)
		}
		if taken > 0 {
			return NewConflictError("email", "An account with this email address already exists (perhaps a deactivated one).")
		}
		now := s.Now()
		u = &User{
			Kind: KindHuman, Name: name, Email: &email, EmailKey: &key, Role: in.Role, Status: StatusActive,
			CreatedBy: nonZero(a.ID), CreatedAt: now, UpdatedAt: now, SearchText: SearchText(name, nil, &email),
		}
		if err := tx.Create(u).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return NewConflictError("email", "An account with this email address already exists.")
			}
			return fmt.Errorf("models: create user: %w", err)
		}
		if err := setTeams(tx, u, in.TeamIDs); err != nil {
			return err
		}
		if err := s.recordCreate(tx, a, u); err != nil {
			return err
		}
		var err error
		if token, err = s.newPasswordLink(tx, u.ID, a.ID); err != nil {
			return err
		}
		return s.record(tx, a, "user.password_link_issued", OutcomeSuccess, "", userTarget(u), nil)
	})
	if err != nil {
		return nil, "", err
	}
	return u, token, nil
}

// recordCreate writes the creation event with the new account's fields as
// the "after" side.
func (s *Store) recordCreate(tx *gorm.DB, a Actor, u *User) error {
	teams, err := s.teamNamesOf(tx, u.ID)
	if err != nil {
		return err
	}
	owner, err := ownerLabel(tx, OwnerOf(u))
	if err != nil {
		return err
	}
	ch := Changes{}
	ch.set("name", nil, u.Name)
	ch.set("role", nil, string(u.Role))
	ch.set("teams", nil, teams)
	if u.Kind == KindService {
		ch.set("user_id", nil, u.Handle())
		ch.set("description", nil, u.Description)
		ch.set("owner", nil, owner)
		if list := u.NotifyList(); len(list) > 0 {
			ch.set("notify_emails", nil, list)
		}
	} else {
		ch.set("email", nil, u.Handle())
	}
	return s.record(tx, a, userAction(u, "create"), OutcomeSuccess, "", userTarget(u), ch)
}

func setOwner(u *User, o Owner) {
	u.OwnerUserID, u.OwnerTeamID = nil, nil
	if o.UserID != 0 {
		u.OwnerUserID = &o.UserID
	}
	if o.TeamID != 0 {
		u.OwnerTeamID = &o.TeamID
	}
}

// checkTeams reports unknown team ids as a validation error on "teams".
func checkTeams(tx *gorm.DB, ids []int64) error {
	ids = uniqueIDs(ids)
	if len(ids) == 0 {
		return nil
	}
	var n int64
	if err := tx.Model(&Team{}).Where("id IN ?", ids).Count(&n).Error; err != nil {
		return fmt.Errorf("models: check teams: %w", err)
	}
	if int(n) != len(ids) {
		return NewValidationError("teams", "One of the chosen teams no longer exists. Reload the page and choose again.")
	}
	return nil
}

// checkOwner makes sure the owner exists: an active person or a team.
func checkOwner(tx *gorm.DB, o Owner) error {
	var n int64
	switch {
	case o.UserID != 0:
		if err := tx.Model(&User{}).Where("id = ? AND kind = ? AND status = ?", o.UserID, KindHuman, StatusActive).Count(&n).Error; err != nil {
			return fmt.Errorf("models: check owner: %w", err)
		}
	case o.TeamID != 0:
		if err := tx.Model(&Team{}).Where("id = ?", o.TeamID).Count(&n).Error; err != nil {
			return fmt.Errorf("models: check owner: %w", err)
		}
	default:
		return nil
	}
	if n == 0 {
		return NewValidationError("owner", "The chosen owner no longer exists or is deactivated. Choose another.")
	}
	return nil
}

// uniqueIDs drops duplicates, non-positive ids and the Public team, which
// every user has anyway.
func uniqueIDs(ids []int64) []int64 {
	seen := map[int64]bool{}
	out := ids[:0:0]
	for _, id := range ids {
		if id > 0 && id != PublicTeamID && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// setTeams replaces u's memberships with Public plus ids, and keeps
// users.team_count in step.
func setTeams(tx *gorm.DB, u *User, ids []int64) error {
	ids = append([]int64{PublicTeamID}, uniqueIDs(ids)...)
	if err := tx.Exec(`DELETE FROM user_teams WHERE user_id = ?`, u.ID).Error; err != nil {
		return fmt.Errorf("models: clear teams: %w", err)
	}
	for _, id := range ids {
		if err := tx.Exec(`INSERT INTO user_teams (user_id, team_id) VALUES (?, ?)`, u.ID, id).Error; err != nil {
			return fmt.Errorf("models: join team %d: %w", id, err)
		}
	}
	u.TeamCount = len(ids)
	if err := tx.Model(&User{}).Where("id = ?", u.ID).Update("team_count", len(ids)).Error; err != nil {
		return fmt.Errorf("models: team count: %w", err)
	}
	return nil
}

// ownerLabel names an owner for the audit log: "user:<handle>" or "team:<name>".
func ownerLabel(tx *gorm.DB, o Owner) (string, error) {
	var name string
	switch {
	case o.UserID != 0:
		var u User
		if err := tx.Select("id, kind, user_id, email").Take(&u, o.UserID).Error; err != nil {
			return "", fmt.Errorf("models: owner: %w", err)
		}
		name = "user:" + u.Handle()
	case o.TeamID != 0:
		if err := tx.Model(&Team{}).Select("name").Where("id = ?", o.TeamID).Scan(&name).Error; err != nil {
			return "", fmt.Errorf("models: owner: %w", err)
		}
		name = "team:" + name
	}
	return name, nil
}
