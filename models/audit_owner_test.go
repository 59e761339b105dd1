package models

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDeletedTokenKeepsItsHistory: a token's create, revoke and delete stay
// in its user's Recent activity and under /audit?user=N once it is gone,
// marked as deleted; another user's token events do not.
func TestDeletedTokenKeepsItsHistory(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	admin := mustAdmin(t, s, "ada@example.com")
	as := AsUser(admin)
	svc := mustService(t, s, "CI")
	other := mustService(t, s, "Other")
	tok, _ := mustToken(t, s, svc.ID, "ci-60", Expiry{Days: 30})
	live, _ := mustToken(t, s, svc.ID, "ci-61", Expiry{Days: 30})
	mustToken(t, s, other.ID, "not-ci", Expiry{Days: 30})
	if _, err := s.RevokeToken(ctx, as, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteToken(ctx, as, tok.ID); err != nil {
		t.Fatal(err)
	}

	q, problems := ParseAuditQuery(url.Values{"user": {strconv.FormatInt(svc.ID, 10)}}, clock.Now())
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	page, err := s.ListAudit(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	recent, err := s.RecentActivity(ctx, svc.ID, 20)
	if err != nil {
		t.Fatal(err)
	}
	for name, events := range map[string][]Event{"ListAudit user=N": page.Events, "RecentActivity": recent} {
		var gone, kept []string
		for _, e := range events {
			if e.TargetKind != "token" {
				continue
			}
			switch {
			case e.OwnerID == nil || *e.OwnerID != svc.ID:
				t.Errorf("%s: event %d (%s %s) has owner %s; want %d", name, e.ID, e.Action, e.TargetLabel, auOptID(e.OwnerID), svc.ID)
			case *e.TargetID == tok.ID && e.TargetGone:
				gone = append(gone, e.Action)
			case *e.TargetID == live.ID && !e.TargetGone:
				kept = append(kept, e.Action)
			default:
				t.Errorf("%s: event %d (%s %s) gone=%v", name, e.ID, e.Action, e.TargetLabel, e.TargetGone)
			}
		}
		if want := []string{"token.delete", "token.revoke", "token.create"}; !slices.Equal(gone, want) {
			t.Errorf("%s: the deleted token's events = %v; want %v", name, gone, want)
		}
		if want := []string{"token.create"}; !slices.Equal(kept, want) {
			t.Errorf("%s: the live token's events = %v; want %v", name, kept, want)
		}
	}
	e, err := s.EventByID(ctx, page.Events[0].ID)
	if err != nil || e.Action != "token.delete" || !e.TargetGone {
		t.Fatalf("EventByID = %+v, %v; want the deletion, its target gone", e, err)
	}
	auVerifyOK(t, s)
}

// TestMigrationFillsAuditOwner: the events of a database from before 0011
// get the owner record writes today, from tokens or, for a token deleted
// since, from its creation event; the chain verifies and stays append-only.
func TestMigrationFillsAuditOwner(t *testing.T) {
	clock := newTestClock()
	open := testDatabase(t)
	s, err := open(WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	admin := mustAdmin(t, s, "ada@example.com")
	as := AsUser(admin)
	if _, _, err := s.CreateSession(ctx, Actor{Kind: ActorHuman, ID: admin.ID, Label: admin.Handle()}); err != nil {
		t.Fatal(err)
	}
	auMust(s.CreateTeam(ctx, as, TeamInput{Name: "Data"}))(t)
	svc := mustService(t, s, "CI")
	other := mustService(t, s, "Nightly")
	mustToken(t, s, svc.ID, "kept", Expiry{Days: 30})
	gone, _ := mustToken(t, s, svc.ID, "ci-60", Expiry{Days: 30})
	rotated, _ := mustToken(t, s, other.ID, "rotated", Expiry{Days: 30})
	if _, _, err := s.RotateToken(ctx, as, rotated.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{gone.ID, rotated.ID} {
		if _, err := s.RevokeToken(ctx, as, id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteToken(ctx, as, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.GenerateToken(ctx, as, admin.ID, NewToken{Name: "refused", Expiry: Expiry{Days: 1}}); err == nil {
		t.Fatal("a person was given a token")
	}
	written := auEventsAfter(t, s, 0)
	for _, e := range written {
		if e.TargetKind == "token" && *e.TargetID == gone.ID && (e.OwnerID == nil || *e.OwnerID != svc.ID) {
			t.Fatalf("record wrote owner %s for %s of ci-60; want %d", auOptID(e.OwnerID), e.Action, svc.ID)
		}
	}

	// Back to the schema before 0011: the same events, without owner_id.
	undo0020 := []string{`DROP TRIGGER settings_rev_ins`, `DROP TRIGGER settings_rev_upd`, `DROP TRIGGER settings_rev_del`}
	if onPostgres() {
		undo0020 = []string{`DROP TRIGGER settings_rev ON settings`}
	}
	undo0021 := append(undo0022(),
		`DROP TABLE sso_nonces`, // 0021
		`DROP INDEX users_sso`,
		`ALTER TABLE users DROP COLUMN break_glass`,
		`ALTER TABLE users DROP COLUMN sso_subject`,
		`ALTER TABLE users DROP COLUMN sso_issuer`,
	)
	for _, sql := range append(append(append(undo0021, undo0020...), `DROP TABLE token_inactivity_notices`), // 0020
		`DROP TABLE token_addresses`, // 0019
		`ALTER TABLE tokens DROP COLUMN allowed_cidrs`,
		`ALTER TABLE tokens DROP COLUMN scopes`, // 0017
		`DROP TABLE email_deliveries`,           // 0016
		`ALTER TABLE users DROP COLUMN notify_emails`,
		`DROP TABLE token_expiry_notices`, // 0015
		`DROP TABLE webhook_deliveries`,   // 0014
		`DROP TABLE webhook_endpoints`,
		`DROP TABLE token_reveals`, // 0013
		`DROP INDEX audit_owner`,
		`ALTER TABLE audit_events DROP COLUMN owner_id`,
		`DELETE FROM schema_migrations WHERE version >= 11`, // later ones are applied again
	) {
		auExec(t, s, sql)
	}
	var cols int64
	if err := s.db.Raw(`SELECT COUNT(*) FROM audit_events WHERE id = 1`).Scan(&cols).Error; err != nil || cols != 1 {
		t.Fatalf("old schema: %v", err)
	}
	_ = s.Close()

	s, err = open(WithClock(clock.Now)) // applies 0011
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v < 11 {
		t.Fatalf("schema version %d, %v", v, err)
	}
	migrated := auEventsAfter(t, s, 0)
	if len(migrated) != len(written) {
		t.Fatalf("%d events after the migration; want %d", len(migrated), len(written))
	}
	for i, e := range migrated {
		if got, want := auOptID(e.OwnerID), auOptID(written[i].OwnerID); got != want {
			t.Errorf("event %d (%s %s %s): owner %s after the migration; record writes %s",
				e.ID, e.Action, e.TargetKind, e.TargetLabel, got, want)
		}
	}
	auVerifyOK(t, s)
	if err := s.db.Exec(`UPDATE audit_events SET owner_id = NULL WHERE id = 1`).Error; err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("after the migration an UPDATE = %v; want the append-only refusal", err)
	}
	recent, err := s.RecentActivity(ctx, svc.ID, 50)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range recent {
		if e.TargetKind == "token" && *e.TargetID == gone.ID {
			n++
		}
	}
	if n != 3 {
		t.Errorf("after the migration CI's activity holds %d events of ci-60; want 3", n)
	}
}

// undo0022 takes migration 0022 back: the owner indexes it added
// (PostgreSQL has had users_owner_user since 0001).
func undo0022() []string {
	if onPostgres() {
		return []string{`DROP INDEX users_owner_team`}
	}
	return []string{`DROP INDEX users_owner_team`, `DROP INDEX users_owner_user`}
}
