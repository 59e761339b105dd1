package models

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
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

// userListColumns is what a list of users selects: every column, or the
// brief ones followed by the user's team ids, comma-separated, so the
// team chips need no second query.
func (s *Store) userListColumns(brief bool) string {
	if !brief {
		return userColumns
	}
	if s.dialect == Postgres {
		return userBriefColumns + `, (SELECT string_agg(ut.team_id::text, ',') FROM user_teams ut WHERE ut.user_id = u.id)`
	}
	return userBriefColumns + ", " + userTeamIDsSQLite
}

// sessionColumns is every column of sessions, for a query that names the
// table s, in the order of (*Session).dest.
const sessionColumns = `s.id, s.token_hash, s.user_id, s.csrf_token, s.created_at, s.last_seen_at, s.ip, s.user_agent`

// dest is where rows.Scan puts the columns of sessionColumns.
func (s *Session) dest() []any {
	return []any{&s.ID, &s.TokenHash, &s.UserID, &s.CSRFToken, &s.CreatedAt, &s.LastSeenAt, &s.IP, &s.UserAgent}
}

// queryUsers runs a read (outside transactions) that selects
// userListColumns(brief) and returns its users in row order, and when
// brief their memberships.
func (s *Store) queryUsers(ctx context.Context, brief bool, query string, args ...any) ([]User, []membership, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	return scanUsers(rows, brief)
}

func scanUsers(rows *sql.Rows, brief bool) ([]User, []membership, error) {
	var (
		out     []User
		members []membership
		teamIDs sql.NullString
	)
	for rows.Next() {
		out = append(out, User{})
		u := &out[len(out)-1]
		if !brief {
			if err := rows.Scan(u.dest()...); err != nil {
				return nil, nil, fmt.Errorf("scan user: %w", err)
			}
			continue
		}
		if err := rows.Scan(append(u.briefDest(), &teamIDs)...); err != nil {
			return nil, nil, fmt.Errorf("scan user: %w", err)
		}
		for id := range strings.SplitSeq(teamIDs.String, ",") {
			if id == "" {
				continue
			}
			team, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				return nil, nil, fmt.Errorf("scan user %d: team id %q: %w", u.ID, id, err)
			}
			members = append(members, membership{user: u.ID, team: team})
		}
	}
	return out, members, rows.Err()
}
