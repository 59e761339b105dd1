package models

import (
	"context"
	"database/sql"
	"fmt"
)

// The hot reads (a console page's session, the Users list) scan their rows
// with database/sql into explicit destinations: gorm's reflection-driven
// scan cost more than the query itself on a Users page. The column lists
// below are kept in step with the structs by TestScanColumnsMatchTheModels.

// userColumns is every column of users, for a query that names the table
// u, in the order of (*User).dest.
const userColumns = `u.id, u.kind, u.name, u.user_id, u.email, u.email_key, u.role, u.status,
	u.description, u.owner_user_id, u.owner_team_id, u.password_hash, u.password_changed_at,
	u.last_active_at, u.created_by, u.created_at, u.updated_at, u.deactivated_at, u.team_count,
	u.search_text`

// dest is where rows.Scan puts the columns of userColumns.
func (u *User) dest() []any {
	return []any{&u.ID, &u.Kind, &u.Name, &u.UserID, &u.Email, &u.EmailKey, &u.Role, &u.Status,
		&u.Description, &u.OwnerUserID, &u.OwnerTeamID, &u.PasswordHash, &u.PasswordChangedAt,
		&u.LastActiveAt, &u.CreatedBy, &u.CreatedAt, &u.UpdatedAt, &u.DeactivatedAt, &u.TeamCount,
		&u.SearchText}
}

// userBriefColumns are the columns the console's Users list shows (a
// brief UserQuery), in the order of (*User).briefDest: a page reads 9 of
// 20 columns per row, and mattn/go-sqlite3 spends two or three cgo calls
// on each (the long search_text among those skipped).
const userBriefColumns = `u.id, u.kind, u.name, u.user_id, u.email, u.role, u.status, u.last_active_at, u.created_at`

// briefDest is where rows.Scan puts the columns of userBriefColumns.
func (u *User) briefDest() []any {
	return []any{&u.ID, &u.Kind, &u.Name, &u.UserID, &u.Email, &u.Role, &u.Status, &u.LastActiveAt, &u.CreatedAt}
}

// sessionColumns is every column of sessions, for a query that names the
// table s, in the order of (*Session).dest.
const sessionColumns = `s.id, s.token_hash, s.user_id, s.csrf_token, s.created_at, s.last_seen_at, s.ip, s.user_agent`

// dest is where rows.Scan puts the columns of sessionColumns.
func (s *Session) dest() []any {
	return []any{&s.ID, &s.TokenHash, &s.UserID, &s.CSRFToken, &s.CreatedAt, &s.LastSeenAt, &s.IP, &s.UserAgent}
}

// queryUsers runs a read (outside transactions) that selects userColumns,
// or userBriefColumns when brief, and returns its users in row order.
func (s *Store) queryUsers(ctx context.Context, brief bool, query string, args ...any) ([]User, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanUsers(rows, brief)
}

func scanUsers(rows *sql.Rows, brief bool) ([]User, error) {
	dest := (*User).dest
	if brief {
		dest = (*User).briefDest
	}
	var out []User
	for rows.Next() {
		out = append(out, User{})
		if err := rows.Scan(dest(&out[len(out)-1])...); err != nil {
			return nil, fmt.Errorf("scan user: %w", err)
		}
	}
	return out, rows.Err()
}
