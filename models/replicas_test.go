package models

import (
	"context"
	"net/url"
	"reflect"
	"testing"
)

// TestCountsSeeOtherReplicasWrites: the overview counts and the period-only
// audit summary of a second store on the same database (a second replica)
// follow the first one's writes at once.
func TestCountsSeeOtherReplicasWrites(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s1, s2 := twoStores(t, WithClock(clock.Now))
	mustAdmin(t, s1, "ada@example.com")

	q, _ := ParseAuditQuery(url.Values{"range": {"7d"}}, clock.Now())
	before, err := s2.Overview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sumBefore, err := s2.SummarizeAudit(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	// Read twice, so the second answer comes from the cache.
	if again, _ := s2.Overview(ctx); again != before {
		t.Fatalf("overview changed without a write: %+v then %+v", before, again)
	}

	mustService(t, s1, "Airflow") // through replica 1

	after, err := s2.Overview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.ActiveServices != before.ActiveServices+1 {
		t.Errorf("replica 2's overview: %d active service users after replica 1 created one, want %d",
			after.ActiveServices, before.ActiveServices+1)
	}
	sumAfter, err := s2.SummarizeAudit(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if sumAfter.Total != sumBefore.Total+1 {
		t.Errorf("replica 2's audit summary: %d events after replica 1 wrote one more, want %d", sumAfter.Total, sumBefore.Total+1)
	}
}

// TestUserCountsFollowOtherProcesses: the Users list's total per filter
// follows writes from any process, also for filters that move without an
// audited write (here "never used", which the last-use flush changes).
func TestUserCountsFollowOtherProcesses(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s1, s2 := twoStores(t, WithClock(clock.Now))
	mustAdmin(t, s1, "ada@example.com")
	svc := mustService(t, s1, "Airflow")
	_, secret := mustToken(t, s1, svc.ID, "prod", Expiry{Days: 30})

	total := func(s *Store, v url.Values) int64 {
		t.Helper()
		q, _ := ParseUserQuery(v)
		page, err := s.ListUsers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return page.Total
	}
	all, services, neverUsed := url.Values{}, url.Values{"type": {"service"}}, url.Values{"health": {"never_used"}}
	if n := total(s2, all); n != 2 {
		t.Fatalf("%d users, want 2", n)
	}
	if n := total(s2, services); n != 1 {
		t.Fatalf("%d service users, want 1", n)
	}
	if n := total(s2, neverUsed); n != 1 {
		t.Fatalf("%d never-used service users, want 1", n)
	}
	search := url.Values{"q": {"jenk"}}
	if n := total(s2, search); n != 0 {
		t.Fatalf("%d users match %q before Jenkins exists", n, "jenk")
	}
	mustService(t, s1, "Jenkins") // through the other store
	if n := total(s2, search); n != 1 {
		t.Errorf("after a write through another store: %d users match %q, want 1", n, "jenk")
	}
	if n := total(s2, all); n != 3 {
		t.Errorf("after a write through another store: %d users, want 3", n)
	}
	if n := total(s2, services); n != 2 {
		t.Errorf("after a write through another store: %d service users, want 2", n)
	}
	if n := total(s2, neverUsed); n != 2 {
		t.Errorf("%d never-used service users, want 2", n)
	}
	// A use, flushed: no audit event, yet "never used" must change.
	auth, err := s1.AuthenticateToken(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	s1.RecordTokenUse(auth, "192.0.2.1", "test")
	if _, err := s1.FlushTokenUse(ctx); err != nil {
		t.Fatal(err)
	}
	if n := total(s2, neverUsed); n != 1 { // Jenkins only
		t.Errorf("after Airflow's first use: %d never-used service users, want 1 (Jenkins)", n)
	}
}

// TestTeamChipsFollowOtherReplicasWrites: the Users list's team chips and
// the team filter's choices come from a kept team directory, which follows
// a team made or renamed through another replica.
func TestTeamChipsFollowOtherReplicasWrites(t *testing.T) {
	ctx := context.Background()
	s1, s2 := twoStores(t)
	admin := AsUser(mustAdmin(t, s1, "ada@example.com"))
	ops, err := s1.CreateTeam(ctx, admin, TeamInput{Name: "Ops"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s1.CreateServiceUser(ctx, admin, NewServiceUser{Name: "Deployer", Role: RoleMember, TeamIDs: []int64{ops.ID}}); err != nil {
		t.Fatal(err)
	}
	chips := func(s *Store, name string) []string {
		t.Helper()
		q := DefaultUserQuery()
		q.Q = name
		page, err := s.ListUsers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Rows) != 1 {
			t.Fatalf("search %q: %d rows", name, len(page.Rows))
		}
		var out []string
		for _, tr := range page.Rows[0].Teams {
			out = append(out, tr.Name)
		}
		return out
	}
	if got := chips(s2, "Deployer"); !reflect.DeepEqual(got, []string{"Ops", "Public"}) {
		t.Fatalf("chips %q, want Ops then Public", got)
	}

	// Through replica 1: a rename, and a new team with a member.
	if _, err := s1.UpdateTeam(ctx, admin, ops.ID, TeamInput{Name: "Platform"}); err != nil {
		t.Fatal(err)
	}
	billing, err := s1.CreateTeam(ctx, admin, TeamInput{Name: "Billing"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s1.CreateServiceUser(ctx, admin, NewServiceUser{Name: "Invoicer", Role: RoleMember, TeamIDs: []int64{billing.ID, ops.ID}}); err != nil {
		t.Fatal(err)
	}
	if got := chips(s2, "Deployer"); !reflect.DeepEqual(got, []string{"Platform", "Public"}) {
		t.Errorf("after the rename: chips %q, want Platform then Public", got)
	}
	if got := chips(s2, "Invoicer"); !reflect.DeepEqual(got, []string{"Billing", "Platform", "Public"}) {
		t.Errorf("new team: chips %q, want Billing, Platform, Public", got)
	}
	all, err := s2.AllTeams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tr := range all {
		names = append(names, tr.Name)
	}
	if !reflect.DeepEqual(names, []string{"Public", "Billing", "Platform"}) {
		t.Errorf("AllTeams %q, want Public, Billing, Platform", names)
	}
}
