package models

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Token list sorting and filtering (the /tokens page and GET /api/v1/tokens).
const (
	TokenSortExpires  = "expires"
	TokenSortLastUsed = "last_used"
	TokenSortCreated  = "created"
	TokenSortName     = "name"
	TokenSortOwner    = "owner"

	// TokenCountCap bounds how far a filtered list is counted: past it the
	// page says "more than 1,000" instead of reading every match. The lists
	// the overview counts are counted exactly.
	TokenCountCap = 1_000
	// idleDays is how long unused makes a token (or a user) idle.
	idleDays = 90
)

// TokenStates are the state filter's values. Active means working now,
// including a replaced token during its overlap; replaced narrows to those.
var TokenStates = []string{"active", "replaced", "revoked", "expired", "all"}

// ExpiresWithinChoices are the expiry windows offered, in days.
var ExpiresWithinChoices = []int{7, 30, 90}

// tokenOrder is a token sort: the column it orders by (nil for the id
// alone), whether the column can be NULL (NULLs, "Never", sort last in both
// directions), and whether it needs the owner joined.
type tokenOrder struct {
	col      func(Dialect) string
	nullable bool
	owner    bool
}

var tokenOrders = map[string]tokenOrder{
	TokenSortExpires:  {col: func(Dialect) string { return "t.expires_at" }, nullable: true},
	TokenSortLastUsed: {col: func(Dialect) string { return "t.last_used_at" }, nullable: true},
	TokenSortCreated:  {}, // ids are handed out in creation order
	TokenSortName:     {col: func(Dialect) string { return "t.name_key" }},
	TokenSortOwner:    {col: func(d Dialect) string { return d.nocase("u.name") }, owner: true},
}

// TokenQuery is a validated token list request.
type TokenQuery struct {
	State         string
	Q             string
	TeamID        int64
	Role          Role
	ExpiresWithin int    // days; 0 for no window
	Health        string // never_used, idle or no_expiry
	Sort          string
	Desc          bool
	Page          int
	PerPage       int
	After         *TokenCursor // the API's keyset cursor; nil for the first page
}

// DefaultTokenQuery is the list with no parameters: working tokens, the
// soonest to expire first.
func DefaultTokenQuery() TokenQuery {
	return TokenQuery{State: "active", Sort: TokenSortExpires, Page: 1, PerPage: DefaultPerPage}
}

// ParseTokenQuery reads the token list parameters. Invalid values are
// dropped (the default applies) and reported per parameter, so the page can
// show a notice and the API can answer 400.
func ParseTokenQuery(v url.Values) (TokenQuery, QueryProblems) {
	q := DefaultTokenQuery()
	problems := QueryProblems{}
	if s := v.Get("state"); s != "" {
		if slices.Contains(TokenStates, s) {
			q.State = s
		} else {
			problems["state"] = QueryProblem{fmt.Sprintf("Unknown state %q", truncate(s)), "showing active tokens"}
		}
	}
	if s := strings.TrimSpace(v.Get("q")); s != "" {
		switch {
		case !searchable(s):
			problems["q"] = QueryProblem{"The search contains control characters or invalid UTF-8, which cannot be searched for", "it was ignored"}
		case utf8.RuneCountInString(s) > maxQueryChars:
			problems["q"] = QueryProblem{fmt.Sprintf("The search is longer than %d characters", maxQueryChars), "it was ignored"}
		default:
			q.Q = norm.NFC.String(s)
		}
	}
	if s := v.Get("team"); s != "" {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 {
			q.TeamID = id
		} else {
			problems["team"] = QueryProblem{fmt.Sprintf("Team %q is not a team id", truncate(s)), "showing every team"}
		}
	}
	if s := v.Get("role"); s != "" {
		if r := Role(s); r.Valid() {
			q.Role = r
		} else {
			problems["role"] = QueryProblem{fmt.Sprintf("Unknown role %q", truncate(s)), "showing every role"}
		}
	}
	if s := v.Get("expires_within"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && slices.Contains(ExpiresWithinChoices, n) {
			q.ExpiresWithin = n
		} else {
			problems["expires_within"] = QueryProblem{fmt.Sprintf("Expiring within %q days is not offered (7, 30 or 90)", truncate(s)), "it was ignored"}
		}
	}
	switch s := v.Get("health"); s {
	case "", "never_used", "idle", "no_expiry":
		q.Health = s
	default:
		problems["health"] = QueryProblem{fmt.Sprintf("Unknown health filter %q", truncate(s)), "it was ignored"}
	}
	if s := v.Get("sort"); s != "" {
		if _, ok := tokenOrders[s]; ok {
			q.Sort = s
		} else {
			problems["sort"] = QueryProblem{fmt.Sprintf("Unknown sort %q", truncate(s)), "sorted by expiry instead"}
		}
	}
	switch s := v.Get("dir"); s {
	case "", "asc":
	case "desc":
		q.Desc = true
	default:
		problems["dir"] = QueryProblem{fmt.Sprintf("Unknown direction %q", truncate(s)), "ascending instead"}
	}
	if s := v.Get("page"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= 1_000_000 {
			q.Page = n
		} else {
			problems["page"] = QueryProblem{fmt.Sprintf("Page %q does not exist", truncate(s)), "showing the first page"}
		}
	}
	if s := v.Get("per_page"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && slices.Contains(PerPageChoices, n) {
			q.PerPage = n
		} else {
			problems["per_page"] = QueryProblem{fmt.Sprintf("%q rows per page is not offered", truncate(s)), fmt.Sprintf("showing %d", DefaultPerPage)}
		}
	}
	return q, problems
}

// Values returns the canonical query string of q, leaving out defaults.
func (q TokenQuery) Values() url.Values {
	v := url.Values{}
	if q.State != "active" && q.State != "" {
		v.Set("state", q.State)
	}
	if q.Q != "" {
		v.Set("q", q.Q)
	}
	if q.TeamID != 0 {
		v.Set("team", strconv.FormatInt(q.TeamID, 10))
	}
	if q.Role != "" {
		v.Set("role", string(q.Role))
	}
	if q.ExpiresWithin != 0 {
		v.Set("expires_within", strconv.Itoa(q.ExpiresWithin))
	}
	if q.Health != "" {
		v.Set("health", q.Health)
	}
	if q.Sort != TokenSortExpires && q.Sort != "" {
		v.Set("sort", q.Sort)
	}
	if q.Desc {
		v.Set("dir", "desc")
	}
	if q.Page > 1 {
		v.Set("page", strconv.Itoa(q.Page))
	}
	if q.PerPage != DefaultPerPage && q.PerPage != 0 {
		v.Set("per_page", strconv.Itoa(q.PerPage))
	}
	return v
}

// ActiveFilters counts the filters that narrow the list beyond the default.
func (q TokenQuery) ActiveFilters() int {
	n := 0
	for _, on := range []bool{q.State != "active", q.Q != "", q.TeamID != 0, q.Role != "", q.ExpiresWithin != 0, q.Health != ""} {
		if on {
			n++
		}
	}
	return n
}

// TokenCursor is where an API page ends: the last row's sort value and id.
type TokenCursor struct {
	Sort  string     `json:"s"`
	Desc  bool       `json:"d,omitempty"`
	Time  *time.Time `json:"t,omitempty"`
	Text  *string    `json:"x,omitempty"`
	ID    int64      `json:"i"`
	Valid bool       `json:"-"`
}

// String encodes the cursor for next_cursor.
func (c TokenCursor) String() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseTokenCursor decodes a next_cursor for q's sort and direction.
func ParseTokenCursor(s string, q TokenQuery) (*TokenCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c TokenCursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID <= 0 || c.Sort != q.Sort || c.Desc != q.Desc {
		return nil, NewValidationError("cursor", "Use the next_cursor of a previous answer with the same sort and direction.")
	}
	return &c, nil
}

// TokenRow is one row of the token inventory: the token, its owner, who
// made it, and its rotation links.
type TokenRow struct {
	Token
	OwnerName     string
	OwnerHandle   string
	OwnerRole     Role
	OwnerStatus   Status
	CreatorName   string
	ReplacedName  string // the replacement's name, when ReplacedBy is set
	ReplacesID    int64  // the token this one replaced, 0 if none
	ReplacesName  string
	ReplacesUntil *time.Time // when the replaced token stops
}

// TokenPage is one page of the token inventory.
type TokenPage struct {
	Rows  []TokenRow
	Total int64 // at most TokenCountCap+1 unless Exact
	Exact bool
	Next  *TokenCursor // the API's next page, nil at the end
	Query TokenQuery
}

// Capped reports whether there are more matches than were counted.
func (p TokenPage) Capped() bool { return !p.Exact && p.Total > TokenCountCap }

// Pages returns the number of pages counted.
func (p TokenPage) Pages() int {
	if p.Query.PerPage == 0 || p.Total == 0 {
		return 1
	}
	return int((p.Total + int64(p.Query.PerPage) - 1) / int64(p.Query.PerPage))
}

// tokenWhere is a token list's condition on tokens AS t: the union of its
// parts' matches. A search read by owner has two parts, the token names and
// the owners' tokens, each read from its own index (an OR reads neither).
type tokenWhere []sqlPart

// sqlPart is a condition and its arguments.
type sqlPart struct {
	cond string
	args []any
}

// and narrows every part of w by cond.
func (w tokenWhere) and(cond string, args ...any) tokenWhere {
	out := make(tokenWhere, len(w))
	for i, p := range w {
		out[i] = sqlPart{p.cond + " AND " + cond, append(slices.Clip(p.args), args...)}
	}
	return out
}

// tokenFilter is q's condition on tokens AS t. Owner conditions are lists
// of user ids, read first. With walk they are checked per token instead, so
// a page walks the sort order's index and stops after a page of matches:
// for owners holding many tokens.
func (s *Store) tokenFilter(q TokenQuery, now time.Time, p tokenPlan) tokenWhere {
	walk := p.walk
	owner := "t.user_id"
	if walk && s.dialect == SQLite {
		owner = "+t.user_id" // unary plus: not an index term
	}
	var where []string
	var args []any
	add := func(cond string, a ...any) { where, args = append(where, cond), append(args, a...) }
	switch q.State {
	case "active", "":
		add("t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)", now)
	case "replaced":
		add("t.revoked_at IS NULL AND t.replaced_by IS NOT NULL AND t.expires_at > ?", now)
	case "revoked":
		add("t.revoked_at IS NOT NULL")
	case "expired":
		add("t.revoked_at IS NULL AND t.expires_at <= ?", now)
	}
	if q.ExpiresWithin > 0 {
		add("t.expires_at > ? AND t.expires_at <= ?", now, now.Add(time.Duration(q.ExpiresWithin)*24*time.Hour))
	}
	switch q.Health {
	case "never_used":
		add("t.last_used_at IS NULL")
	case "idle":
		add("t.last_used_at < ?", now.Add(-idleDays*24*time.Hour))
	case "no_expiry":
		add("t.expires_at IS NULL")
	}
	switch {
	case q.Role != "" && walk:
		add("EXISTS (SELECT 1 FROM users u WHERE u.id = t.user_id AND u.role = ?)", string(q.Role))
	case q.Role != "":
		add("t.user_id IN (SELECT u.id FROM users u WHERE u.role = ?)", string(q.Role))
	}
	switch {
	case q.TeamID != 0 && walk && !p.teamList:
		add("EXISTS (SELECT 1 FROM user_teams ut WHERE ut.user_id = t.user_id AND ut.team_id = ?)", q.TeamID)
	case q.TeamID != 0:
		add(owner+" IN (SELECT ut.user_id FROM user_teams ut WHERE ut.team_id = ?)", q.TeamID)
	}
	if len(where) == 0 {
		add("1 = 1")
	}
	w := tokenWhere{{strings.Join(where, " AND "), args}}
	if q.Q == "" {
		return w
	}
	// The token's name starts with the search, or the owner's words start
	// with its words (the Users search).
	prefix := strings.ToLower(q.Q)
	name, nameArgs := "t.name_key >= ? AND t.name_key < ?", []any{prefix, prefix + "\U0010FFFF"}
	ids, idArgs := s.dialect.userIDsMatching(q.Q)
	if walk {
		return w.and("("+name+" OR "+owner+" IN ("+ids+"))", append(nameArgs, idArgs...)...)
	}
	return tokenWhere{w.and(name, nameArgs...)[0], w.and(owner+" IN ("+ids+")", idArgs...)[0]}
}

// tokenIDsSQL selects the ids of w's matches from from, in q's order.
func (s *Store) tokenIDsSQL(q TokenQuery, from string, w tokenWhere) (string, []any) {
	o, order := s.tokenOrderSQL(q)
	if len(w) == 1 {
		return "SELECT t.id FROM " + from + " WHERE " + w[0].cond + " ORDER BY " + order, w[0].args
	}
	cols := "t.id AS id"
	if o.col != nil {
		cols += ", " + o.col(s.dialect) + " AS k"
	}
	var parts []string
	var args []any
	for _, p := range w {
		parts, args = append(parts, "SELECT "+cols+" FROM "+from+" WHERE "+p.cond), append(args, p.args...)
	}
	// The union is ordered by its own columns; the first is the id.
	order = strings.ReplaceAll(order, "t.id", "id")
	if o.col != nil {
		order = strings.Replace(order, o.col(s.dialect), "k", 1)
	}
	return "SELECT id FROM (" + strings.Join(parts, " UNION ") + ") AS m ORDER BY " + order, args
}

// ownerShares are the shares of active service users q's owner filters
// select: all of them together (role, team, search), and the team alone.
type ownerShares struct{ all, team float64 }

// tokenPlan is how a token list reads owner conditions.
type tokenPlan struct {
	walk     bool // walk the sort order's index, checking owners per token
	teamList bool // while walking, check the team against its member list, read once
}

// plan walks for owners holding one token in walkAt or more; a team of less
// than a quarter is checked against its list, a larger one per token.
func (sh ownerShares) plan(walkAt float64) tokenPlan {
	return tokenPlan{walk: sh.all >= walkAt, teamList: sh.team < 0.25}
}

// ownersShare measures q's ownerShares from counts kept by triggers and the
// full-text index; 1 without owner filters. SQLite only: 0 on PostgreSQL,
// whose planner has statistics of its own.
func (s *Store) ownersShare(ctx context.Context, q TokenQuery) ownerShares {
	none := ownerShares{}
	if q.Role == "" && q.TeamID == 0 && q.Q == "" {
		return ownerShares{1, 1}
	}
	if s.dialect != SQLite {
		return none
	}
	var all, some int64
	db := s.db.WithContext(ctx)
	if db.Raw("SELECT COALESCE(SUM(n), 0) FROM user_counts WHERE kind = 'service' AND status = 'active'").Scan(&all).Error != nil || all == 0 {
		return none
	}
	some, team := all, all
	if q.Role != "" && db.Raw("SELECT COALESCE(SUM(n), 0) FROM user_counts WHERE kind = 'service' AND status = 'active' AND role = ?", string(q.Role)).Scan(&some).Error != nil {
		return none
	}
	if q.TeamID != 0 {
		if db.Raw("SELECT COALESCE(SUM(n), 0) FROM team_counts WHERE team_id = ? AND kind = 'service' AND status = 'active'", q.TeamID).Scan(&team).Error != nil {
			return none
		}
		some = min(some, team)
	}
	if q.Q != "" {
		var n int64
		ids, a := s.dialect.userIDsMatching(q.Q)
		if db.Raw("SELECT COUNT(*) FROM ("+ids+") AS m", a...).Scan(&n).Error != nil {
			return none
		}
		some = min(some, n)
	}
	return ownerShares{float64(some) / float64(all), float64(team) / float64(all)}
}

// tokenOrderSQL is q's ORDER BY: the sort column (NULLs last either way),
// then the id, in q's direction.
func (s *Store) tokenOrderSQL(q TokenQuery) (tokenOrder, string) {
	o, ok := tokenOrders[q.Sort]
	if !ok {
		o = tokenOrders[TokenSortExpires]
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	if o.col == nil {
		return o, "t.id " + dir
	}
	nulls := ""
	if o.nullable {
		nulls = " NULLS LAST"
	}
	return o, o.col(s.dialect) + " " + dir + nulls + ", t.id " + dir
}

// afterCursor is the condition that a row sorts after c in q's order.
func (s *Store) afterCursor(o tokenOrder, q TokenQuery, c *TokenCursor) (string, []any) {
	op := ">"
	if q.Desc {
		op = "<"
	}
	if o.col == nil {
		return "t.id " + op + " ?", []any{c.ID}
	}
	col := o.col(s.dialect)
	var v any
	switch {
	case c.Time != nil:
		v = *c.Time
	case c.Text != nil:
		v = *c.Text
		if o.owner && s.dialect == Postgres {
			v = strings.ToLower(*c.Text)
		}
	default: // the cursor sits among the NULLs, which come last
		return col + " IS NULL AND t.id " + op + " ?", []any{c.ID}
	}
	cond := "(" + col + " " + op + " ? OR " + col + " = ? AND t.id " + op + " ?"
	if o.nullable {
		cond += " OR " + col + " IS NULL"
	}
	return cond + ")", []any{v, v, c.ID}
}

// ListTokens returns one page of the token inventory: ids filtered, sorted
// and paged in SQL, then those tokens with their owners and rotation links.
// The total is counted up to TokenCountCap+1.
func (s *Store) ListTokens(ctx context.Context, q TokenQuery) (TokenPage, error) {
	page := TokenPage{Query: q}
	now := s.Now()
	kept, known, keep, err := s.keptTokenCount(ctx, q)
	if err != nil {
		return page, fmt.Errorf("models: list tokens: %w", err)
	}
	if !known {
		kept.shares = s.ownersShare(ctx, q)
	}
	// Owners holding one token in 40 or more are found faster by walking
	// the sort order; fewer, by reading their tokens and sorting. A count
	// walks only for a quarter or more (a search never: its list is at hand).
	plan, countPlan := kept.shares.plan(1.0/40), kept.shares.plan(0.25)
	countPlan.walk = countPlan.walk && q.Q == ""
	walk, countWalk := plan.walk, countPlan.walk
	where := s.tokenFilter(q, now, plan)
	o, order := s.tokenOrderSQL(q)
	perPage := q.PerPage
	if perPage <= 0 {
		perPage = DefaultPerPage
	}
	from := "tokens AS t"
	if o.owner {
		from = "tokens AS t JOIN users AS u ON u.id = t.user_id"
	}
	offset := (max(q.Page, 1) - 1) * perPage
	// readIDs reads limit ids from offset in q's order, after q.After.
	readIDs := func(offset, limit int) ([]int64, error) {
		if walk && q.Sort == TokenSortExpires && !q.Desc && (q.State == "active" || q.State == "replaced") {
			return s.datedThenUndated(ctx, where[0], now, q.After, offset, limit)
		}
		w := where
		if q.After != nil {
			c, a := s.afterCursor(o, q, q.After)
			w = w.and(c, a...)
		}
		sqlText, args := s.tokenIDsSQL(q, from, w)
		var ids []int64
		err := s.db.WithContext(ctx).Raw(sqlText+" LIMIT ? OFFSET ?", append(slices.Clip(args), limit, offset)...).Scan(&ids).Error
		return ids, err
	}
	var ids []int64
	read := false
	switch {
	case q.After != nil: // the API's cursor pages are not counted
	case q.countedByOverview():
		page.Total, page.Exact, err = s.overviewCount(ctx, q)
	case known: // counted at this revision
	case walk == countWalk && offset+perPage <= TokenCountCap:
		// One read answers both: the matches up to the cap, in order,
		// walked or read by owner alike, are the count and hold the page.
		if ids, err = readIDs(0, TokenCountCap+1); err == nil {
			kept.n, kept.exact = int64(len(ids)), len(ids) <= TokenCountCap
			ids, read = ids[min(offset, len(ids)):min(offset+perPage+1, len(ids))], true
		}
	default:
		kept.n, kept.exact, err = s.countTokens(ctx, s.tokenFilter(q, now, countPlan), countWalk)
	}
	if err == nil && !read {
		ids, err = readIDs(offset, perPage+1)
	}
	if err != nil {
		return page, fmt.Errorf("models: list tokens: %w", err)
	}
	if q.After == nil && !q.countedByOverview() {
		page.Total, page.Exact = kept.n, kept.exact
		if !known {
			keep(kept)
		}
	}
	more := len(ids) > perPage
	if more {
		ids = ids[:perPage]
	}
	rows, err := s.tokenRows(ctx, ids, order, o.owner)
	if err != nil {
		return page, err
	}
	page.Rows = rows
	if more && len(rows) > 0 {
		last := rows[len(rows)-1]
		c := &TokenCursor{Sort: q.Sort, Desc: q.Desc, ID: last.ID}
		switch q.Sort {
		case TokenSortExpires:
			c.Time = last.ExpiresAt
		case TokenSortLastUsed:
			c.Time = last.LastUsedAt
		case TokenSortName:
			c.Text = &last.NameKey
		case TokenSortOwner:
			c.Text = &last.OwnerName
		}
		page.Next = c
	}
	return page, nil
}

// datedThenUndated reads a page of working tokens soonest expiry first: the
// dated ones from the index's range after now, then those that never
// expire. One ORDER BY would walk past every expired token first.
func (s *Store) datedThenUndated(ctx context.Context, w sqlPart, now time.Time, after *TokenCursor, offset, limit int) ([]int64, error) {
	dated, dargs := w.cond+" AND t.expires_at > ?", append(slices.Clip(w.args), now)
	undated, uargs := w.cond+" AND t.expires_at IS NULL", slices.Clip(w.args)
	switch {
	case after != nil && after.Time == nil: // the cursor is among the undated
		undated, uargs, dated = undated+" AND t.id > ?", append(uargs, after.ID), ""
	case after != nil:
		dated += " AND (t.expires_at > ? OR t.expires_at = ? AND t.id > ?)"
		dargs = append(dargs, *after.Time, *after.Time, after.ID)
	}
	var ids []int64
	if dated != "" {
		err := s.db.WithContext(ctx).Table("tokens AS t").Select("t.id").Where(dated, dargs...).
			Order("t.expires_at, t.id").Offset(offset).Limit(limit).Scan(&ids).Error
		if err != nil || len(ids) == limit {
			return ids, err
		}
		if len(ids) > 0 {
			offset = 0
		} else if offset > 0 { // the page starts among the undated
			var n int64
			if err := s.db.WithContext(ctx).Table("tokens AS t").Where(dated, dargs...).Count(&n).Error; err != nil {
				return nil, err
			}
			offset = max(offset-int(n), 0)
		}
	}
	var rest []int64
	err := s.db.WithContext(ctx).Table("tokens AS t").Select("t.id").Where(undated, uargs...).
		Order("t.id").Offset(offset).Limit(limit - len(ids)).Scan(&rest).Error
	return append(ids, rest...), err
}

// countedByOverview reports whether the overview counts q's list: the
// working tokens, alone or with one expiry or health filter.
func (q TokenQuery) countedByOverview() bool {
	n := q.ActiveFilters()
	return n == 0 || n == 1 && (q.ExpiresWithin != 0 || q.Health != "")
}

// overviewCount is the exact count of a list the overview counts.
func (s *Store) overviewCount(ctx context.Context, q TokenQuery) (int64, bool, error) {
	o, err := s.TokenOverview(ctx)
	counts := map[string]int64{"": o.Active, "7": o.Expiring7, "30": o.Expiring30, "90": o.Expiring90,
		"never_used": o.NeverUsed, "idle": o.Idle, "no_expiry": o.NoExpiry}
	key := q.Health
	if q.ExpiresWithin != 0 {
		key = strconv.Itoa(q.ExpiresWithin)
	}
	return counts[key], true, err
}

// countTokens counts w's matches up to TokenCountCap+1.
func (s *Store) countTokens(ctx context.Context, w tokenWhere, walk bool) (int64, bool, error) {
	var parts []string
	var args []any
	for _, p := range w {
		parts, args = append(parts, "SELECT t.id FROM tokens AS t WHERE "+p.cond), append(args, p.args...)
	}
	inner := strings.Join(parts, " UNION ")
	if walk {
		// A walk follows the expiry index and stops at the cap; without an
		// order SQLite would first collect every row the index ranges hold.
		inner += " ORDER BY t.expires_at"
	}
	var n int64
	err := s.db.WithContext(ctx).Raw("SELECT COUNT(*) FROM ("+inner+" LIMIT ?) AS m", append(args, TokenCountCap+1)...).Scan(&n).Error
	if err != nil {
		return 0, false, fmt.Errorf("models: count tokens: %w", err)
	}
	return n, n <= TokenCountCap, nil
}

// tokenRows reads the tokens of ids in order, with their owners, creators
// and rotation links, in a fixed number of queries.
func (s *Store) tokenRows(ctx context.Context, ids []int64, order string, owner bool) ([]TokenRow, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var toks []Token
	db := s.db.WithContext(ctx).Table("tokens AS t").Select("t.*")
	if owner {
		db = db.Joins("JOIN users AS u ON u.id = t.user_id")
	}
	if err := db.Where("t.id IN ?", ids).Order(order).Find(&toks).Error; err != nil {
		return nil, fmt.Errorf("models: token rows: %w", err)
	}
	var userIDs, linked []int64
	for _, t := range toks {
		userIDs = append(userIDs, t.UserID)
		if t.CreatedBy != nil {
			userIDs = append(userIDs, *t.CreatedBy)
		}
		if t.ReplacedBy != nil {
			linked = append(linked, *t.ReplacedBy)
		}
	}
	var users []User
	if err := s.db.WithContext(ctx).Select("id, kind, name, user_id, email, role, status").Where("id IN ?", userIDs).Find(&users).Error; err != nil {
		return nil, fmt.Errorf("models: token owners: %w", err)
	}
	byID := make(map[int64]*User, len(users))
	for i := range users {
		byID[users[i].ID] = &users[i]
	}
	// Both directions of a rotation: the replacements named on this page,
	// and the tokens this page's tokens replaced.
	var links []Token
	if err := s.db.WithContext(ctx).Select("id, name, expires_at, replaced_by").
		Where("id IN ? OR replaced_by IN ?", append(linked, 0), ids).Find(&links).Error; err != nil {
		return nil, fmt.Errorf("models: token rotations: %w", err)
	}
	names, replaced := map[int64]string{}, map[int64]Token{}
	for _, l := range links {
		names[l.ID] = l.Name
		if l.ReplacedBy != nil {
			replaced[*l.ReplacedBy] = l
		}
	}
	rows := make([]TokenRow, len(toks))
	for i, t := range toks {
		s.usage.merge(&t)
		r := TokenRow{Token: t}
		if u := byID[t.UserID]; u != nil {
			r.OwnerName, r.OwnerHandle, r.OwnerRole, r.OwnerStatus = u.Name, u.Handle(), u.Role, u.Status
		}
		if t.CreatedBy != nil {
			if u := byID[*t.CreatedBy]; u != nil {
				r.CreatorName = u.Name
			}
		}
		if t.ReplacedBy != nil {
			r.ReplacedName = names[*t.ReplacedBy]
		}
		if old, ok := replaced[t.ID]; ok {
			r.ReplacesID, r.ReplacesName, r.ReplacesUntil = old.ID, old.Name, old.ExpiresAt
		}
		rows[i] = r
	}
	return rows, nil
}
