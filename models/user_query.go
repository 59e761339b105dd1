package models

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// User list sorting and paging (SPEC §4).
const (
	SortName       = "name"
	SortCreated    = "created"
	SortLastActive = "last_active"
	SortRole       = "role"
	SortTeams      = "teams"
	SortType       = "type"

	DefaultPerPage = 25
	maxQueryChars  = 100
	maxTeamFilters = 20
)

// PerPageChoices are the page sizes offered.
var PerPageChoices = []int{25, 50, 100}

// orderBy maps each sort key to its ORDER BY clause. Only these strings ever
// reach SQL: the direction is one of two constants and the key is looked up
// here, never interpolated. Every clause ends with the id so paging is stable.
var orderBy = map[string]func(db Dialect, dir string) string{
	SortName:    func(db Dialect, d string) string { return db.nocase("u.name") + " " + d + ", u.id " + d },
	SortCreated: func(_ Dialect, d string) string { return "u.created_at " + d + ", u.id " + d },
	// "Never" sorts last in both directions. SQLite orders NULL first, so
	// descending needs no help (and can walk the index) while ascending must
	// push NULLs down; PostgreSQL orders NULL last, and its migrations have
	// an index for DESC NULLS LAST.
	SortLastActive: func(db Dialect, d string) string {
		switch {
		case d == "DESC" && db == Postgres:
			return "u.last_active_at DESC NULLS LAST, u.id DESC"
		case d == "DESC":
			return "u.last_active_at DESC, u.id DESC"
		case db == Postgres:
			return "u.last_active_at ASC, u.id ASC"
		}
		return "u.last_active_at IS NULL, u.last_active_at ASC, u.id ASC"
	},
	SortRole: func(db Dialect, d string) string {
		return "CASE u.role WHEN 'admin' THEN 0 WHEN 'manager' THEN 1 ELSE 2 END " + d + ", " + db.nocase("u.name") + ", u.id"
	},
	SortTeams: func(db Dialect, d string) string { return "u.team_count " + d + ", " + db.nocase("u.name") + ", u.id" },
	SortType:  func(db Dialect, d string) string { return "u.kind " + d + ", " + db.nocase("u.name") + ", u.id" },
}

// UserQuery is a validated Users list request.
type UserQuery struct {
	Q       string
	Sort    string
	Desc    bool
	Role    Role
	TeamIDs []int64
	Kind    Kind
	Status  string // active, deactivated or all
	Health  string // expiring, never_used, idle or no_expiry
	Page    int
	PerPage int
	// Brief rows carry only the columns the console's list shows
	// (userBriefColumns); the rest of each User is zero.
	Brief bool
}

// DefaultUserQuery is the list with no parameters.
func DefaultUserQuery() UserQuery {
	return UserQuery{Sort: SortName, Status: "active", Page: 1, PerPage: DefaultPerPage}
}

// ParseUserQuery reads the list parameters of SPEC §4. Invalid values are
// dropped (the default applies) and reported per parameter, so the page can
// show a notice and the API can answer 400. Unknown parameters are ignored.
func ParseUserQuery(v url.Values) (UserQuery, map[string]string) {
	q := DefaultUserQuery()
	problems := map[string]string{}
	if s := strings.TrimSpace(v.Get("q")); s != "" {
		switch {
		case !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
			problems["q"] = "The search contained characters that cannot be searched for; it was ignored."
		case utf8.RuneCountInString(s) > maxQueryChars:
			problems["q"] = fmt.Sprintf("The search was longer than %d characters; it was ignored.", maxQueryChars)
		default:
			// Names are stored NFC-normalised; search the same form, so a
			// decomposed "é" finds "Café".
			q.Q = norm.NFC.String(s)
		}
	}
	if s := v.Get("sort"); s != "" {
		if _, ok := orderBy[s]; ok {
			q.Sort = s
		} else {
			problems["sort"] = fmt.Sprintf("Unknown sort %q; sorted by name instead.", truncate(s))
		}
	}
	switch s := v.Get("dir"); s {
	case "", "asc":
	case "desc":
		q.Desc = true
	default:
		problems["dir"] = fmt.Sprintf("Unknown direction %q; ascending instead.", truncate(s))
	}
	if s := v.Get("role"); s != "" {
		if r := Role(s); r.Valid() {
			q.Role = r
		} else {
			problems["role"] = fmt.Sprintf("Unknown role %q; showing every role.", truncate(s))
		}
	}
	for _, s := range v["team"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			problems["team"] = fmt.Sprintf("Team %q is not a team id; it was ignored.", truncate(s))
			continue
		}
		if len(q.TeamIDs) >= maxTeamFilters {
			problems["team"] = fmt.Sprintf("At most %d teams can be filtered on at once.", maxTeamFilters)
			break
		}
		q.TeamIDs = append(q.TeamIDs, id)
	}
	switch s := v.Get("type"); s {
	case "":
	case "service", "human":
		q.Kind = Kind(s)
	default:
		problems["type"] = fmt.Sprintf("Unknown type %q; showing every type.", truncate(s))
	}
	switch s := v.Get("status"); s {
	case "", "active":
	case "deactivated", "all":
		q.Status = s
	default:
		problems["status"] = fmt.Sprintf("Unknown status %q; showing active users.", truncate(s))
	}
	switch s := v.Get("health"); s {
	case "", "expiring", "never_used", "idle", "no_expiry":
		q.Health = s
	default:
		problems["health"] = fmt.Sprintf("Unknown health filter %q; it was ignored.", truncate(s))
	}
	if s := v.Get("page"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= 1_000_000 {
			q.Page = n
		} else {
			problems["page"] = fmt.Sprintf("Page %q does not exist; showing the first page.", truncate(s))
		}
	}
	if s := v.Get("per_page"); s != "" {
		n, err := strconv.Atoi(s)
		if err == nil && (n == 25 || n == 50 || n == 100) {
			q.PerPage = n
		} else {
			problems["per_page"] = fmt.Sprintf("%q rows per page is not offered; showing %d.", truncate(s), DefaultPerPage)
		}
	}
	return q, problems
}

func truncate(s string) string {
	if utf8.RuneCountInString(s) > 30 {
		r := []rune(s)
		return string(r[:30]) + "…"
	}
	return s
}

// Values returns the canonical query string of q, leaving out defaults, so
// links stay short and one view has one URL.
func (q UserQuery) Values() url.Values {
	v := url.Values{}
	if q.Q != "" {
		v.Set("q", q.Q)
	}
	if q.Sort != SortName {
		v.Set("sort", q.Sort)
	}
	if q.Desc {
		v.Set("dir", "desc")
	}
	if q.Role != "" {
		v.Set("role", string(q.Role))
	}
	for _, id := range q.TeamIDs {
		v.Add("team", strconv.FormatInt(id, 10))
	}
	if q.Kind != "" {
		v.Set("type", string(q.Kind))
	}
	if q.Status != "active" && q.Status != "" {
		v.Set("status", q.Status)
	}
	if q.Health != "" {
		v.Set("health", q.Health)
	}
	if q.Page > 1 {
		v.Set("page", strconv.Itoa(q.Page))
	}
	if q.PerPage != DefaultPerPage && q.PerPage != 0 {
		v.Set("per_page", strconv.Itoa(q.PerPage))
	}
	return v
}

// ActiveFilters counts the filters that narrow the list (search, role,
// teams, type, status), for the "N filters" badge.
func (q UserQuery) ActiveFilters() int {
	n := 0
	for _, on := range []bool{q.Q != "", q.Role != "", len(q.TeamIDs) > 0, q.Kind != "", q.Status != "active", q.Health != ""} {
		if on {
			n++
		}
	}
	return n
}

// UserRow is one row of the Users list.
type UserRow struct {
	User
	Teams []TeamRef
}

// UserPage is one page of the Users list.
type UserPage struct {
	Rows  []UserRow
	Total int64
	Query UserQuery
}

// Pages returns the number of pages.
func (p UserPage) Pages() int {
	if p.Query.PerPage == 0 || p.Total == 0 {
		return 1
	}
	return int((p.Total + int64(p.Query.PerPage) - 1) / int64(p.Query.PerPage))
}

// escapeLike escapes LIKE's wildcards so a search for "50%_off" finds that text.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ListUsers returns one page of the Users list: filtered and sorted in SQL,
// counted with the same filter, and the page's teams fetched in one query.
func (s *Store) ListUsers(ctx context.Context, q UserQuery) (UserPage, error) {
	page := UserPage{Query: q}
	where := []string{}
	args := []any{}
	switch q.Status {
	case "deactivated":
		where = append(where, "u.status = 'deactivated'")
	case "all":
	default:
		where = append(where, "u.status = 'active'")
	}
	if q.Role != "" {
		where, args = append(where, "u.role = ?"), append(args, string(q.Role))
	}
	if q.Kind != "" {
		where, args = append(where, "u.kind = ?"), append(args, string(q.Kind))
	}
	if len(q.TeamIDs) > 0 {
		// Several teams: users in any of them.
		// IN over the (team_id, user_id) index reads the teams' members
		// only, instead of probing every user with EXISTS.
		where = append(where, "u.id IN (SELECT ut.user_id FROM user_teams ut WHERE ut.team_id IN ?)")
		args = append(args, q.TeamIDs)
	}
	now := s.Now()
	switch q.Health {
	case "expiring": // an active token expires within 30 days
		where = append(where, "EXISTS (SELECT 1 FROM tokens t WHERE t.user_id = u.id AND t.revoked_at IS NULL AND t.expires_at > ? AND t.expires_at <= ?)")
		args = append(args, now, now.Add(30*24*time.Hour))
	case "never_used": // a service user none of whose tokens was ever used
		where = append(where, "u.kind = 'service' AND u.last_active_at IS NULL")
	case "idle": // not active for 90 days or more (but active once)
		where = append(where, "u.last_active_at < ?")
		args = append(args, now.Add(-90*24*time.Hour))
	case "no_expiry": // an active token that never expires
		where = append(where, "EXISTS (SELECT 1 FROM tokens t WHERE t.user_id = u.id AND t.revoked_at IS NULL AND t.expires_at IS NULL)")
	}
	if q.Q != "" {
		where = append(where, `u.search_text LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(strings.ToLower(q.Q))+"%")
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	// Only filters whose answer changes with audited writes alone may be
	// cached: "expiring" and "idle" move with the clock, and "never used"
	// with the last-use flush, which writes no event.
	cacheable := q.Health == "" || q.Health == "no_expiry"
	// One generation for every cached value the page uses.
	gen, err := s.generation(ctx)
	if err != nil {
		return page, err
	}
	total, err := s.countUsers(ctx, gen, cond, args, cacheable)
	if err != nil {
		return page, err
	}
	page.Total = total
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	order, ok := orderBy[q.Sort]
	if !ok {
		order = orderBy[SortName]
	}
	perPage := q.PerPage
	if perPage <= 0 {
		perPage = DefaultPerPage
	}
	offset := (max(q.Page, 1) - 1) * perPage
	orderSQL := order(s.dialect, dir)
	cols := s.userListColumns(q.Brief)
	var (
		users   []User
		members []membership // of the rows, when brief
	)
	// A search or a team filter matches a few thousand users at most in
	// practice, which no index returns in name order: each page would read
	// and sort every match. Their ordered ids are kept instead (not for the
	// last-active order, which the last-use flush moves without an event),
	// and a page reads its rows by id.
	narrow := cacheable && (q.Q != "" || len(q.TeamIDs) > 0) && q.Sort != SortLastActive && total <= maxCachedMatches
	if narrow {
		all, err := s.matchingUserIDs(ctx, gen, cond, args, orderSQL)
		if err != nil {
			return page, err
		}
		page.Total = int64(len(all))
		lo, hi := min(offset, len(all)), min(offset+perPage, len(all))
		if users, members, err = s.usersInOrder(ctx, all[lo:hi], q.Brief); err != nil {
			return page, err
		}
	} else {
		if q.Brief && s.dialect == SQLite {
			users, members, err = s.briefUsersJSON(ctx, cond, args, orderSQL, perPage, offset)
		} else {
			users, members, err = s.queryUsers(ctx, q.Brief, "SELECT "+cols+" FROM users u"+cond+" ORDER BY "+orderSQL+" LIMIT ? OFFSET ?",
				append(args, perPage, offset)...)
		}
		if err != nil {
			return page, fmt.Errorf("models: list users: %w", err)
		}
	}
	var teams map[int64][]TeamRef
	if q.Brief {
		teams, err = s.teamRefs(ctx, gen, members)
	} else {
		ids := make([]int64, len(users))
		for i, u := range users {
			ids[i] = u.ID
		}
		teams, err = s.teamsOf(ctx, gen, ids)
	}
	if err != nil {
		return page, err
	}
	page.Rows = make([]UserRow, len(users))
	for i, u := range users {
		s.usage.mergeUser(&u)
		page.Rows[i] = UserRow{User: u, Teams: teams[u.ID]}
	}
	return page, nil
}

// maxCachedMatches bounds each id list matchingUserIDs keeps, and
// maxCachedIDs all of them together (4 MB).
const (
	maxCachedMatches = 10_000
	maxCachedIDs     = 500_000
)

// matchingUserIDs returns the ids of every user matching cond, in order,
// from the cache while the generation holds.
func (s *Store) matchingUserIDs(ctx context.Context, gen generation, cond string, args []any, orderSQL string) ([]int64, error) {
	key := cond + "\x00" + fmt.Sprintf("%#v", args) + "\x00" + orderSQL
	s.userCounts.Lock()
	ids, ok := s.userCounts.lists[key]
	ok = ok && s.userCounts.gen == gen
	s.userCounts.Unlock()
	if ok {
		return ids, nil
	}
	if err := s.readDB(ctx).Raw("SELECT u.id FROM users u"+cond+" ORDER BY "+orderSQL+" LIMIT ?",
		append(slices.Clip(args), maxCachedMatches)...).Scan(&ids).Error; err != nil {
		return nil, fmt.Errorf("models: list users: %w", err)
	}
	s.userCounts.Lock()
	if s.userCounts.gen != gen {
		s.userCounts.gen, s.userCounts.m, s.userCounts.lists, s.userCounts.listIDs = gen, map[string]int64{}, nil, 0
	}
	if s.userCounts.lists == nil || s.userCounts.listIDs+len(ids) > maxCachedIDs {
		s.userCounts.lists, s.userCounts.listIDs = map[string][]int64{}, 0
	}
	s.userCounts.lists[key] = ids
	s.userCounts.listIDs += len(ids)
	s.userCounts.Unlock()
	return ids, nil
}

// usersInOrder reads the users with these ids, in the ids' order, and
// when brief only the list's columns and their teams (as queryUsers).
func (s *Store) usersInOrder(ctx context.Context, ids []int64, brief bool) ([]User, []membership, error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	var (
		rows    []User
		members []membership
		err     error
	)
	if brief && s.dialect == SQLite {
		rows, members, err = s.briefUsersByIDJSON(ctx, ids)
	} else {
		rows, members, err = s.queryUsers(ctx, brief, "SELECT "+s.userListColumns(brief)+" FROM users u WHERE u.id IN ?", ids)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("models: list users: %w", err)
	}
	at := make(map[int64]int, len(ids))
	for i, id := range ids {
		at[id] = i
	}
	out := make([]User, len(ids))
	n := 0
	for _, u := range rows {
		if i, ok := at[u.ID]; ok {
			out[i] = u
			n++
		}
	}
	if n != len(ids) { // a user deleted between the two reads
		out = slices.DeleteFunc(out, func(u User) bool { return u.ID == 0 })
	}
	return out, members, nil
}

// countUsers counts the users matching cond. Counting is most of a Users
// page's cost at a hundred thousand users (every matching index entry is
// read), and the answer only changes when data does, so a cacheable
// filter's count is kept until the generation moves.
func (s *Store) countUsers(ctx context.Context, gen generation, cond string, args []any, cacheable bool) (int64, error) {
	key := ""
	if cacheable {
		key = cond + "\x00" + fmt.Sprintf("%#v", args)
		s.userCounts.Lock()
		n, ok := s.userCounts.m[key]
		ok = ok && s.userCounts.gen == gen
		s.userCounts.Unlock()
		if ok {
			return n, nil
		}
	}
	var n int64
	if err := s.readDB(ctx).Raw("SELECT COUNT(*) FROM users u"+cond, args...).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("models: count users: %w", err)
	}
	if cacheable {
		s.userCounts.Lock()
		if s.userCounts.gen != gen {
			s.userCounts.gen, s.userCounts.m, s.userCounts.lists, s.userCounts.listIDs = gen, nil, nil, 0
		}
		if s.userCounts.m == nil || len(s.userCounts.m) >= 256 {
			s.userCounts.m = map[string]int64{}
		}
		s.userCounts.m[key] = n
		s.userCounts.Unlock()
	}
	return n, nil
}

// UserDetail is what the user page shows beyond the user itself.
type UserDetail struct {
	User      *User
	Teams     []TeamRef
	OwnerName string // the owning person's or team's name, "" when none
	CreatedBy string // the creating admin's name, "" when unknown
}

// UserDetail loads a user with its teams, owner and creator names.
func (s *Store) UserDetail(ctx context.Context, id int64) (*UserDetail, error) {
	u, err := s.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.DetailOf(ctx, u)
}

// DetailOf completes a user already loaded (by bearer authentication, say)
// with its teams, owner and creator names, without reading it again.
func (s *Store) DetailOf(ctx context.Context, u *User) (*UserDetail, error) {
	id := u.ID
	gen, err := s.generation(ctx)
	if err != nil {
		return nil, err
	}
	teams, err := s.teamsOf(ctx, gen, []int64{id})
	if err != nil {
		return nil, err
	}
	s.usage.mergeUser(u)
	d := &UserDetail{User: u, Teams: teams[id]}
	db := s.db.WithContext(ctx)
	if u.OwnerUserID != nil {
		db.Model(&User{}).Select("name").Where("id = ?", *u.OwnerUserID).Scan(&d.OwnerName)
	}
	if u.OwnerTeamID != nil {
		db.Model(&Team{}).Select("name").Where("id = ?", *u.OwnerTeamID).Scan(&d.OwnerName)
	}
	if u.CreatedBy != nil {
		db.Model(&User{}).Select("name").Where("id = ?", *u.CreatedBy).Scan(&d.CreatedBy)
	}
	return d, nil
}
