package models

// Benchmarks of the audit log and the Users list on a large seeded database
// (issue 5 item 6, issue 7 item 1): `make bench`. Sizes come from
// WARDEN_BENCH_EVENTS (default 1,000,000) and WARDEN_BENCH_USERS (default
// 100,000). The database is seeded once per test binary run and shared by
// every benchmark; it lives in a warden-models-bench-* directory under the
// system temporary directory, which the next run removes once its process
// is gone.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	benchTeams      = 50
	benchDeepEvents = 10_000
)

func benchSize(tb testing.TB, env string, def int) int {
	tb.Helper()
	s := os.Getenv(env)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q is not a positive number", env, s)
	}
	return n
}

var benchDB struct {
	mu          sync.Mutex
	store       *Store
	teams       []int64
	users       int
	usersSeeded bool
	events      int
	eventsDone  bool
}

// removeStaleBenchDirs deletes the databases of earlier runs whose process
// has ended.
func removeStaleBenchDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "warden-models-bench-*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if p, err := os.FindProcess(pid); err == nil {
			if err := p.Signal(syscall.Signal(0)); err == nil || errors.Is(err, syscall.EPERM) {
				continue // still running
			}
		}
		_ = os.RemoveAll(dir)
	}
}

// benchStore returns the shared benchmark store with its users seeded; with
// events it also holds the audit log. The mutex makes the first caller seed
// and every later one reuse the result.
func benchStore(b *testing.B, events bool) *Store {
	b.Helper()
	benchDB.mu.Lock()
	defer benchDB.mu.Unlock()
	if benchDB.store == nil {
		removeStaleBenchDirs()
		dir, err := os.MkdirTemp("", "warden-models-bench-")
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "pid"), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
			b.Fatal(err)
		}
		s, err := OpenSQLite(context.Background(), filepath.Join(dir, "warden.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("benchmark database: %s", filepath.Join(dir, "warden.db"))
		benchDB.store = s
	}
	if !benchDB.usersSeeded {
		benchDB.users = benchSize(b, "WARDEN_BENCH_USERS", 100_000)
		benchDB.teams = seedUsers(b, benchDB.store, benchDB.users, benchTeams)
		benchDB.usersSeeded = true
	}
	if events && !benchDB.eventsDone {
		benchDB.events = benchSize(b, "WARDEN_BENCH_EVENTS", 1_000_000)
		seedAudit(b, benchDB.store, benchDB.events, benchDB.users)
		benchDB.eventsDone = true
	}
	return benchDB.store
}

// measure times fn over b.N calls and reports milliseconds per call too.
func measure(b *testing.B, fn func(ctx context.Context) error) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := fn(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/op")
}

// listAudit is one timed page that must come back full.
func listAudit(s *Store, q AuditQuery) func(context.Context) error {
	return func(ctx context.Context) error {
		page, err := s.ListAudit(ctx, q)
		if err != nil {
			return err
		}
		if len(page.Events) != AuditPageSize {
			return errors.New("short page: " + strconv.Itoa(len(page.Events)) + " events")
		}
		return nil
	}
}

func scalar[T any](b *testing.B, s *Store, sql string, args ...any) T {
	b.Helper()
	var v T
	if err := s.db.Raw(sql, args...).Row().Scan(&v); err != nil {
		b.Fatalf("%s: %v", sql, err)
	}
	return v
}

func BenchmarkAuditFirstPage(b *testing.B) {
	s := benchStore(b, true)
	measure(b, listAudit(s, AuditQuery{Limit: AuditPageSize}))
}

// BenchmarkAuditFiltered is one actor and one action: the busiest actor with
// its most frequent action (the page fills at once), and the same actor
// with an action it rarely performs (the worst case for either index).
func BenchmarkAuditFiltered(b *testing.B) {
	s := benchStore(b, true)
	actor := scalar[int64](b, s, `SELECT actor_id FROM audit_events WHERE actor_id IS NOT NULL
		GROUP BY actor_id ORDER BY COUNT(*) DESC LIMIT 1`)
	var counts []struct {
		Action string
		N      int64
	}
	if err := s.db.Raw(`SELECT action, COUNT(*) AS n FROM audit_events WHERE actor_id = ?
		GROUP BY action HAVING COUNT(*) > ? ORDER BY n DESC`, actor, AuditPageSize).Scan(&counts).Error; err != nil {
		b.Fatal(err)
	}
	if len(counts) == 0 {
		b.Fatalf("actor %d has no action with more than a page of events", actor)
	}
	// The sub-benchmark names carry the action and how often the actor did it.
	for _, c := range []struct {
		name   string
		action string
		n      int64
	}{{"common", counts[0].Action, counts[0].N}, {"rare", counts[len(counts)-1].Action, counts[len(counts)-1].N}} {
		b.Run(fmt.Sprintf("busiest_actor/%s_action=%s_x%d", c.name, c.action, c.n), func(b *testing.B) {
			measure(b, listAudit(s, AuditQuery{ActorID: actor, Actions: []string{c.action}, Limit: AuditPageSize}))
		})
	}
}

// BenchmarkAuditDeep is the page 10,000 events deep, reached with the keyset
// cursor a user following "Older" would hold: unfiltered, and within one
// action.
func BenchmarkAuditDeep(b *testing.B) {
	s := benchStore(b, true)
	before := scalar[int64](b, s, `SELECT id FROM audit_events ORDER BY id DESC LIMIT 1 OFFSET ?`, benchDeepEvents-1)
	b.Run("all", func(b *testing.B) {
		measure(b, listAudit(s, AuditQuery{Before: before, Limit: AuditPageSize}))
	})
	action := "token.create"
	beforeAction := scalar[int64](b, s, `SELECT id FROM audit_events WHERE action = ? ORDER BY id DESC LIMIT 1 OFFSET ?`, action, benchDeepEvents-1)
	b.Run("one_action", func(b *testing.B) {
		measure(b, listAudit(s, AuditQuery{Actions: []string{action}, Before: beforeAction, Limit: AuditPageSize}))
	})
}

// BenchmarkAuditQuickRange is the first page under a quick date range (the
// range becomes an id range, looked up from occurred_at first).
func BenchmarkAuditQuickRange(b *testing.B) {
	s := benchStore(b, true)
	for _, r := range []string{"24h", "30d"} {
		b.Run(r, func(b *testing.B) {
			measure(b, listAudit(s, AuditQuery{Range: r, From: s.Now().Add(-AuditRanges[r]), Limit: AuditPageSize}))
		})
	}
}

// BenchmarkAuditSummary30d is the audit page's cards and chart for the last
// 30 days, answered as the console does (the per-day counts, topActor), and
// each device left out in the same run: the events counted instead of the
// per-day counts, and every actor's days summed instead of topActor.
func BenchmarkAuditSummary30d(b *testing.B) {
	s := benchStore(b, true)
	q := AuditQuery{From: s.Now().Add(-30 * 24 * time.Hour)}
	nonEmpty := func(sum AuditSummary, err error) error {
		if err == nil && (sum.Total == 0 || sum.TopActor == "") {
			err = errors.New("no events in the last 30 days")
		}
		return err
	}
	b.Run("per-day_counts", func(b *testing.B) {
		measure(b, func(ctx context.Context) error { return nonEmpty(s.SummarizeAudit(ctx, q)) })
	})
	b.Run("without_per-day_counts", func(b *testing.B) {
		measure(b, func(ctx context.Context) error { return nonEmpty(s.summarizeFromEvents(ctx, q, AuditSummary{})) })
	})
	from := q.From.UTC().Format("2006-01-02")
	b.Run("top_actor", func(b *testing.B) {
		measure(b, func(ctx context.Context) error {
			_, _, err := s.topActor(ctx, "audit_daily_actors", "day BETWEEN ? AND ?", []any{from, "9999-99-99"},
				s.Now().UTC().Format("2006-01-02"), "day", "c.day = d.day")
			return err
		})
	})
	b.Run("without_top_actor", func(b *testing.B) {
		measure(b, func(ctx context.Context) error {
			var top struct {
				Label string
				N     int64
			}
			return s.db.WithContext(ctx).Raw(`SELECT actor_label AS label, SUM(n) AS n FROM audit_daily_actors WHERE day BETWEEN ? AND ?
				GROUP BY actor_kind, actor_id, actor_label ORDER BY n DESC, label LIMIT 1`, from, "9999-99-99").Scan(&top).Error
		})
	})
}

// BenchmarkUserCounts is the Users page's overview and total: from
// user_counts, and in the same run counted from the users table; and a
// page of one team's members with its total from team_counts, and counted
// from the members in the same pass as without team_counts.
func BenchmarkUserCounts(b *testing.B) {
	s := benchStore(b, false)
	q := DefaultUserQuery()
	base, args := s.userBase(q)
	b.Run("user_counts", func(b *testing.B) {
		measure(b, func(ctx context.Context) error {
			if _, err := s.Overview(ctx); err != nil {
				return err
			}
			_, err := s.countUsers(ctx, nil, base, args)
			return err
		})
	})
	b.Run("without_user_counts", func(b *testing.B) {
		measure(b, func(ctx context.Context) error {
			var o Overview
			if err := s.db.WithContext(ctx).Raw(`SELECT
				COALESCE(SUM(CASE WHEN kind = 'human' AND role = 'admin' AND status = 'active' THEN 1 ELSE 0 END), 0) AS active_admins,
				COALESCE(SUM(CASE WHEN kind = 'human' AND status = 'active' THEN 1 ELSE 0 END), 0) AS active_humans,
				COALESCE(SUM(CASE WHEN kind = 'service' AND status = 'active' THEN 1 ELSE 0 END), 0) AS active_services,
				COALESCE(SUM(CASE WHEN status = 'deactivated' THEN 1 ELSE 0 END), 0) AS deactivated,
				(SELECT COUNT(*) FROM teams) AS teams FROM users`).Scan(&o).Error; err != nil {
				return err
			}
			var n int64
			return s.db.WithContext(ctx).Table("users AS u").Where(base, args...).Count(&n).Error
		})
	})
	q.TeamIDs = []int64{benchDB.teams[len(benchDB.teams)/2]}
	b.Run("team_counts", func(b *testing.B) { measure(b, listUsers(s, q)) })
	b.Run("without_team_counts", func(b *testing.B) {
		measure(b, func(ctx context.Context) error {
			var hits []struct{ ID, Total int64 }
			return s.db.WithContext(ctx).Raw(`SELECT u.id, COUNT(*) OVER () AS total FROM users AS u WHERE `+base+`
				AND u.id IN (SELECT ut.user_id FROM user_teams ut WHERE ut.team_id IN ?) ORDER BY `+orderBy[SortName](s.dialect, "ASC")+` LIMIT 25`,
				append(slices.Clip(args), q.TeamIDs)...).Scan(&hits).Error
		})
	})
}

func listUsers(s *Store, q UserQuery) func(context.Context) error {
	return func(ctx context.Context) error {
		page, err := s.ListUsers(ctx, q)
		if err == nil && len(page.Rows) == 0 {
			err = errors.New("empty page")
		}
		return err
	}
}

func BenchmarkUsersListDefault(b *testing.B) {
	s := benchStore(b, false)
	measure(b, listUsers(s, DefaultUserQuery()))
}

func BenchmarkUsersListLastActive(b *testing.B) {
	s := benchStore(b, false)
	q := DefaultUserQuery()
	q.Sort, q.Desc = SortLastActive, true
	measure(b, listUsers(s, q))
}

func BenchmarkUsersListTeam(b *testing.B) {
	s := benchStore(b, false)
	q := DefaultUserQuery()
	q.TeamIDs = []int64{benchDB.teams[len(benchDB.teams)/2]}
	measure(b, listUsers(s, q))
}

func BenchmarkUsersListSearch(b *testing.B) {
	s := benchStore(b, false)
	q := DefaultUserQuery()
	q.Q = "bot 4"
	measure(b, listUsers(s, q))
}

// TestAuditVerifySeeded shows the seeding writes what the store would: an
// intact hash chain (also after the store appends to it), ids in time order,
// the mix of outcomes, and users whose team_count and search_text match.
// 20,000 events by default; WARDEN_BENCH_EVENTS checks the benchmark size.
func TestAuditVerifySeeded(t *testing.T) {
	sqliteOnly(t) // the bulk seeding writes SQLite's files directly
	s := openTestStore(t)
	ctx := context.Background()
	const users = 2000
	teams := seedUsers(t, s, users, 10)
	n := 20_000
	if os.Getenv("WARDEN_BENCH_EVENTS") != "" {
		n = benchSize(t, "WARDEN_BENCH_EVENTS", n)
	}
	indexes := func() (defs string) {
		s.db.Raw(`SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_master
			WHERE tbl_name = 'audit_events' AND sql IS NOT NULL ORDER BY name)`).Scan(&defs)
		return defs
	}
	schema := indexes()
	seedAudit(t, s, n, users)
	if got := indexes(); got != schema {
		t.Errorf("the log's indexes and triggers changed while seeding:\n%s\nwant\n%s", got, schema)
	}
	admin := mustAdmin(t, s, "ada@example.com") // the store appends to the seeded chain

	start := time.Now()
	res, err := s.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || res.Checked != int64(n)+1 {
		t.Fatalf("verify: %+v, want OK with %d seeded events and the admin's", res, n)
	}
	t.Logf("verified %d events in %v", res.Checked, time.Since(start).Round(time.Millisecond))
	if _, err := s.CreateTeam(ctx, AsUser(admin), TeamInput{Name: "After the seed"}); err != nil {
		t.Fatal(err)
	}
	if res, err := s.VerifyAudit(ctx); err != nil || !res.OK() || res.Checked != int64(n)+2 {
		t.Fatalf("verify after another store write: %+v, %v", res, err)
	}
	// Seeded times are stored in the very form the store writes.
	var otherForm int64
	s.db.Raw(`SELECT COUNT(*) FROM audit_events
		WHERE occurred_at NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00'`).Scan(&otherForm)
	if otherForm != 0 {
		t.Errorf("%d events have occurred_at in another form than the store's", otherForm)
	}

	var disordered int64
	s.db.Raw(`SELECT COUNT(*) FROM audit_events a JOIN audit_events b ON b.id = a.id + 1
		WHERE b.occurred_at < a.occurred_at`).Scan(&disordered)
	if disordered != 0 {
		t.Errorf("%d events are older than the event before them", disordered)
	}
	var outcomes []struct {
		Outcome string
		N       int64
	}
	s.db.Raw(`SELECT outcome, COUNT(*) AS n FROM audit_events GROUP BY outcome`).Scan(&outcomes)
	for _, o := range outcomes {
		share := float64(o.N) / float64(n)
		want := map[string]float64{OutcomeSuccess: 0.80, OutcomeDenied: 0.15, OutcomeFailed: 0.05}[o.Outcome]
		if share < want-0.04 || share > want+0.04 {
			t.Errorf("%s: %.1f%% of events, want about %.0f%%", o.Outcome, 100*share, 100*want)
		}
	}
	var kinds []string
	s.db.Raw(`SELECT DISTINCT actor_kind FROM audit_events ORDER BY 1`).Scan(&kinds)
	if strings.Join(kinds, ",") != "anonymous,human,service,system" {
		t.Errorf("actor kinds %v", kinds)
	}
	var first, last time.Time
	s.db.Raw(`SELECT occurred_at FROM audit_events WHERE id = 1`).Scan(&first)
	s.db.Raw(`SELECT occurred_at FROM audit_events WHERE id = ?`, n).Scan(&last)
	if span := last.Sub(first); span < 300*24*time.Hour || last.After(s.Now()) {
		t.Errorf("events span %v to %v; want most of the last year", first, last)
	}
	// The audit page and its summary work on the seeded log.
	page, err := s.ListAudit(ctx, AuditQuery{Limit: AuditPageSize, Range: "30d", From: s.Now().Add(-30 * 24 * time.Hour)})
	if err != nil || len(page.Events) != AuditPageSize || page.NextBefore == 0 {
		t.Fatalf("first page of 30 days: %d events, next %d, %v", len(page.Events), page.NextBefore, err)
	}
	if sum, err := s.SummarizeAudit(ctx, AuditQuery{}); err != nil || sum.Total < int64(n)/20 || len(sum.Days) < 25 {
		t.Fatalf("summary of the last 30 days: %+v, %v", sum, err)
	}

	// Users: counts and search text as the store keeps them.
	var wrongCount, wrongSearch, humans int64
	s.db.Raw(`SELECT COUNT(*) FROM users u WHERE team_count <> (SELECT COUNT(*) FROM user_teams ut WHERE ut.user_id = u.id)`).Scan(&wrongCount)
	var texts []User
	s.db.Select("id, name, user_id, email, search_text").Find(&texts)
	for _, u := range texts {
		if u.SearchText != SearchText(u.Name, u.UserID, u.Email) {
			wrongSearch++
		}
	}
	s.db.Raw(`SELECT COUNT(*) FROM users WHERE kind = 'human'`).Scan(&humans)
	if wrongCount != 0 || wrongSearch != 0 {
		t.Errorf("%d users with a wrong team_count, %d with a wrong search_text", wrongCount, wrongSearch)
	}
	if humans < users/40 || humans > users/10 {
		t.Errorf("%d people among %d users", humans, users)
	}
	q := DefaultUserQuery()
	q.Q, q.Status = "bot 1", "all"
	if page, err := s.ListUsers(ctx, q); err != nil || page.Total == 0 {
		t.Fatalf("search %q: %d, %v", q.Q, page.Total, err)
	}
	q = DefaultUserQuery()
	q.TeamIDs = teams[:1]
	if page, err := s.ListUsers(ctx, q); err != nil || page.Total == 0 || page.Total > users/2 {
		t.Fatalf("team filter: %d users, %v", page.Total, err)
	}
	// A seeded service user can be edited through the store like any other.
	var svc User
	if err := s.db.Where("kind = ? AND status = ?", KindService, StatusActive).Order("id DESC").Take(&svc).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByID(ctx, svc.ID); err != nil {
		t.Fatal(err)
	}
}
