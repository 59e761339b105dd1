package models

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// TestAuditCountsMatchEvents checks the per-day counts behind the summary
// against the events themselves, as kept by record and as rebuilt.
func TestAuditCountsMatchEvents(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	admin := mustAdmin(t, s, "ada@example.com")
	for day := 0; day < 5; day++ {
		for i := 0; i <= day; i++ {
			if _, err := s.CreateTeam(ctx, AsUser(admin), TeamInput{Name: "team " + clock.Now().Format("0102") + string(rune('a'+i))}); err != nil {
				t.Fatal(err)
			}
		}
		svc, err := s.CreateServiceUser(ctx, System, NewServiceUser{Name: "svc " + clock.Now().Format("0102"), Role: RoleMember})
		if err != nil {
			t.Fatal(err)
		}
		_ = svc
		clock.Advance(24 * time.Hour)
	}
	check := func(when string) {
		t.Helper()
		sum, err := s.SummarizeAudit(ctx, AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		s.db.Raw(`SELECT COUNT(*) FROM audit_events`).Scan(&total)
		if sum.Total != total {
			t.Errorf("%s: summary total %d, events %d", when, sum.Total, total)
		}
		if sum.TopAction != "team.create" || sum.TopActionN != 15 {
			t.Errorf("%s: top action %s ×%d, want team.create ×15", when, sum.TopAction, sum.TopActionN)
		}
		if sum.TopActor != "ada@example.com" || sum.TopActorN != 15 {
			t.Errorf("%s: top actor %s ×%d", when, sum.TopActor, sum.TopActorN)
		}
		var human, automated int64
		for _, d := range sum.Days {
			human += d.Human
			automated += d.Automated
		}
		if automated != 6 || human+automated != total { // 5 service users by System, 1 admin create
			t.Errorf("%s: chart has %d human and %d automated, %d events", when, human, automated, total)
		}
		// The same summary through the event path (a filter that matches
		// everything forces it) agrees.
		viaEvents, err := s.SummarizeAudit(ctx, AuditQuery{Outcome: OutcomeSuccess})
		if err != nil || viaEvents.Total != sum.Total || viaEvents.TopAction != sum.TopAction || len(viaEvents.Days) != len(sum.Days) {
			t.Errorf("%s: counts %+v differ from events %+v", when, sum, viaEvents)
		}
	}
	check("as recorded")
	if err := s.RebuildAuditCounts(ctx); err != nil {
		t.Fatal(err)
	}
	check("after a rebuild")
}

// TestAuditActionSummaryFromCounts checks summaries filtered by actions,
// which the per-day counts answer, against the same summaries counted from
// the events, for one and several actions and whole-day periods; and that
// the summary follows a new event.
func TestAuditActionSummaryFromCounts(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	ada := mustAdmin(t, s, "ada@example.com")
	bob, err := s.CreateHumanAdmin(ctx, NewHuman{Name: "Bob Admin", Email: "bob@example.com", Password: testPassword, Confirm: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	start := clock.Now()
	for day := 0; day < 5; day++ {
		stamp := clock.Now().Format("0102")
		for i := 0; i <= day; i++ { // ada: 15 teams
			if _, err := s.CreateTeam(ctx, AsUser(ada), TeamInput{Name: "ada " + stamp + string(rune('a'+i))}); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 2; i++ { // bob: 10 teams, 15 service users
			if _, err := s.CreateTeam(ctx, AsUser(bob), TeamInput{Name: "bob " + stamp + string(rune('a'+i))}); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 3; i++ {
			if _, err := s.CreateServiceUser(ctx, AsUser(bob), NewServiceUser{Name: "bob svc " + stamp + string(rune('a'+i)), Role: RoleMember}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.CreateServiceUser(ctx, System, NewServiceUser{Name: "sys svc " + stamp, Role: RoleMember}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(24 * time.Hour)
	}
	day := func(n int) time.Time {
		d := start.AddDate(0, 0, n)
		return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
	}
	periods := map[string][2]time.Time{
		"last 30 days": {},
		"days 1 to 3":  {day(1), day(4)},
		"from day 2":   {day(2), {}},
		"to day 0":     {{}, day(1)},
		"no events":    {day(10), day(12)},
	}
	actionSets := [][]string{
		{"team.create"},
		{"service_user.create"},
		{"service_user.create", "team.create"},
		{"team.create", "service_user.create", "user.create"},
		{"token.create"},
	}
	compare := func(when string) {
		t.Helper()
		for name, p := range periods {
			for _, actions := range actionSets {
				q := AuditQuery{Actions: actions, From: p[0], To: p[1]}
				got, err := s.SummarizeAudit(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if q.From.IsZero() && q.To.IsZero() {
					q.From = s.Now().Add(-30 * 24 * time.Hour)
				}
				want, err := s.summarizeFromEvents(ctx, q, AuditSummary{ActiveAdmins: got.ActiveAdmins})
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s, %s, %v: counts give %+v, events %+v", when, name, actions, got, want)
				}
			}
		}
	}
	compare("as recorded")

	// Spot checks, so that agreement is not agreement on nothing.
	got, err := s.SummarizeAudit(ctx, AuditQuery{Actions: []string{"team.create"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Total != 25 || got.TopActor != "ada@example.com" || got.TopActorN != 15 || got.TopAction != "team.create" || len(got.Days) != 5 {
		t.Errorf("team.create: %+v", got)
	}
	both := AuditQuery{Actions: []string{"service_user.create", "team.create"}}
	got, err = s.SummarizeAudit(ctx, both)
	if err != nil {
		t.Fatal(err)
	}
	if got.Total != 45 || got.TopActor != "bob@example.com" || got.TopActorN != 25 || got.TopAction != "team.create" || got.TopActionN != 25 {
		t.Errorf("both actions: %+v", got)
	}

	// A new event shows at once.
	if _, err := s.CreateTeam(ctx, AsUser(ada), TeamInput{Name: "one more"}); err != nil {
		t.Fatal(err)
	}
	after, err := s.SummarizeAudit(ctx, both)
	if err != nil {
		t.Fatal(err)
	}
	if after.Total != got.Total+1 || after.TopActionN != got.TopActionN+1 {
		t.Errorf("after one more team.create: total %d, top action ×%d; want %d, ×%d", after.Total, after.TopActionN, got.Total+1, got.TopActionN+1)
	}
	// The same actions in another order give the same summary.
	swapped, err := s.SummarizeAudit(ctx, AuditQuery{Actions: []string{"team.create", "service_user.create"}})
	if err != nil || !reflect.DeepEqual(swapped, after) {
		t.Errorf("actions in another order: %+v, %v; want %+v", swapped, err, after)
	}
	compare("after one more event")

	if err := s.RebuildAuditCounts(ctx); err != nil {
		t.Fatal(err)
	}
	compare("after a rebuild")
}

// TestTopActorMatchesFullCount checks topActor against summing every
// actor's counts, over random per-day counts (skewed and flat), periods and
// action sets: the pruning must never change the answer, ties included.
func TestTopActorMatchesFullCount(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(15, 9))
	actions := []string{"token.create", "token.revoke", "team.create"}
	for round := range 6 {
		for _, q := range []string{`DELETE FROM audit_daily_actions`, `DELETE FROM audit_daily_actors`, `DELETE FROM audit_daily_actor_actions`} {
			if err := s.db.Exec(q).Error; err != nil {
				t.Fatal(err)
			}
		}
		actors := 3 + rng.IntN(40)
		skew := round%2 == 0
		for d := range 20 {
			day := fmt.Sprintf("2026-01-%02d", d+1)
			for a := range actors {
				for _, act := range actions {
					if rng.IntN(3) == 0 {
						continue
					}
					n := 1 + rng.IntN(3)
					if skew && a < 2 {
						n += rng.IntN(40)
					}
					label := fmt.Sprintf("actor-%02d", a)
					for _, q := range []struct {
						sql  string
						args []any
					}{
						{`INSERT INTO audit_daily_actions (day, action, automated, n) VALUES (?, ?, 0, ?)
							ON CONFLICT (day, action, automated) DO UPDATE SET n = audit_daily_actions.n + excluded.n`, []any{day, act, n}},
						{`INSERT INTO audit_daily_actors (day, actor_kind, actor_id, actor_label, n) VALUES (?, 'human', ?, ?, ?)
							ON CONFLICT (day, actor_kind, actor_id, actor_label) DO UPDATE SET n = audit_daily_actors.n + excluded.n`, []any{day, a, label, n}},
						{`INSERT INTO audit_daily_actor_actions (action, day, actor_kind, actor_id, actor_label, n) VALUES (?, ?, 'human', ?, ?, ?)`,
							[]any{act, day, a, label, n}},
					} {
						if err := s.db.Exec(q.sql, q.args...).Error; err != nil {
							t.Fatal(err)
						}
					}
				}
			}
		}
		for range 10 {
			from, to := 1+rng.IntN(20), 1+rng.IntN(20)
			from, to = min(from, to), max(from, to)
			q := AuditQuery{From: time.Date(2026, 1, from, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, to+1, 0, 0, 0, 0, time.UTC)}
			if rng.IntN(2) == 0 {
				q.Actions = actions[:1+rng.IntN(len(actions))]
			}
			got, err := s.summarizeFromCounts(ctx, q, AuditSummary{})
			if err != nil {
				t.Fatal(err)
			}
			table, where, args := "audit_daily_actors", "day BETWEEN ? AND ?", []any{q.From.Format("2006-01-02"), q.To.Add(-time.Hour).Format("2006-01-02")}
			if len(q.Actions) > 0 {
				table, where, args = "audit_daily_actor_actions", "action IN ? AND "+where, append([]any{q.Actions}, args...)
			}
			var want struct {
				Label string
				N     int64
			}
			if err := s.db.Raw(`SELECT actor_label AS label, SUM(n) AS n FROM `+table+` WHERE `+where+`
				GROUP BY actor_kind, actor_id, actor_label ORDER BY n DESC, label LIMIT 1`, args...).Scan(&want).Error; err != nil {
				t.Fatal(err)
			}
			if got.TopActor != want.Label || got.TopActorN != want.N {
				t.Fatalf("round %d, days %d-%d, actions %v: topActor %s (%d); counting every actor gives %s (%d)",
					round, from, to, q.Actions, got.TopActor, got.TopActorN, want.Label, want.N)
			}
		}
	}
}
