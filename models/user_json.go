package models

import (
	"context"
	"strconv"
	"strings"
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
	doc, err := s.jsonDoc(ctx, query, args...)
	if err != nil {
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
	r := fieldReader{f: f}
	u := User{ID: r.num(0), Kind: Kind(r.str(1)), Name: r.str(2), UserID: r.optStr(3), Email: r.optStr(4),
		Role: Role(r.str(5)), Status: Status(r.str(6)), LastActiveAt: r.optTime(7), CreatedAt: r.time(8)}
	return u, r.err
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
