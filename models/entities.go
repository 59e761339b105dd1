package models

import (
	"strings"
	"time"
)

// Kind says whether an account belongs to a person or to an automation.
type Kind string

// Role is the permission level of an account.
type Role string

// Status is the lifecycle state of an account.
type Status string

const (
	KindHuman   Kind = "human"
	KindService Kind = "service"

	RoleAdmin   Role = "admin"
	RoleManager Role = "manager"
	RoleMember  Role = "member"

	StatusActive      Status = "active"
	StatusDeactivated Status = "deactivated"
)

// Label returns the role as shown in the console.
func (r Role) Label() string {
	switch r {
	case RoleAdmin:
		return "Admin"
	case RoleManager:
		return "Manager"
	case RoleMember:
		return "Member"
	}
	return string(r)
}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleManager || r == RoleMember }

// PublicTeamID is the id of the built-in team every user belongs to.
const PublicTeamID int64 = 1

// User is a human or service account.
type User struct {
	ID                int64   `gorm:"primaryKey"`
	Kind              Kind    `gorm:"not null"`
	Name              string  `gorm:"not null"`
	UserID            *string `gorm:"column:user_id"`
	Email             *string
	EmailKey          *string
	Role              Role   `gorm:"not null"`
	Status            Status `gorm:"not null"`
	Description       string
	OwnerUserID       *int64
	OwnerTeamID       *int64
	NotifyEmails      string // newline-separated; see NotifyList
	PasswordHash      *string
	PasswordChangedAt *time.Time
	LastActiveAt      *time.Time
	CreatedBy         *int64
	CreatedAt         time.Time
	UpdatedAt         time.Time
	DeactivatedAt     *time.Time
	TeamCount         int
	SearchText        string
	// SSOIssuer and SSOSubject key a person who signs in through the
	// identity provider (see user_sso.go); both nil for everyone else.
	SSOIssuer  *string `gorm:"column:sso_issuer"`
	SSOSubject *string `gorm:"column:sso_subject"`
	// BreakGlass marks an administrator made by `warden admin create`: it
	// may sign in with a password even when password sign-in is off, if
	// the server allows break-glass sign-in.
	BreakGlass bool
}

// TableName implements gorm's tabler.
func (User) TableName() string { return "users" }

// IsConsoleAdmin reports whether the account may use the console: an active
// human with the Admin role.
func (u *User) IsConsoleAdmin() bool {
	return u != nil && u.Kind == KindHuman && u.Role == RoleAdmin && u.Status == StatusActive
}

// Handle is how the account is identified in lists and the audit log: the
// user_id of a service user, the email of a human.
func (u *User) Handle() string {
	switch {
	case u.UserID != nil:
		return *u.UserID
	case u.Email != nil:
		return *u.Email
	}
	return ""
}

// SSO reports whether the person signs in through the identity provider.
func (u *User) SSO() bool { return u.SSOIssuer != nil && u.SSOSubject != nil }

// Active reports whether the account is active.
func (u *User) Active() bool { return u.Status == StatusActive }

// SearchText is what the Users search matches: the words of the name,
// user_id and email (see searchWords), space-separated.
func SearchText(name string, userID, email *string) string {
	s := name
	if userID != nil {
		s += " " + *userID
	}
	if email != nil {
		s += " " + *email
	}
	return strings.Join(searchWords(s), " ")
}

// Team groups users.
type Team struct {
	ID          int64 `gorm:"primaryKey"`
	Name        string
	NameKey     string
	Description string
	Builtin     bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TableName implements gorm's tabler.
func (Team) TableName() string { return "teams" }

// Session is a signed-in console session. The cookie carries a random token;
// only its SHA-256 is stored here.
type Session struct {
	ID         int64 `gorm:"primaryKey"`
	TokenHash  string
	UserID     int64
	CSRFToken  string `gorm:"column:csrf_token"`
	CreatedAt  time.Time
	LastSeenAt time.Time
	IP         string `gorm:"column:ip"`
	UserAgent  string
}

// TableName implements gorm's tabler.
func (Session) TableName() string { return "sessions" }

// Setting is one key/value pair of instance state.
type Setting struct {
	Key       string `gorm:"primaryKey"`
	Value     string
	UpdatedAt time.Time
}

// TableName implements gorm's tabler.
func (Setting) TableName() string { return "settings" }
