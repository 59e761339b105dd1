package models

import (
	"errors"
	"sort"
	"strings"
)

var (
	// ErrNotFound is returned when the requested record does not exist.
	ErrNotFound = errors.New("models: not found")
	// ErrBackupUnsupported means `warden backup` was asked of a PostgreSQL
	// store, whose own tools (pg_dump, base backups) do that job.
	ErrBackupUnsupported = errors.New("models: on PostgreSQL, back up with pg_dump or base backups; warden backup copies SQLite databases")
	// ErrInvalidCredentials covers every failed sign-in the same way: unknown
	// email, wrong password, a service user or a deactivated account.
	ErrInvalidCredentials = errors.New("models: invalid credentials")
	// ErrNotAdministrator means the password was right but the account is an
	// active human without the Admin role: no console session for it.
	ErrNotAdministrator = errors.New("models: the console is for administrators only")
	// ErrSetupDone means first-run setup was attempted while an administrator
	// already exists.
	ErrSetupDone = errors.New("models: setup already completed")
	// ErrInvalidSetupToken means the setup token is missing, wrong or used.
	ErrInvalidSetupToken = errors.New("models: invalid setup token")
	// ErrWrongPassword is returned when a current password does not match.
	ErrWrongPassword = errors.New("models: current password is wrong")
)

// RuleError is a refusal by a business rule, with a message meant for the
// administrator ("Warden needs at least one active human administrator…").
type RuleError struct {
	Code    string
	Message string
	// Count carries the number the message is about (active tokens that
	// block a deactivation), for the API and the "Revoke all N" button.
	Count int64
}

func (e *RuleError) Error() string { return "models: " + e.Code + ": " + e.Message }

// ErrLastAdmin refuses to demote or deactivate the last active human Admin.
var ErrLastAdmin = &RuleError{
	Code:    "last_admin",
	Message: "Warden needs at least one active human administrator. Make someone else an administrator first.",
}

// ErrBuiltinTeam refuses to delete or rename the Public team.
var ErrBuiltinTeam = &RuleError{
	Code:    "builtin_team",
	Message: "The Public team is built in: every user belongs to it, and it cannot be renamed or deleted.",
}

// RuleMessage returns the administrator-facing message of a rule refusal, or "".
func RuleMessage(err error) string {
	var re *RuleError
	if errors.As(err, &re) {
		return re.Message
	}
	return ""
}

// ValidationError carries one message per offending form field, so a form
// can re-render with each message next to its input.
type ValidationError struct {
	Fields map[string]string
	// Conflict marks a clash with existing data (a taken name), which the
	// API answers with 409 rather than 400.
	Conflict bool
}

// NewValidationError returns a ValidationError with one field message.
func NewValidationError(field, message string) *ValidationError {
	return &ValidationError{Fields: map[string]string{field: message}}
}

// Add records a message for field, keeping the first one if several apply.
func (e *ValidationError) Add(field, message string) {
	if e.Fields == nil {
		e.Fields = map[string]string{}
	}
	if _, ok := e.Fields[field]; !ok {
		e.Fields[field] = message
	}
}

// Empty reports whether no field failed.
func (e *ValidationError) Empty() bool { return e == nil || len(e.Fields) == 0 }

// OrNil returns e when a field failed and nil otherwise, so callers can
// return it directly as an error.
func (e *ValidationError) OrNil() error {
	if e.Empty() {
		return nil
	}
	return e
}

func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+e.Fields[k])
	}
	return "models: invalid input: " + strings.Join(parts, "; ")
}

// NewConflictError reports a clash with existing data on one field.
func NewConflictError(field, message string) *ValidationError {
	return &ValidationError{Fields: map[string]string{field: message}, Conflict: true}
}

// FieldErrors extracts the per-field messages of err, or nil when err is not
// a validation error.
func FieldErrors(err error) map[string]string {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Fields
	}
	return nil
}
