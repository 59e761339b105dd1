package models

import (
	"context"
	"testing"
)

// TestOverviewSeesANoticeAtOnce: the "owners notified" count is kept with
// the token counts, and a notice written by another process (here by hand,
// with no token change) moves data_revision, so the next read counts it.
func TestOverviewSeesANoticeAtOnce(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	admin := AsUser(mustAdmin(t, s, "ada@example.com"))
	svc, err := s.CreateServiceUser(ctx, admin, NewServiceUser{Name: "Nightly", Role: RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := mustToken(t, s, svc.ID, "soon", Expiry{Days: 3})
	o, err := s.TokenOverview(ctx)
	if err != nil || o.Expiring7 != 1 || o.Notified7 != 0 {
		t.Fatalf("before the notice: %+v, %v", o, err)
	}
	if err := s.db.Exec(`INSERT INTO token_expiry_notices (token_id, threshold, sent_at) VALUES (?, ?, ?)`,
		tok.ID, ExpiryThreshold7d, s.Now()).Error; err != nil {
		t.Fatal(err)
	}
	if o, err = s.TokenOverview(ctx); err != nil || o.Notified7 != 1 {
		t.Fatalf("after the notice: %+v, %v; want Notified7 1 at once", o, err)
	}
}
