package models

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

func TestParseUserQueryDefaults(t *testing.T) {
	for _, raw := range []string{"", "sort=&dir=&role=&type=&status=&page=&per_page=&q=", "q=%20%20%20", "unknown=1&x=y"} {
		v, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatal(err)
		}
		q, problems := ParseUserQuery(v)
		if !reflect.DeepEqual(q, DefaultUserQuery()) || len(problems) != 0 {
			t.Errorf("ParseUserQuery(%q) = %+v, %v; want the defaults and no problems", raw, q, problems)
		}
	}
	d := DefaultUserQuery()
	if d.Sort != SortName || d.Desc || d.Status != "active" || d.Page != 1 || d.PerPage != 25 || d.Q != "" || d.Role != "" || d.Kind != "" || d.TeamIDs != nil {
		t.Errorf("DefaultUserQuery() = %+v", d)
	}
	if got := d.Values().Encode(); got != "" {
		t.Errorf("DefaultUserQuery().Values() = %q; want empty", got)
	}
	if n := d.ActiveFilters(); n != 0 {
		t.Errorf("DefaultUserQuery().ActiveFilters() = %d; want 0", n)
	}
}

func TestParseUserQueryValid(t *testing.T) {
	hundred := strings.Repeat("é", 100)
	cases := []struct {
		raw  string
		edit func(q *UserQuery)
	}{
		{"q=++Airflow++", func(q *UserQuery) { q.Q = "Airflow" }},
		{"q=50%25_off", func(q *UserQuery) { q.Q = "50%_off" }},
		{"q=" + url.QueryEscape(hundred), func(q *UserQuery) { q.Q = hundred }},
		{"sort=name", func(q *UserQuery) {}},
		{"sort=created", func(q *UserQuery) { q.Sort = SortCreated }},
		{"sort=last_active", func(q *UserQuery) { q.Sort = SortLastActive }},
		{"sort=role", func(q *UserQuery) { q.Sort = SortRole }},
		{"sort=teams", func(q *UserQuery) { q.Sort = SortTeams }},
		{"sort=type", func(q *UserQuery) { q.Sort = SortType }},
		{"dir=asc", func(q *UserQuery) {}},
		{"dir=desc", func(q *UserQuery) { q.Desc = true }},
		{"role=admin", func(q *UserQuery) { q.Role = RoleAdmin }},
		{"role=manager", func(q *UserQuery) { q.Role = RoleManager }},
		{"role=member", func(q *UserQuery) { q.Role = RoleMember }},
		{"team=3", func(q *UserQuery) { q.TeamIDs = []int64{3} }},
		{"team=3&team=1&team=42", func(q *UserQuery) { q.TeamIDs = []int64{3, 1, 42} }},
		{"type=service", func(q *UserQuery) { q.Kind = KindService }},
		{"type=human", func(q *UserQuery) { q.Kind = KindHuman }},
		{"status=active", func(q *UserQuery) {}},
		{"status=deactivated", func(q *UserQuery) { q.Status = "deactivated" }},
		{"status=all", func(q *UserQuery) { q.Status = "all" }},
		{"page=1", func(q *UserQuery) {}},
		{"page=7", func(q *UserQuery) { q.Page = 7 }},
		{"per_page=25", func(q *UserQuery) {}},
		{"per_page=50", func(q *UserQuery) { q.PerPage = 50 }},
		{"per_page=100", func(q *UserQuery) { q.PerPage = 100 }},
		{"q=bot&sort=teams&dir=desc&role=manager&team=2&type=service&status=all&page=2&per_page=50", func(q *UserQuery) {
			*q = UserQuery{Q: "bot", Sort: SortTeams, Desc: true, Role: RoleManager, TeamIDs: []int64{2}, Kind: KindService, Status: "all", Page: 2, PerPage: 50}
		}},
	}
	for _, c := range cases {
		v, err := url.ParseQuery(c.raw)
		if err != nil {
			t.Fatalf("%q: %v", c.raw, err)
		}
		want := DefaultUserQuery()
		c.edit(&want)
		got, problems := ParseUserQuery(v)
		if !reflect.DeepEqual(got, want) || len(problems) != 0 {
			t.Errorf("ParseUserQuery(%q) = %+v, %v; want %+v and no problems", c.raw, got, problems, want)
		}
	}
}

func TestParseUserQueryInvalid(t *testing.T) {
	cases := []struct {
		param, value string
	}{
		{"sort", "password"},
		{"sort", "name; DROP TABLE users"},
		{"sort", "NAME"},
		{"dir", "sideways"},
		{"dir", "DESC"},
		{"role", "root"},
		{"role", "Admin"},
		{"team", "abc"},
		{"team", "-1"},
		{"team", "0"},
		{"team", "1.5"},
		{"team", "99999999999999999999"},
		{"type", "robot"},
		{"status", "gone"},
		{"page", "0"},
		{"page", "-3"},
		{"page", "abc"},
		{"page", "1e3"},
		{"page", "99999999999999999999"},
		{"per_page", "37"},
		{"per_page", "0"},
		{"per_page", "1000"},
		{"per_page", "abc"},
		{"q", "abc\x00def"},
		{"q", "line\nbreak"},
		{"q", "tab\tbed"},
		{"q", "del\x7f"},
		{"q", "bad\xffutf8"},
		{"q", strings.Repeat("a", 101)},
		{"q", strings.Repeat("é", 101)},
	}
	for _, c := range cases {
		v := url.Values{c.param: {c.value}}
		var (
			got      UserQuery
			problems QueryProblems
		)
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("ParseUserQuery(%s=%q) panicked: %v", c.param, c.value, r)
				}
			}()
			got, problems = ParseUserQuery(v)
		}()
		if !reflect.DeepEqual(got, DefaultUserQuery()) {
			t.Errorf("ParseUserQuery(%s=%.40q) = %+v; want the value dropped and the defaults kept", c.param, c.value, got)
		}
		if len(problems) != 1 || problems[c.param].Reason == "" || problems[c.param].Fallback == "" {
			t.Errorf("ParseUserQuery(%s=%.40q) problems = %v; want one message keyed %q", c.param, c.value, problems, c.param)
		}
		for _, msg := range []string{problems[c.param].Notice(), problems[c.param].Refusal()} {
			if utf8.RuneCountInString(msg) > 120 || strings.ContainsAny(msg, "\x00\n\x7f") {
				t.Errorf("problem message for %s=%.40q is not fit to show: %q", c.param, c.value, msg)
			}
		}
		// The API refuses the request: its message must not say the value
		// was dropped, and the page's must not say the request was refused.
		if msg := problems[c.param].Refusal(); strings.Contains(msg, "ignored") || strings.Contains(msg, "instead") || strings.Contains(msg, "showing") {
			t.Errorf("refusal for %s=%.40q says the value was dropped: %q", c.param, c.value, msg)
		}
		if msg := problems[c.param].Notice(); strings.Contains(msg, "refused") {
			t.Errorf("notice for %s=%.40q says the request was refused: %q", c.param, c.value, msg)
		}
	}

	// A bad team among good ones drops only the bad one.
	q, problems := ParseUserQuery(url.Values{"team": {"3", "abc", "5"}, "sort": {"created"}})
	if !reflect.DeepEqual(q.TeamIDs, []int64{3, 5}) || q.Sort != SortCreated || len(problems) != 1 || problems["team"].Reason == "" {
		t.Errorf("mixed teams = %+v, %v; want teams [3 5], sort created, one team problem", q, problems)
	}
	// Many problems at once are all reported.
	v := url.Values{"sort": {"x"}, "dir": {"x"}, "role": {"x"}, "team": {"x"}, "type": {"x"}, "status": {"x"}, "page": {"x"}, "per_page": {"x"}, "q": {"\x01"}}
	q, problems = ParseUserQuery(v)
	if !reflect.DeepEqual(q, DefaultUserQuery()) || len(problems) != len(v) {
		t.Errorf("all invalid = %+v, %v; want defaults and %d problems", q, problems, len(v))
	}
	// Too many team filters are capped.
	many := url.Values{}
	for i := 1; i <= 30; i++ {
		many.Add("team", fmt.Sprint(i))
	}
	q, problems = ParseUserQuery(many)
	if len(q.TeamIDs) != maxTeamFilters || problems["team"].Reason == "" {
		t.Errorf("30 team filters gave %d teams and problems %v; want %d and a team problem", len(q.TeamIDs), problems, maxTeamFilters)
	}
}

func TestUserQueryValuesRoundTrip(t *testing.T) {
	queries := []UserQuery{
		{Q: "airflow", Sort: SortName, Status: "active", Page: 1, PerPage: 25},
		{Q: "100% sure & more", Sort: SortLastActive, Desc: true, Status: "all", Page: 3, PerPage: 100},
		{Sort: SortRole, Role: RoleAdmin, TeamIDs: []int64{4, 2}, Kind: KindHuman, Status: "deactivated", Page: 1, PerPage: 50},
		{Sort: SortTeams, Desc: true, Kind: KindService, Status: "active", Page: 12, PerPage: 25},
		{Q: "Ünïcödé_x", Sort: SortType, Role: RoleMember, TeamIDs: []int64{1}, Status: "active", Page: 2, PerPage: 100},
	}
	for _, q := range queries {
		v := q.Values()
		back, problems := ParseUserQuery(v)
		if !reflect.DeepEqual(back, q) || len(problems) != 0 {
			t.Errorf("ParseUserQuery(%q) = %+v, %v; want %+v back", v.Encode(), back, problems, q)
		}
		// Re-parsing the encoded string (what a bookmark does) gives it back too.
		parsed, err := url.ParseQuery(v.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := ParseUserQuery(parsed); !reflect.DeepEqual(again, q) {
			t.Errorf("bookmark %q = %+v; want %+v", v.Encode(), again, q)
		}
	}
	// Defaults are left out, key by key.
	only := func(edit func(*UserQuery)) []string {
		q := DefaultUserQuery()
		edit(&q)
		var keys []string
		for k := range q.Values() {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return keys
	}
	checks := []struct {
		edit func(*UserQuery)
		want []string
	}{
		{func(q *UserQuery) { q.Sort = SortCreated }, []string{"sort"}},
		{func(q *UserQuery) { q.Desc = true }, []string{"dir"}},
		{func(q *UserQuery) { q.Page = 2 }, []string{"page"}},
		{func(q *UserQuery) { q.PerPage = 50 }, []string{"per_page"}},
		{func(q *UserQuery) { q.Status = "all" }, []string{"status"}},
		{func(q *UserQuery) { q.Role = RoleManager; q.Kind = KindService }, []string{"role", "type"}},
	}
	for _, c := range checks {
		if got := only(c.edit); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Values keys = %v; want %v", got, c.want)
		}
	}
}

func FuzzParseUserQuery(f *testing.F) {
	for _, seed := range []string{
		"", "q=airflow&sort=created&dir=desc", "sort=name;%20DROP%20TABLE%20users", "team=1&team=-1&team=abc",
		"page=0&per_page=37", "status=gone&type=robot&role=root", "q=%00", "q=%ff%fe", "page=99999999999999999999",
		"per_page=100&page=2&status=all", "q=" + strings.Repeat("x", 150), "dir=DESC&sort=LAST_ACTIVE",
	} {
		f.Add(seed)
	}
	validStatus := map[string]bool{"active": true, "deactivated": true, "all": true}
	params := map[string]bool{"q": true, "sort": true, "dir": true, "role": true, "team": true, "type": true, "status": true, "page": true, "per_page": true}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, problems := ParseUserQuery(v)
		if _, ok := orderBy[q.Sort]; !ok {
			t.Fatalf("Sort %q is not a key of orderBy", q.Sort)
		}
		if !slices.Contains(PerPageChoices, q.PerPage) {
			t.Fatalf("PerPage %d is not offered", q.PerPage)
		}
		if q.Page < 1 {
			t.Fatalf("Page %d < 1", q.Page)
		}
		if !validStatus[q.Status] {
			t.Fatalf("Status %q", q.Status)
		}
		if q.Role != "" && !q.Role.Valid() {
			t.Fatalf("Role %q", q.Role)
		}
		if q.Kind != "" && q.Kind != KindHuman && q.Kind != KindService {
			t.Fatalf("Kind %q", q.Kind)
		}
		if len(q.TeamIDs) > maxTeamFilters {
			t.Fatalf("%d team filters", len(q.TeamIDs))
		}
		for _, id := range q.TeamIDs {
			if id <= 0 {
				t.Fatalf("team id %d", id)
			}
		}
		if !utf8.ValidString(q.Q) || utf8.RuneCountInString(q.Q) > maxQueryChars {
			t.Fatalf("Q %q", q.Q)
		}
		for k := range problems {
			if !params[k] {
				t.Fatalf("problem keyed by %q, which is not a parameter", k)
			}
		}
		// The canonical form is a fixed point.
		back, again := ParseUserQuery(q.Values())
		if !reflect.DeepEqual(back, q) || len(again) != 0 {
			t.Fatalf("round trip of %+v gave %+v, %v", q, back, again)
		}
	})
}

// ---- ListUsers on seeded data ----

type tqSeed struct {
	s     *Store
	clock *testClock
	admin *User
	teams map[string]*Team
	all   []User // every user as stored, after seeding
}

type tqSpec struct {
	name, email string // email "" means a service user
	role        Role
	teams       []string
}

// tqSeedUsers creates 30 active users (the first admin among them) and one
// deactivated service user, in three teams, with distinct and tied creation
// and last-active times.
func tqSeedUsers(t *testing.T) *tqSeed {
	t.Helper()
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	sd := &tqSeed{s: s, clock: clock, teams: map[string]*Team{}}
	sd.admin = mustAdmin(t, s, "ada@example.com")
	for _, n := range []string{"Alpha", "Beta", "Gamma"} {
		sd.teams[n] = lcTeam(t, s, n)
	}
	specs := []tqSpec{
		{"Airflow Service User", "", RoleMember, []string{"Alpha"}},
		{"Backup Bot", "", RoleManager, []string{"Beta"}},
		{"Cron", "", RoleMember, nil},
		{"Deploy Bot", "", RoleAdmin, []string{"Alpha", "Beta"}},
		{"ETL Loader", "", RoleMember, []string{"Gamma"}},
		{"100% sure", "", RoleMember, nil},
		{"under_score", "", RoleManager, []string{"Alpha"}},
		{"Metrics", "", RoleMember, []string{"Alpha", "Beta", "Gamma"}},
		{"Notifier", "", RoleMember, []string{"Beta"}},
		{"Zeta Sync", "", RoleAdmin, nil},
		{"billing exporter", "", RoleMember, []string{"Gamma"}},
		{"Gone Bot", "", RoleMember, []string{"Alpha"}},
		{"Kafka Bridge", "", RoleManager, []string{"Beta", "Gamma"}},
		{"Café Sync", "", RoleMember, nil},
		{"Yardstick", "", RoleMember, []string{"Alpha"}},
		{"Sam Smith", "sam@example.com", RoleMember, []string{"Alpha"}},
		{"sam smith", "Sam.Smith@Example.org", RoleManager, nil},
		{"Olga Owner", "olga@example.org", RoleAdmin, []string{"Beta"}},
		{"Hugo Human", "hugo@example.com", RoleMember, []string{"Gamma"}},
		{"Ivy", "ivy@corp.example.net", RoleManager, []string{"Alpha", "Gamma"}},
		{"Jon", "jon@example.com", RoleMember, nil},
		{"Kim", "kim@example.com", RoleAdmin, []string{"Alpha"}},
		{"Lea", "lea@example.org", RoleMember, []string{"Beta"}},
		{"Max", "max@example.com", RoleMember, nil},
		{"Nia", "nia@example.com", RoleManager, []string{"Alpha", "Beta"}},
		{"Oskar", "oskar@example.com", RoleMember, []string{"Gamma"}},
		{"Pat", "pat@example.com", RoleMember, nil},
		{"Quinn", "quinn@example.com", RoleMember, []string{"Beta"}},
		{"Rae", "rae@example.com", RoleMember, []string{"Alpha"}},
		{"Uma", "uma@example.com", RoleMember, nil},
	}
	byName := map[string]int64{}
	for _, sp := range specs {
		clock.Advance(time.Minute)
		var ids []int64
		for _, tn := range sp.teams {
			ids = append(ids, sd.teams[tn].ID)
		}
		var u *User
		if sp.email == "" {
			u = lcService(t, s, AsUser(sd.admin), NewServiceUser{Name: sp.name, Role: sp.role, TeamIDs: ids})
		} else {
			u, _ = lcHuman(t, s, AsUser(sd.admin), NewHumanUser{Name: sp.name, Email: sp.email, Role: sp.role, TeamIDs: ids})
		}
		byName[sp.name] = u.ID
	}
	if _, err := s.DeactivateUser(ctx, AsUser(sd.admin), byName["Gone Bot"]); err != nil {
		t.Fatal(err)
	}
	base := newTestClock().Now()
	exec := func(sql string, args ...any) {
		t.Helper()
		if err := s.db.Exec(sql, args...).Error; err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// Creation-time ties, broken by id.
	for _, n := range []string{"ETL Loader", "100% sure", "Rae"} {
		exec(`UPDATE users SET created_at = ? WHERE id = ?`, base.Add(5*time.Minute), byName[n])
	}
	// Last activity: some distinct, some tied, the rest never.
	active := map[string]time.Duration{
		"Airflow Service User": 3 * time.Hour, "Cron": 1 * time.Hour, "Deploy Bot": 5 * time.Hour,
		"Metrics": 2 * time.Hour, "Sam Smith": 2 * time.Hour, "Kim": 4 * time.Hour, "Uma": 10 * time.Minute,
		"Olga Owner": 2 * time.Hour, "Gone Bot": 6 * time.Hour,
	}
	for n, d := range active {
		exec(`UPDATE users SET last_active_at = ? WHERE id = ?`, base.Add(d), byName[n])
	}
	if err := s.db.Order("id").Find(&sd.all).Error; err != nil {
		t.Fatal(err)
	}
	if len(sd.all) != 31 {
		t.Fatalf("seeded %d users; want 31", len(sd.all))
	}
	return sd
}

func (sd *tqSeed) teamsOfUser(t *testing.T, id int64) []int64 { return lcMemberships(t, sd.s, id) }

// tqMatches is the oracle for the list filters: what SPEC §4 says each
// parameter selects.
// tqWordsMatch is the oracle for the search: every word of q starts some
// word of hay, both split as searchWords does; a search of no words
// matches nothing.
func tqWordsMatch(hay, q string) bool {
	want, have := searchWords(q), searchWords(hay)
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.HasPrefix(h, w) }) {
			return false
		}
	}
	return len(want) > 0
}

func (sd *tqSeed) tqMatches(t *testing.T, q UserQuery) []int64 {
	var out []int64
	for _, u := range sd.all {
		switch q.Status {
		case "all":
		case "deactivated":
			if u.Status != StatusDeactivated {
				continue
			}
		default:
			if u.Status != StatusActive {
				continue
			}
		}
		if q.Role != "" && u.Role != q.Role {
			continue
		}
		if q.Kind != "" && u.Kind != q.Kind {
			continue
		}
		if len(q.TeamIDs) > 0 {
			in := false
			for _, tid := range sd.teamsOfUser(t, u.ID) {
				in = in || slices.Contains(q.TeamIDs, tid)
			}
			if !in {
				continue
			}
		}
		if q.Q != "" {
			hay := []string{u.Name}
			if u.UserID != nil {
				hay = append(hay, *u.UserID)
			}
			if u.Email != nil {
				hay = append(hay, *u.Email)
			}
			if !tqWordsMatch(strings.Join(hay, " "), q.Q) {
				continue
			}
		}
		out = append(out, u.ID)
	}
	return lcSortedIDs(out)
}

func tqList(t *testing.T, s *Store, q UserQuery) UserPage {
	t.Helper()
	p, err := s.ListUsers(context.Background(), q)
	if err != nil {
		t.Fatalf("ListUsers(%+v): %v", q, err)
	}
	return p
}

func tqIDs(p UserPage) []int64 {
	ids := make([]int64, len(p.Rows))
	for i, r := range p.Rows {
		ids[i] = r.ID
	}
	return ids
}

func tqAll(q UserQuery) UserQuery {
	q.PerPage, q.Page = 100, 1
	if q.Sort == "" {
		q.Sort = SortName
	}
	return q
}

func TestListUsersFilters(t *testing.T) {
	sd := tqSeedUsers(t)
	alpha, beta, gamma := sd.teams["Alpha"].ID, sd.teams["Beta"].ID, sd.teams["Gamma"].ID
	d := DefaultUserQuery()
	with := func(edit func(*UserQuery)) UserQuery {
		q := d
		edit(&q)
		return q
	}
	cases := []struct {
		what string
		q    UserQuery
		n    int // expected count, as a check on the oracle itself
	}{
		{"default", d, 30},
		{"deactivated", with(func(q *UserQuery) { q.Status = "deactivated" }), 1},
		{"all", with(func(q *UserQuery) { q.Status = "all" }), 31},
		{"admins", with(func(q *UserQuery) { q.Role = RoleAdmin }), 5},
		{"managers", with(func(q *UserQuery) { q.Role = RoleManager }), 6},
		{"service", with(func(q *UserQuery) { q.Kind = KindService }), 14},
		{"human", with(func(q *UserQuery) { q.Kind = KindHuman }), 16},
		{"team alpha", with(func(q *UserQuery) { q.TeamIDs = []int64{alpha} }), 10},
		{"team alpha or gamma", with(func(q *UserQuery) { q.TeamIDs = []int64{alpha, gamma} }), 15},
		{"team beta or gamma, all", with(func(q *UserQuery) { q.TeamIDs = []int64{beta, gamma}; q.Status = "all" }), 14},
		{"team public", with(func(q *UserQuery) { q.TeamIDs = []int64{PublicTeamID} }), 30},
		{"unknown team", with(func(q *UserQuery) { q.TeamIDs = []int64{9999} }), 0},
		{"filters combine with AND", with(func(q *UserQuery) { q.Role = RoleManager; q.Kind = KindHuman; q.TeamIDs = []int64{alpha} }), 2},
		{"search name, any case", with(func(q *UserQuery) { q.Q = "AIRFLOW" }), 1},
		{"search user_id", with(func(q *UserQuery) { q.Q = "kafka_bridge@service" }), 1},
		{"search all user_ids", with(func(q *UserQuery) { q.Q = "@SERVICE" }), 14},
		{"search email", with(func(q *UserQuery) { q.Q = "Example.ORG" }), 3},
		{"search email across name", with(func(q *UserQuery) { q.Q = "sam" }), 2},
		{"search non-ASCII", with(func(q *UserQuery) { q.Q = "CAFÉ" }), 1},
		{"search punctuation only", with(func(q *UserQuery) { q.Q = "%" }), 0},
		{"search percent in text", with(func(q *UserQuery) { q.Q = "100%" }), 1},
		{"search underscore", with(func(q *UserQuery) { q.Q = "_" }), 0},
		{"search words split at underscores", with(func(q *UserQuery) { q.Q = "under_sc" }), 1},
		{"search word prefix", with(func(q *UserQuery) { q.Q = "air" }), 1},
		{"search inside a word finds nothing", with(func(q *UserQuery) { q.Q = "flow" }), 0},
		{"search without the accent", with(func(q *UserQuery) { q.Q = "cafe" }), 1},
		{"search words in any order", with(func(q *UserQuery) { q.Q = "SYNC caf" }), 1},
		{"search every word must match", with(func(q *UserQuery) { q.Q = "sam nobody" }), 0},
		{"search backslash", with(func(q *UserQuery) { q.Q = `\` }), 0},
		{"search deactivated", with(func(q *UserQuery) { q.Q = "gone"; q.Status = "all" }), 1},
		{"search hidden by status", with(func(q *UserQuery) { q.Q = "gone" }), 0},
		{"search with quotes", with(func(q *UserQuery) { q.Q = `'; DROP TABLE users; --` }), 0},
	}
	for _, c := range cases {
		want := sd.tqMatches(t, c.q)
		if len(want) != c.n {
			t.Fatalf("%s: the oracle selects %d users, the case expects %d: fix the test", c.what, len(want), c.n)
		}
		p := tqList(t, sd.s, tqAll(c.q))
		if got := lcSortedIDs(tqIDs(p)); !reflect.DeepEqual(got, want) || p.Total != int64(len(want)) {
			t.Errorf("%s: ListUsers = %v (total %d); want %v (total %d)", c.what, got, p.Total, want, len(want))
		}
	}
	if n := lcCount(t, sd.s, `SELECT COUNT(*) FROM users`); n != 31 {
		t.Errorf("%d users after the searches; want 31", n)
	}
}

// tqLess is the oracle for the list order. Name, Created and Last active
// break ties by id in the same direction; Role, Teams and Type fall back to
// the name (A→Z, ASCII case-insensitive, as SQLite's NOCASE) and then the id,
// whatever the direction. "Never" active always sorts last.
func tqLess(key string, desc bool, next map[int64]time.Time) func(a, b User) int {
	dir := func(c int) int {
		if desc {
			return -c
		}
		return c
	}
	byName := func(a, b User) int {
		return cmp.Or(cmp.Compare(tqFold(a.Name), tqFold(b.Name)), cmp.Compare(a.ID, b.ID))
	}
	roleRank := map[Role]int{RoleAdmin: 0, RoleManager: 1, RoleMember: 2}
	return func(a, b User) int {
		switch key {
		case SortName:
			return dir(cmp.Or(cmp.Compare(tqFold(a.Name), tqFold(b.Name)), cmp.Compare(a.ID, b.ID)))
		case SortCreated:
			return dir(cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID)))
		case SortLastActive:
			switch {
			case a.LastActiveAt == nil && b.LastActiveAt != nil:
				return 1
			case a.LastActiveAt != nil && b.LastActiveAt == nil:
				return -1
			case a.LastActiveAt == nil && b.LastActiveAt == nil:
				return dir(cmp.Compare(a.ID, b.ID))
			}
			return dir(cmp.Or(a.LastActiveAt.Compare(*b.LastActiveAt), cmp.Compare(a.ID, b.ID)))
		case SortRole:
			return cmp.Or(dir(cmp.Compare(roleRank[a.Role], roleRank[b.Role])), byName(a, b))
		case SortTeams:
			return cmp.Or(dir(cmp.Compare(a.TeamCount, b.TeamCount)), byName(a, b))
		case SortType:
			return cmp.Or(dir(cmp.Compare(a.Kind, b.Kind)), byName(a, b))
		case SortNextExpiry:
			na, oka := next[a.ID]
			nb, okb := next[b.ID]
			switch {
			case !oka && okb:
				return 1
			case oka && !okb:
				return -1
			case !oka && !okb:
				return dir(cmp.Compare(a.ID, b.ID))
			}
			return dir(cmp.Or(na.Compare(nb), cmp.Compare(a.ID, b.ID)))
		}
		panic("unknown sort key " + key)
	}
}

// tqFold lower-cases ASCII letters only, like SQLite's NOCASE collation.
func tqFold(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func TestListUsersSort(t *testing.T) {
	sd := tqSeedUsers(t)
	var active []User
	for _, u := range sd.all {
		if u.Status == StatusActive {
			active = append(active, u)
		}
	}
	names := map[int64]string{}
	for _, u := range sd.all {
		names[u.ID] = u.Name
	}
	show := func(ids []int64) string {
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = fmt.Sprintf("%s#%d", names[id], id)
		}
		return strings.Join(parts, ", ")
	}
	// Tokens for the next-expiry order: ties, a revoked one and an expired
	// one (neither counts), and users with none.
	now, day := sd.clock.Now(), 24*time.Hour
	next := map[int64]time.Time{}
	for i, u := range active {
		if u.Kind != KindService || i%4 == 3 {
			continue
		}
		days := []int{5, 9, 5, 30}[i%4]
		tok, _ := mustToken(t, sd.s, u.ID, "t", Expiry{Days: days})
		next[u.ID] = *tok.ExpiresAt
		if i%3 == 0 { // a sooner token, revoked
			gone, _ := mustToken(t, sd.s, u.ID, "gone", Expiry{Days: 1})
			if _, err := sd.s.RevokeToken(context.Background(), System, gone.ID); err != nil {
				t.Fatal(err)
			}
		}
		if i%5 == 0 { // a sooner token, expired
			old, _ := mustToken(t, sd.s, u.ID, "old", Expiry{Days: 1})
			if err := sd.s.db.Exec("UPDATE tokens SET expires_at = ? WHERE id = ?", now.Add(-day), old.ID).Error; err != nil {
				t.Fatal(err)
			}
		}
	}
	for key := range orderBy {
		for _, desc := range []bool{false, true} {
			want := slices.Clone(active)
			slices.SortFunc(want, tqLess(key, desc, next))
			wantIDs := make([]int64, len(want))
			for i, u := range want {
				wantIDs[i] = u.ID
			}
			q := DefaultUserQuery()
			q.Sort, q.Desc, q.PerPage = key, desc, 100
			got := tqIDs(tqList(t, sd.s, q))
			if !reflect.DeepEqual(got, wantIDs) {
				t.Errorf("sort=%s desc=%v:\n got %s\nwant %s", key, desc, show(got), show(wantIDs))
			}
			// Paging walks the same order without gaps or repeats.
			q.PerPage = 25
			var paged []int64
			for q.Page = 1; q.Page <= 2; q.Page++ {
				paged = append(paged, tqIDs(tqList(t, sd.s, q))...)
			}
			if !reflect.DeepEqual(paged, wantIDs) {
				t.Errorf("sort=%s desc=%v: pages 1+2 = %s; want %s", key, desc, show(paged), show(wantIDs))
			}
		}
	}

	// Never-active users come last in both directions.
	for _, desc := range []bool{false, true} {
		q := DefaultUserQuery()
		q.Sort, q.Desc, q.PerPage = SortLastActive, desc, 100
		rows := tqList(t, sd.s, q).Rows
		seenNever := false
		for _, r := range rows {
			if r.LastActiveAt == nil {
				seenNever = true
			} else if seenNever {
				t.Errorf("desc=%v: %q (active %v) comes after a never-active user", desc, r.Name, r.LastActiveAt)
			}
		}
		if !seenNever || rows[0].LastActiveAt == nil {
			t.Errorf("desc=%v: seed data should have active and never-active users at the ends", desc)
		}
	}

	// A sort key that did not come through ParseUserQuery never reaches SQL.
	q := DefaultUserQuery()
	q.Sort, q.PerPage = "name; DROP TABLE users", 100
	got := tqIDs(tqList(t, sd.s, q))
	q.Sort = SortName
	if want := tqIDs(tqList(t, sd.s, q)); !reflect.DeepEqual(got, want) {
		t.Errorf("unknown sort key: order %v; want the name order %v", got, want)
	}
}

func TestListUsersPagingAndTeams(t *testing.T) {
	sd := tqSeedUsers(t)
	q := DefaultUserQuery()
	p1 := tqList(t, sd.s, q)
	q.Page = 2
	p2 := tqList(t, sd.s, q)
	if len(p1.Rows) != 25 || len(p2.Rows) != 5 || p1.Total != 30 || p2.Total != 30 {
		t.Fatalf("page 1: %d rows (total %d), page 2: %d rows (total %d); want 25, 5, total 30", len(p1.Rows), p1.Total, len(p2.Rows), p2.Total)
	}
	if p1.Pages() != 2 || p2.Pages() != 2 {
		t.Errorf("Pages() = %d/%d; want 2", p1.Pages(), p2.Pages())
	}
	if !reflect.DeepEqual(p2.Query, q) {
		t.Errorf("page.Query = %+v; want %+v", p2.Query, q)
	}
	q.Page = 3
	if p3 := tqList(t, sd.s, q); len(p3.Rows) != 0 || p3.Total != 30 {
		t.Errorf("page past the end: %d rows, total %d; want 0, 30", len(p3.Rows), p3.Total)
	}
	q.Page, q.PerPage = 1, 50
	if p := tqList(t, sd.s, q); len(p.Rows) != 30 || p.Pages() != 1 {
		t.Errorf("per_page 50: %d rows, %d pages; want 30, 1", len(p.Rows), p.Pages())
	}

	teamName := map[int64]string{PublicTeamID: "Public"}
	for _, tm := range sd.teams {
		teamName[tm.ID] = tm.Name
	}
	for _, r := range append(p1.Rows, p2.Rows...) {
		var named []TeamRef
		for _, id := range sd.teamsOfUser(t, r.ID) {
			if id != PublicTeamID {
				named = append(named, TeamRef{ID: id, Name: teamName[id]})
			}
		}
		slices.SortFunc(named, func(a, b TeamRef) int { return cmp.Compare(tqFold(a.Name), tqFold(b.Name)) })
		want := append(named, TeamRef{ID: PublicTeamID, Name: "Public", Builtin: true})
		if !reflect.DeepEqual(r.Teams, want) {
			t.Errorf("%q: Teams = %+v; want %+v", r.Name, r.Teams, want)
		}
		if r.TeamCount != len(r.Teams) {
			t.Errorf("%q: team_count %d but %d teams", r.Name, r.TeamCount, len(r.Teams))
		}
	}

	pages := []struct {
		total   int64
		perPage int
		want    int
	}{{0, 25, 1}, {1, 25, 1}, {25, 25, 1}, {26, 25, 2}, {100, 50, 2}, {101, 100, 2}, {7, 0, 1}}
	for _, c := range pages {
		p := UserPage{Total: c.total, Query: UserQuery{PerPage: c.perPage}}
		if got := p.Pages(); got != c.want {
			t.Errorf("Pages(total %d, per page %d) = %d; want %d", c.total, c.perPage, got, c.want)
		}
	}
}

// TestListUsersQueryCount checks there is no query per row: a page of 25
// costs as many statements as a page of 5. Statements are counted with GORM
// callbacks on every processor ListUsers can go through (Raw().Scan runs the
// Row callbacks).
func TestListUsersQueryCount(t *testing.T) {
	sd := tqSeedUsers(t)
	var (
		on    atomic.Bool
		count atomic.Int64
		mu    sync.Mutex
		sqls  []string
	)
	recordSQL := func(sql string) {
		if !on.Load() {
			return
		}
		count.Add(1)
		mu.Lock()
		sqls = append(sqls, strings.Join(strings.Fields(sql), " "))
		mu.Unlock()
	}
	record := func(db *gorm.DB) {
		if !db.DryRun { // a subquery being built, not run
			recordSQL(db.Statement.SQL.String())
		}
	}
	cb := sd.s.db.Callback()
	for _, err := range []error{
		cb.Query().After("gorm:query").Register("test:count_query", record),
		cb.Row().After("gorm:row").Register("test:count_row", record),
		cb.Raw().After("gorm:raw").Register("test:count_raw", record),
	} {
		if err != nil {
			t.Fatalf("register callback: %v", err)
		}
	}
	measure := func(q UserQuery) (int, int64, []string) {
		t.Helper()
		count.Store(0)
		sqls = nil
		on.Store(true)
		p := tqList(t, sd.s, q)
		on.Store(false)
		return len(p.Rows), count.Load(), slices.Clone(sqls)
	}

	// Sanity: the counter sees the statements of a method with a known count.
	on.Store(true)
	if _, err := sd.s.UserByID(context.Background(), sd.admin.ID); err != nil {
		t.Fatal(err)
	}
	on.Store(false)
	if count.Load() != 1 {
		t.Fatalf("counting callbacks saw %d statements for UserByID; want 1", count.Load())
	}

	q := DefaultUserQuery()
	rows25, n25, sql25 := measure(q)
	q.Page = 2
	rows5, n5, sql5 := measure(q)
	if rows25 != 25 || rows5 != 5 {
		t.Fatalf("pages have %d and %d rows; want 25 and 5", rows25, rows5)
	}
	if n25 != n5 {
		t.Errorf("a page of 25 costs %d statements, a page of 5 costs %d: a query per row?\n25: %q\n5: %q", n25, n5, sql25, sql5)
	}
	// The page's ids, the count, the rows, their teams, their tokens.
	if n25 != 5 {
		t.Errorf("ListUsers ran %d statements; want the page's ids, the count, the rows, their teams and tokens:\n%q", n25, sql25)
	}
	// One team: its count, the base's count (is the team dense?), then as
	// above; a search counts with the ids.
	q = DefaultUserQuery()
	q.TeamIDs = []int64{sd.teams["Alpha"].ID}
	if _, n, sqls := measure(q); n != 6 {
		t.Errorf("a team filter ran %d statements; want 6:\n%q", n, sqls)
	}
	q = DefaultUserQuery()
	q.Q = "a"
	if _, n, sqls := measure(q); n != 4 {
		t.Errorf("a search ran %d statements; want 4:\n%q", n, sqls)
	}
	// A row says whether a password is set ('' for the hash), never what.
	withPassword := 0
	for _, r := range tqList(t, sd.s, DefaultUserQuery()).Rows {
		if r.PasswordHash != nil && *r.PasswordHash != "" {
			t.Fatalf("a list row carries a password hash: %+v", r.User)
		}
		if r.PasswordHash != nil {
			withPassword++
		}
	}
	if withPassword == 0 {
		t.Error("no list row says its user has a password")
	}
}

// TestListUsersOneTeamEitherWay: a one-team page is read through the sort
// order's index when the team holds one in 40 of the users or more, and
// read first then sorted when it holds fewer; both give the team's members
// in order with their exact total, past the end included.
func TestListUsersOneTeamEitherWay(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	admin := AsUser(mustAdmin(t, s, "ada@example.com"))
	tiny, err := s.CreateTeam(ctx, admin, TeamInput{Name: "Tiny"})
	if err != nil {
		t.Fatal(err)
	}
	big, err := s.CreateTeam(ctx, admin, TeamInput{Name: "Big"})
	if err != nil {
		t.Fatal(err)
	}
	var inTiny, inBig []string
	for i := range 45 {
		in := NewServiceUser{Name: fmt.Sprintf("Member %02d", 44-i), Role: RoleMember, TeamIDs: []int64{big.ID}}
		if i == 7 {
			in.TeamIDs = append(in.TeamIDs, tiny.ID)
			inTiny = append(inTiny, in.Name)
		}
		if _, err := s.CreateServiceUser(ctx, admin, in); err != nil {
			t.Fatal(err)
		}
		inBig = append(inBig, in.Name)
	}
	slices.Sort(inBig)
	for _, c := range []struct {
		team  int64
		dense bool
		want  []string
		total int64
	}{{tiny.ID, false, inTiny, 1}, {big.ID, true, inBig[:25], 45}} {
		q := DefaultUserQuery()
		q.TeamIDs = []int64{c.team}
		base, args := s.userBase(q)
		n, err := s.countUsers(ctx, q.TeamIDs, base, args)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.denseTeam(ctx, n, base, args); got != c.dense {
			t.Fatalf("team %d of %d members: dense %v, want %v", c.team, n, got, c.dense)
		}
		p := tqList(t, s, q)
		var names []string
		for _, r := range p.Rows {
			names = append(names, r.Name)
		}
		if !slices.Equal(names, c.want) || p.Total != c.total {
			t.Errorf("team %d (dense %v): %v, total %d; want %v", c.team, c.dense, names, p.Total, c.want)
		}
		q.Page = 9
		if p := tqList(t, s, q); len(p.Rows) != 0 || p.Total != n {
			t.Errorf("team %d, past the end: %d rows, total %d; want none, %d", c.team, len(p.Rows), p.Total, n)
		}
	}
}
