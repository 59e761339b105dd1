package models

import (
	"context"
	"net/url"
	"testing"
)

// TestCachesSeeOtherReplicasWrites: the overview counts and the period-only
// audit summary are cached per process. A second store on the same
// database (a second replica) must not serve a stale answer after the
// first one writes.
func TestCachesSeeOtherReplicasWrites(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	open := testDatabase(t)
	s1, err := open(WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := open(WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
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
