package models

import (
	"context"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

// inventory is a small token inventory: three owners, every state, every
// health, a rotation in its overlap.
type inventory struct {
	s     *Store
	clock *testClock
	team  *Team
	ids   map[string]int64 // token name → id
}

func newInventory(t *testing.T) *inventory {
	t.Helper()
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	if err := s.SetTokenPolicy(ctx, System, TokenPolicy{DefaultDays: 30, AllowNever: true}); err != nil {
		t.Fatal(err)
	}
	team, err := s.CreateTeam(ctx, System, TeamInput{Name: "Data"})
	if err != nil {
		t.Fatal(err)
	}
	owner := func(name string, role Role, teams ...int64) *User {
		u, err := s.CreateServiceUser(ctx, System, NewServiceUser{Name: name, Role: role, TeamIDs: teams})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		return u
	}
	airflow := owner("Airflow", RoleMember, team.ID)
	billing := owner("Billing Bot", RoleAdmin)
	ci := owner("Ci Runner", RoleManager)
	inv := &inventory{s: s, clock: clock, team: team, ids: map[string]int64{}}
	mk := func(u *User, name string, e Expiry) {
		tok, _ := mustToken(t, s, u.ID, name, e)
		inv.ids[name] = tok.ID
	}
	mk(airflow, "prod", Expiry{Days: 5})
	mk(airflow, "stage", Expiry{Days: 20})
	mk(airflow, "old", Expiry{Never: true})
	mk(billing, "deploy", Expiry{Days: 60})
	mk(billing, "nightly", Expiry{Days: 1})
	mk(ci, "main", Expiry{Never: true})
	mk(ci, "pr", Expiry{Days: 90})
	now := clock.Now()
	if _, err := s.RevokeToken(ctx, System, inv.ids["deploy"]); err != nil {
		t.Fatal(err)
	}
	fixture := func(sql string, args ...any) {
		if err := s.db.Exec(sql, args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	fixture("UPDATE tokens SET expires_at = ? WHERE id = ?", now.Add(-time.Hour), inv.ids["nightly"])
	fixture("UPDATE tokens SET last_used_at = ? WHERE id = ?", now.Add(-100*24*time.Hour), inv.ids["main"])
	fixture("UPDATE tokens SET last_used_at = ? WHERE id = ?", now.Add(-24*time.Hour), inv.ids["pr"])
	fresh, _, err := s.RotateToken(ctx, System, inv.ids["prod"], 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	inv.ids[fresh.Name] = fresh.ID
	return inv
}

// names lists a page's token names in order.
func (inv *inventory) names(t *testing.T, raw string) []string {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	q, problems := ParseTokenQuery(v)
	if len(problems) > 0 {
		t.Fatalf("%s: problems %v", raw, problems)
	}
	page, err := inv.s.ListTokens(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	out := []string{}
	for _, r := range page.Rows {
		out = append(out, r.Name)
	}
	return out
}

// The lists are the same whichever plan reads them: with three service
// users each owner filter walks the sort order; among 120 more (holding no
// tokens, ten of them in the team) role and search read the owners' tokens
// (a search in two parts), and the team walks against its member list.
func TestListTokensFiltersAndSorts(t *testing.T) {
	inv := newInventory(t)
	t.Run("few owners", func(t *testing.T) { checkTokenLists(t, inv) })
	for i := range 120 {
		u := NewServiceUser{Name: "Filler " + strconv.Itoa(i), Role: RoleMember}
		if i < 10 {
			u.TeamIDs = []int64{inv.team.ID}
		}
		if _, err := inv.s.CreateServiceUser(context.Background(), System, u); err != nil {
			t.Fatal(err)
		}
	}
	if p := inv.s.ownersShare(context.Background(), TokenQuery{TeamID: inv.team.ID}).plan(1.0 / 40); inv.s.dialect == SQLite && (!p.walk || !p.teamList) {
		t.Fatalf("team plan = %+v, want a walk against the member list", p)
	}
	if share := inv.s.ownersShare(context.Background(), TokenQuery{Role: RoleAdmin}).all; inv.s.dialect == SQLite && share >= 1.0/40 {
		t.Fatalf("share of admins = %v: the fillers did not change the plan", share)
	}
	t.Run("many owners", func(t *testing.T) { checkTokenLists(t, inv) })
}

func checkTokenLists(t *testing.T, inv *inventory) {
	for _, c := range []struct {
		query string
		want  []string
	}{
		// Active by default (a replaced token works until its overlap ends),
		// soonest expiry first, Never last.
		{"", []string{"prod", "prod-r2", "stage", "pr", "old", "main"}},
		{"dir=desc", []string{"pr", "stage", "prod-r2", "prod", "main", "old"}},
		{"state=replaced", []string{"prod"}},
		{"state=revoked", []string{"deploy"}},
		{"state=expired", []string{"nightly"}},
		{"state=all&sort=created", []string{"prod", "stage", "old", "deploy", "nightly", "main", "pr", "prod-r2"}},
		{"state=all&sort=created&dir=desc", []string{"prod-r2", "pr", "main", "nightly", "deploy", "old", "stage", "prod"}},
		{"expires_within=7", []string{"prod", "prod-r2"}},
		{"expires_within=30", []string{"prod", "prod-r2", "stage"}},
		{"expires_within=90", []string{"prod", "prod-r2", "stage", "pr"}},
		{"health=never_used", []string{"prod", "prod-r2", "stage", "old"}},
		{"health=idle", []string{"main"}},
		{"health=no_expiry", []string{"old", "main"}},
		{"role=admin", []string{}},
		{"role=admin&state=all&sort=name", []string{"deploy", "nightly"}},
		{"role=manager", []string{"pr", "main"}},
		{"team=" + itoa(inv.team.ID) + "&sort=name", []string{"old", "prod", "prod-r2", "stage"}},
		{"q=prod", []string{"prod", "prod-r2"}},
		{"q=ci", []string{"pr", "main"}},                           // the owner's name
		{"q=billing_bot&state=all", []string{"nightly", "deploy"}}, // its user_id
		{"sort=last_used", []string{"main", "pr", "prod", "stage", "old", "prod-r2"}},
		{"sort=last_used&dir=desc", []string{"pr", "main", "prod-r2", "old", "stage", "prod"}},
		{"sort=owner&state=all", []string{"prod", "stage", "old", "prod-r2", "deploy", "nightly", "main", "pr"}},
		{"sort=name&dir=desc", []string{"stage", "prod-r2", "prod", "pr", "old", "main"}},
	} {
		if got := inv.names(t, c.query); !reflect.DeepEqual(got, c.want) {
			t.Errorf("?%s = %v, want %v", c.query, got, c.want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestParseTokenQueryDropsUnknownValues(t *testing.T) {
	v := url.Values{"state": {"zombie"}, "sort": {"colour"}, "dir": {"up"}, "expires_within": {"14"},
		"health": {"bad"}, "role": {"owner"}, "team": {"x"}, "per_page": {"7"}, "page": {"0"}, "q": {"a\x00b"}}
	q, problems := ParseTokenQuery(v)
	if !reflect.DeepEqual(q, DefaultTokenQuery()) {
		t.Errorf("query = %+v, want the default", q)
	}
	for name := range v {
		if problems[name].Reason == "" {
			t.Errorf("no problem reported for %s", name)
		}
	}
}

// A cursor walk meets every token once, in the order of one long page, for
// every sort and direction.
func TestListTokensCursorWalk(t *testing.T) {
	inv := newInventory(t)
	ctx := context.Background()
	for _, state := range []string{"all", "active"} {
		for sort := range tokenOrders {
			for _, desc := range []bool{false, true} {
				q := DefaultTokenQuery()
				q.State, q.Sort, q.Desc, q.PerPage = state, sort, desc, 100
				whole, err := inv.s.ListTokens(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				var want []int64
				for _, r := range whole.Rows {
					want = append(want, r.ID)
				}
				// By cursor, three at a time.
				q.PerPage = 3
				var walked []int64
				for range 10 {
					page, err := inv.s.ListTokens(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range page.Rows {
						walked = append(walked, r.ID)
					}
					if page.Next == nil {
						break
					}
					c, err := ParseTokenCursor(page.Next.String(), q)
					if err != nil {
						t.Fatalf("%s: cursor: %v", sort, err)
					}
					q.After = c
				}
				// By page number, two at a time.
				q.After, q.PerPage = nil, 2
				var paged []int64
				for q.Page = 1; q.Page <= 5; q.Page++ {
					page, err := inv.s.ListTokens(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range page.Rows {
						paged = append(paged, r.ID)
					}
				}
				n := map[string]int{"all": 8, "active": 6}[state]
				if !slices.Equal(walked, want) || len(want) != n {
					t.Errorf("state %s sort %s desc %v: walked %v, want %v", state, sort, desc, walked, want)
				}
				if !slices.Equal(paged, want) {
					t.Errorf("state %s sort %s desc %v: paged %v, want %v", state, sort, desc, paged, want)
				}
			}
		}
	}
	q := DefaultTokenQuery()
	c := TokenCursor{Sort: TokenSortName, ID: 3}
	if _, err := ParseTokenCursor(c.String(), q); err == nil {
		t.Error("a cursor of another sort was accepted")
	}
	if _, err := ParseTokenCursor("%%%", q); err == nil {
		t.Error("a garbled cursor was accepted")
	}
}

func TestTokenRowsSayWhatReplacedWhat(t *testing.T) {
	inv := newInventory(t)
	ctx := context.Background()
	rows, err := inv.s.TokensByIDs(ctx, []int64{inv.ids["prod"], inv.ids["prod-r2"]})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("rows = %d", len(rows))
	}
	old, fresh := rows[0], rows[1]
	if old.Name != "prod" || !old.Replaced(inv.clock.Now()) || old.ReplacedName != "prod-r2" {
		t.Errorf("old row = %+v, want prod replaced by prod-r2", old)
	}
	if fresh.ReplacesID != old.ID || fresh.ReplacesName != "prod" || fresh.ReplacesUntil == nil || !fresh.ReplacesUntil.Equal(inv.clock.Now().Add(24*time.Hour)) {
		t.Errorf("new row replaces %d %q until %v", fresh.ReplacesID, fresh.ReplacesName, fresh.ReplacesUntil)
	}
	if old.OwnerName != "Airflow" || old.OwnerHandle != "airflow@service" || old.OwnerRole != RoleMember {
		t.Errorf("owner = %q %q %q", old.OwnerName, old.OwnerHandle, old.OwnerRole)
	}
	inv.clock.Advance(25 * time.Hour)
	if inv.names(t, "state=replaced") != nil && len(inv.names(t, "state=replaced")) != 0 {
		t.Error("a replaced token is still listed as replaced after its overlap")
	}
	if got := inv.names(t, "state=expired"); !slices.Contains(got, "prod") {
		t.Errorf("expired = %v, want prod among them after the overlap", got)
	}
}

func TestTokenOverviewFollowsWritesAndTime(t *testing.T) {
	inv := newInventory(t)
	ctx := context.Background()
	check := func(when string, want TokenOverview) {
		t.Helper()
		got, err := inv.s.TokenOverview(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: overview = %+v, want %+v", when, got, want)
		}
	}
	// prod, rotated away with a day's overlap, counts as notified: its
	// token.rotated said when it stops.
	check("at first", TokenOverview{Active: 6, Expiring7: 2, Expiring30: 3, Expiring90: 4, NeverUsed: 4, Idle: 1, NoExpiry: 2, Notified7: 1})
	check("read again", TokenOverview{Active: 6, Expiring7: 2, Expiring30: 3, Expiring90: 4, NeverUsed: 4, Idle: 1, NoExpiry: 2, Notified7: 1})
	if _, err := inv.s.RevokeToken(ctx, System, inv.ids["old"]); err != nil {
		t.Fatal(err)
	}
	check("after a revocation", TokenOverview{Active: 5, Expiring7: 2, Expiring30: 3, Expiring90: 4, NeverUsed: 3, Idle: 1, NoExpiry: 1, Notified7: 1})
	// A change made by hand is seen as well (triggers move the revision).
	if err := inv.s.db.Exec("UPDATE tokens SET last_used_at = ? WHERE id = ?", inv.clock.Now(), inv.ids["stage"]).Error; err != nil {
		t.Fatal(err)
	}
	check("after an UPDATE by hand", TokenOverview{Active: 5, Expiring7: 2, Expiring30: 3, Expiring90: 4, NeverUsed: 2, Idle: 1, NoExpiry: 1, Notified7: 1})
	// Time alone: prod's overlap ends after a day; stage enters the 7-day
	// window after 13 days; pr (used a day ago) turns idle after 89.
	inv.clock.Advance(24 * time.Hour)
	check("a day later", TokenOverview{Active: 4, Expiring7: 1, Expiring30: 2, Expiring90: 3, NeverUsed: 1, Idle: 1, NoExpiry: 1})
	inv.clock.Advance(13 * 24 * time.Hour)
	check("two weeks later", TokenOverview{Active: 3, Expiring7: 1, Expiring30: 1, Expiring90: 2, NeverUsed: 0, Idle: 1, NoExpiry: 1})
	inv.clock.Advance(76 * 24 * time.Hour)
	check("90 days later", TokenOverview{Active: 1, Expiring7: 0, Expiring30: 0, Expiring90: 0, NeverUsed: 0, Idle: 1, NoExpiry: 1})
}

// A filtered list's count, kept while nothing changes, follows a write (by
// hand too) and time at once.
func TestFilteredTokenCountsFollowWritesAndTime(t *testing.T) {
	inv := newInventory(t)
	ctx := context.Background()
	check := func(when, raw string, want int64) {
		t.Helper()
		v, _ := url.ParseQuery(raw)
		q, _ := ParseTokenQuery(v)
		for range 2 { // counted, then kept
			page, err := inv.s.ListTokens(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != want || !page.Exact || len(page.Rows) != int(want) {
				t.Errorf("%s: ?%s counts %d (exact %v, %d rows), want %d", when, raw, page.Total, page.Exact, len(page.Rows), want)
			}
		}
	}
	team := "team=" + itoa(inv.team.ID)
	check("at first", team, 4) // prod (replaced), prod-r2, stage, old
	check("at first", "q=airflow", 4)
	check("at first", "state=expired", 1)
	if err := inv.s.db.Exec("UPDATE tokens SET revoked_at = ? WHERE id = ?", inv.clock.Now(), inv.ids["stage"]).Error; err != nil {
		t.Fatal(err)
	}
	check("after a revocation by hand", team, 3)
	check("after a revocation by hand", "q=airflow", 3)
	inv.clock.Advance(24 * time.Hour) // prod's overlap ends
	check("a day later", team, 2)
	check("a day later", "state=expired", 2)
	if err := inv.s.db.Exec("DELETE FROM user_teams WHERE team_id = ?", inv.team.ID).Error; err != nil {
		t.Fatal(err)
	}
	check("after leaving the team", team, 0)
}

func TestRevokeTokensAnswersEachID(t *testing.T) {
	inv := newInventory(t)
	ctx := context.Background()
	a := System
	a.RequestID = "req-bulk-1"
	ids := []int64{inv.ids["stage"], inv.ids["deploy"], inv.ids["nightly"], 999999, inv.ids["stage"], inv.ids["pr"]}
	res, err := inv.s.RevokeTokens(ctx, a, ids)
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, r := range res {
		outcomes = append(outcomes, r.Outcome)
	}
	want := []string{BulkRevoked, BulkInactive, BulkInactive, BulkNotFound, BulkDuplicate, BulkRevoked}
	if !slices.Equal(outcomes, want) {
		t.Errorf("outcomes = %v, want %v", outcomes, want)
	}
	if sum := Summarize(res); sum != (BulkSummary{Revoked: 2, Inactive: 2, NotFound: 1, Duplicate: 1}) {
		t.Errorf("summary = %+v", sum)
	}
	if got := inv.names(t, "state=revoked"); !slices.Equal(got, []string{"stage", "deploy", "pr"}) && len(got) != 3 {
		t.Errorf("revoked = %v", got)
	}
	var events []Event
	if err := inv.s.db.Where("action = 'token.revoke' AND request_id = ?", "req-bulk-1").Order("id").Find(&events).Error; err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0].TargetID == nil || *events[0].TargetID != inv.ids["stage"] || *events[1].TargetID != inv.ids["pr"] {
		t.Errorf("events = %+v, want one per revoked token, sharing the request id", events)
	}
	if _, err := inv.s.RevokeTokens(ctx, a, make([]int64, MaxBulkRevoke+1)); FieldErrors(err)["ids"] == "" {
		t.Errorf("more than %d ids: err = %v, want a field error", MaxBulkRevoke, err)
	}
}

// The default order and each filter but the search read tokens through an
// index, never a scan of the whole table.
func TestTokenListPlansUseIndexes(t *testing.T) {
	inv := newInventory(t)
	ctx := context.Background()
	queries := []string{"", "dir=desc", "state=replaced", "state=revoked", "state=expired", "expires_within=7",
		"expires_within=90", "health=never_used", "health=idle", "health=no_expiry", "role=admin", "team=" + itoa(inv.team.ID)}
	for _, raw := range queries {
		v, _ := url.ParseQuery(raw)
		q, _ := ParseTokenQuery(v)
		sql, args := inv.s.tokenIDsSQL(q, "tokens AS t", inv.s.tokenFilter(q, inv.clock.Now(), tokenPlan{}))
		plan := inv.s.explain(t, ctx, sql+" LIMIT 26", args...)
		if fullScan(inv.s.dialect, plan) {
			t.Errorf("?%s scans all of tokens:\n%s", raw, plan)
		}
	}
}

// fullScan reports whether a plan reads the whole tokens table.
func fullScan(d Dialect, plan string) bool {
	for _, line := range strings.Split(plan, "\n") {
		if d == Postgres && strings.Contains(line, "Seq Scan on tokens") {
			return true
		}
		if d == SQLite && strings.Contains(line, "SCAN t") && !strings.Contains(line, "INDEX") {
			return true
		}
	}
	return false
}

// explain returns the plan of sql: EXPLAIN QUERY PLAN on SQLite, EXPLAIN on
// PostgreSQL with sequential scans priced out, so a plan that still uses
// one has no index to use.
func (s *Store) explain(t *testing.T, ctx context.Context, sql string, args ...any) string {
	t.Helper()
	var lines []string
	err := s.db.WithContext(ctx).Connection(func(tx *gorm.DB) error {
		if s.dialect == Postgres {
			if err := tx.Exec("SET enable_seqscan = off").Error; err != nil {
				return err
			}
			defer tx.Exec("SET enable_seqscan = on")
			rows, err := tx.Raw("EXPLAIN "+sql, args...).Rows()
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var l string
				if err := rows.Scan(&l); err != nil {
					return err
				}
				lines = append(lines, l)
			}
			return rows.Err()
		}
		rows, err := tx.Raw("EXPLAIN QUERY PLAN "+sql, args...).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				return err
			}
			lines = append(lines, detail)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("explain %s: %v", sql, err)
	}
	return strings.Join(lines, "\n")
}
