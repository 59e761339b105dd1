package models

import (
	"context"
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
