package models

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// On SQLite a brief page of users (the console's Users list) is read as
// one value, as an audit page is (see json_page.go): 25 rows of 10
// columns, one of them the row's team ids. The page was 180 µs stepped
// row by row, 80 µs as JSON.

// userTeamIDsSQLite is a user's team ids, comma-separated, for a query
// that names the table u.
const userTeamIDsSQLite = `(SELECT group_concat(ut.team_id) FROM user_teams ut WHERE ut.user_id = u.id)`

// briefUsersJSON reads one page of the users matching cond (with args) in
// orderSQL's order: limit rows after offset.
//
// The page is chosen in a subquery named u that keeps the columns the
// order names, so the same orderSQL orders the JSON array.
func (s *Store) briefUsersJSON(ctx context.Context, cond string, args []any, orderSQL string, limit, offset int) ([]User, []membership, error) {
	page := "SELECT " + userBriefColumns + ", u.team_count, " + userTeamIDsSQLite + " AS team_ids FROM users u" + cond +
		" ORDER BY " + orderSQL + " LIMIT ? OFFSET ?"
	return s.usersJSON(ctx, "SELECT json_group_array(json_array("+userBriefColumns+", u.team_ids) ORDER BY "+orderSQL+
		") FROM ("+page+") u", append(args, limit, offset)...)
}

// briefUsersByIDJSON reads the users with these ids, in no order. The ids
// travel as one JSON array, so the statement is the same (and prepared
// once) for any number of them.
func (s *Store) briefUsersByIDJSON(ctx context.Context, ids []int64) ([]User, []membership, error) {
	list := make([]byte, 0, 8*len(ids)+2)
	list = append(list, '[')
	for i, id := range ids {
		if i > 0 {
			list = append(list, ',')
		}
		list = strconv.AppendInt(list, id, 10)
	}
	list = append(list, ']')
	return s.usersJSON(ctx, "SELECT json_group_array(json_array("+userBriefColumns+", "+userTeamIDsSQLite+
		")) FROM users u WHERE u.id IN (SELECT value FROM json_each(?))", string(list))
}

// usersJSON runs a query whose one value is a JSON page of brief users
// with their team ids, and splits it.
func (s *Store) usersJSON(ctx context.Context, query string, args ...any) ([]User, []membership, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var doc string
	if rows.Next() {
		if err := rows.Scan(&doc); err != nil {
			return nil, nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	return decodeUsersJSON(doc)
}

// briefUserFields is the width of a users JSON page: userBriefColumns and
// the team ids.
var briefUserFields = strings.Count(userBriefColumns, ",") + 2

// decodeUsersJSON splits a JSON page of userBriefColumns and team ids into
// users and their memberships.
func decodeUsersJSON(doc string) ([]User, []membership, error) {
	var (
		out     []User
		members []membership
	)
	err := decodeJSONPage(doc, briefUserFields, func(f []jsonValue) error {
		u, err := briefUser(f)
		if err != nil {
			return err
		}
		out = append(out, u)
		if members, err = appendMemberships(members, u.ID, f[9]); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, members, nil
}

// briefUser builds a user from the fields of userBriefColumns.
func briefUser(f []jsonValue) (User, error) {
	u := User{ID: f[0].num, Kind: Kind(f[1].str), Name: f[2].str, Role: Role(f[5].str), Status: Status(f[6].str)}
	for _, i := range [...]int{1, 2, 5, 6, 8} {
		if f[i].kind != 's' {
			return u, errJSONPage
		}
	}
	var ok [2]bool
	u.UserID, ok[0] = f[3].optString()
	u.Email, ok[1] = f[4].optString()
	if f[0].kind != 'n' || ok != [2]bool{true, true} {
		return u, errJSONPage
	}
	var err error
	if u.LastActiveAt, err = f[7].optTime(); err != nil {
		return u, err
	}
	u.CreatedAt, err = parseStoredTime(f[8].str)
	return u, err
}

// appendMemberships adds user's teams from a comma-separated list of ids
// (or null: no teams).
func appendMemberships(members []membership, user int64, ids jsonValue) ([]membership, error) {
	switch ids.kind {
	case 0:
		return members, nil
	case 's':
	default:
		return nil, errJSONPage
	}
	for id := range strings.SplitSeq(ids.str, ",") {
		team, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return nil, errJSONPage
		}
		members = append(members, membership{user: user, team: team})
	}
	return members, nil
}

// optString reads a nullable text column.
func (v jsonValue) optString() (*string, bool) {
	switch v.kind {
	case 0:
		return nil, true
	case 's':
		s := v.str
		return &s, true
	}
	return nil, false
}

// optTime reads a nullable DATETIME column.
func (v jsonValue) optTime() (*time.Time, error) {
	switch v.kind {
	case 0:
		return nil, nil
	case 's':
		t, err := parseStoredTime(v.str)
		return &t, err
	}
	return nil, errJSONPage
}
