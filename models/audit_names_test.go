package models

import (
	"context"
	"testing"
)

// TestNameEvents: the console names an event's actor, the user it concerns
// and the token an API caller used, a token deleted since included.
func TestNameEvents(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	admin := mustAdmin(t, s, "ada@example.com")
	etl := mustService(t, s, "Nightly ETL")
	caller, _ := mustToken(t, s, etl.ID, "ci-30", Expiry{Days: 30})
	gone, _ := mustToken(t, s, etl.ID, "ci-60", Expiry{Days: 30})
	api := AsUser(etl)
	api.TokenID = caller.ID
	if _, err := s.CreateTeam(ctx, api, TeamInput{Name: "Data"}); err != nil {
		t.Fatal(err)
	}
	api.TokenID = gone.ID
	if _, err := s.CreateTeam(ctx, api, TeamInput{Name: "Ops"}); err != nil {
		t.Fatal(err)
	}
	as := AsUser(admin)
	auMust(s.RevokeToken(ctx, as, gone.ID))(t)
	auMust(s.DeleteToken(ctx, as, gone.ID))(t)

	page, err := s.ListAudit(ctx, AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.NameEvents(ctx, page.Events); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range page.Events {
		switch {
		case e.Action == "team.create" && e.TargetLabel == "Data":
			if e.ActorName != "Nightly ETL" || e.TokenName != "ci-30" || e.TokenGone {
				t.Errorf("team Data by %q via %q (gone %v), want Nightly ETL via ci-30", e.ActorName, e.TokenName, e.TokenGone)
			}
		case e.Action == "team.create" && e.TargetLabel == "Ops":
			if e.ActorName != "Nightly ETL" || e.TokenName != "ci-60" || !e.TokenGone {
				t.Errorf("team Ops by %q via %q (gone %v), want Nightly ETL via ci-60, deleted", e.ActorName, e.TokenName, e.TokenGone)
			}
		case e.Action == "token.revoke":
			if e.ActorName != "Ada Admin" || e.OwnerName != "Nightly ETL" || !e.TargetGone {
				t.Errorf("revocation by %q of a token of %q (gone %v)", e.ActorName, e.OwnerName, e.TargetGone)
			}
		case e.Action == "service_user.create":
			if e.ActorName != "" || e.OwnerName != "Nightly ETL" {
				t.Errorf("creation by %q (the command line) of %q", e.ActorName, e.OwnerName)
			}
		default:
			continue
		}
		seen[e.Action+" "+e.TargetLabel] = true
	}
	if len(seen) != 4 {
		t.Errorf("checked %v; want the two teams, the revocation and the creation", seen)
	}
	if err := s.NameEvents(ctx, nil); err != nil {
		t.Errorf("no events: %v", err)
	}
}
