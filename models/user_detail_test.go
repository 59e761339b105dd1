package models

import (
	"context"
	"reflect"
	"testing"
	"time"
)

// TestAPIDetailOfMatchesDetailOf checks that the detail of the API answers
// agrees with DetailOf and ActiveTokenCount, in three statements whatever the
// user: teams in the same order
// (Public last, names ignoring ASCII case), owner and creator names, and the
// count of working tokens.
func TestAPIDetailOfMatchesDetailOf(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	admin := mustAdmin(t, s, "detail-admin@example.com")
	as := AsUser(admin)
	var teamIDs []int64
	for _, name := range []string{"beta", "Alpha", "alpha two", "Zulu", "_under", "Émile", "ember"} {
		tm, err := s.CreateTeam(ctx, as, TeamInput{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		teamIDs = append(teamIDs, tm.ID)
	}
	cases := []NewServiceUser{
		{Name: "Team owned", Role: RoleMember, TeamIDs: teamIDs, Owner: Owner{TeamID: teamIDs[2]}},
		{Name: "Person owned", Role: RoleManager, TeamIDs: teamIDs[:2], Owner: Owner{UserID: admin.ID}},
		{Name: "Unowned", Role: RoleAdmin},
	}
	cases = append(cases, NewServiceUser{Name: "In no team (made by hand)", Role: RoleMember, Owner: Owner{TeamID: teamIDs[0]}})
	for _, in := range cases {
		u, err := s.CreateServiceUser(ctx, as, in)
		if err != nil {
			t.Fatal(err)
		}
		wantStatements := 3 // teams, names, working tokens
		if len(in.TeamIDs) == 0 && in.Owner.TeamID != 0 {
			// The store never leaves a user outside Public; the detail
			// still answers if one is.
			if err := s.db.Exec(`DELETE FROM user_teams WHERE user_id = ?`, u.ID).Error; err != nil {
				t.Fatal(err)
			}
		}
		mustToken(t, s, u.ID, "live", Expiry{Days: 30})
		mustToken(t, s, u.ID, "longer", Expiry{Days: 90})
		short, _ := mustToken(t, s, u.ID, "short", Expiry{Days: 1})
		revoked, _ := mustToken(t, s, u.ID, "revoked", Expiry{Days: 30})
		if _, err := s.RevokeToken(ctx, as, revoked.ID); err != nil {
			t.Fatal(err)
		}
		clock.Advance(24 * time.Hour) // "short" expires at this instant
		_ = short

		want, err := s.UserDetail(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantN, err := s.ActiveTokenCount(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := s.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		n := countStatements(t, s)
		got, gotN, err := s.APIDetailOf(ctx, loaded)
		if err != nil {
			t.Fatal(err)
		}
		if *n != wantStatements {
			t.Errorf("%s: %d statements; want %d", in.Name, *n, wantStatements)
		}
		if !reflect.DeepEqual(got, want) || gotN != wantN || wantN != 2 {
			t.Errorf("%s:\n got %+v (teams %+v), %d active\nwant %+v (teams %+v), %d active", in.Name, got, got.Teams, gotN, want, want.Teams, wantN)
		}
		teams, err := s.UserTeams(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(teams, want.Teams) {
			t.Errorf("%s: UserTeams %+v; want %+v", in.Name, teams, want.Teams)
		}
	}
}
