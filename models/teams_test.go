package models

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

func TestCreateTeam(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	admin := mustAdmin(t, s, "ada@example.com")

	team, err := s.CreateTeam(ctx, AsUser(admin), TeamInput{Name: "  Data Platform ", Description: "Pipelines.\nAnd more."})
	if err != nil {
		t.Fatalf("CreateTeam: %v", err)
	}
	got, err := s.TeamByID(ctx, team.ID)
	if err != nil {
		t.Fatalf("TeamByID: %v", err)
	}
	if got.Name != "Data Platform" || got.Description != "Pipelines.\nAnd more." || got.Builtin || got.Members != 0 {
		t.Errorf("stored team = %+v; want the trimmed name, the description, not builtin, no members", got)
	}

	markup := `<script>alert("x")</script> & <b>Ops</b>`
	m, err := s.CreateTeam(ctx, AsUser(admin), TeamInput{Name: markup})
	if err != nil {
		t.Fatalf("CreateTeam with markup: %v", err)
	}
	if got, _ := s.TeamByID(ctx, m.ID); got == nil || got.Name != markup {
		t.Errorf("markup name stored as %+v; want it unchanged (escaping is the view's job)", got)
	}
	if _, err := s.CreateTeam(ctx, AsUser(admin), TeamInput{Name: "Équipe"}); err != nil {
		t.Fatalf("CreateTeam(Équipe): %v", err)
	}

	before := lcCount(t, s, `SELECT COUNT(*) FROM teams`)
	cases := []struct {
		what  string
		in    TeamInput
		field string
	}{
		{"same name", TeamInput{Name: "Data Platform"}, "name"},
		{"other case", TeamInput{Name: "DATA platform"}, "name"},
		{"other case with spaces", TeamInput{Name: "  data platform  "}, "name"},
		{"non-ASCII other case", TeamInput{Name: "éQUIPE"}, "name"},
		{"the built-in team's name", TeamInput{Name: "public"}, "name"},
		{"empty", TeamInput{Name: ""}, "name"},
		{"blank", TeamInput{Name: "   "}, "name"},
		{"control character", TeamInput{Name: "Ops\x07"}, "name"},
		{"control character in description", TeamInput{Name: "Ops", Description: "a\x00b"}, "description"},
	}
	for _, c := range cases {
		team, err := s.CreateTeam(ctx, AsUser(admin), c.in)
		lcWantField(t, c.what, err, c.field, "")
		if team != nil {
			t.Errorf("%s: returned a team along with the error", c.what)
		}
	}
	if after := lcCount(t, s, `SELECT COUNT(*) FROM teams`); after != before {
		t.Errorf("%d teams after rejected creates; want %d", after, before)
	}
}

func TestUpdateTeam(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	admin := mustAdmin(t, s, "ada@example.com")
	data := lcTeam(t, s, "Data Platform")
	lcTeam(t, s, "Finance")

	if _, err := s.UpdateTeam(ctx, AsUser(admin), data.ID, TeamInput{Name: "Data Engineering", Description: "ETL"}); err != nil {
		t.Fatalf("rename: %v", err)
	}
	got, _ := s.TeamByID(ctx, data.ID)
	if got == nil || got.Name != "Data Engineering" || got.NameKey != "data engineering" || got.Description != "ETL" {
		t.Fatalf("after rename: %+v", got)
	}
	// The old name is free again; a change of case of the own name is fine.
	lcTeam(t, s, "Data Platform")
	if _, err := s.UpdateTeam(ctx, AsUser(admin), data.ID, TeamInput{Name: "data engineering"}); err != nil {
		t.Errorf("changing the case of the own name: %v", err)
	}
	_, err := s.UpdateTeam(ctx, AsUser(admin), data.ID, TeamInput{Name: "FINANCE"})
	lcWantField(t, "rename onto another team's name", err, "name", "")
	_, err = s.UpdateTeam(ctx, AsUser(admin), data.ID, TeamInput{Name: ""})
	lcWantField(t, "rename to nothing", err, "name", "")
	if got, _ := s.TeamByID(ctx, data.ID); got == nil || got.Name != "data engineering" {
		t.Errorf("refused renames changed the team: %+v", got)
	}
	if _, err := s.UpdateTeam(ctx, AsUser(admin), 9999, TeamInput{Name: "Ghost"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateTeam(unknown) = %v; want ErrNotFound", err)
	}
}

func TestPublicTeamIsBuiltIn(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	admin := mustAdmin(t, s, "ada@example.com")

	if _, err := s.UpdateTeam(ctx, AsUser(admin), PublicTeamID, TeamInput{Name: "Public", Description: "Everyone at Acme."}); err != nil {
		t.Fatalf("describing Public: %v", err)
	}
	for _, name := range []string{"Everyone", "public", "PUBLIC"} {
		_, err := s.UpdateTeam(ctx, AsUser(admin), PublicTeamID, TeamInput{Name: name, Description: "x"})
		lcWantField(t, "renaming Public to "+name, err, "name", "")
	}
	got, err := s.TeamByID(ctx, PublicTeamID)
	if err != nil || got.Name != "Public" || !got.Builtin || got.Description != "Everyone at Acme." {
		t.Errorf("Public after edits = %+v, %v; want its name kept and the new description", got, err)
	}

	if _, err := s.DeleteTeam(ctx, AsUser(admin), PublicTeamID); !errors.Is(err, ErrBuiltinTeam) {
		t.Errorf("DeleteTeam(Public) = %v; want ErrBuiltinTeam", err)
	}
	if _, err := s.TeamByID(ctx, PublicTeamID); err != nil {
		t.Errorf("Public is gone after a refused delete: %v", err)
	}
	if n := lcCount(t, s, `SELECT COUNT(*) FROM user_teams WHERE user_id = ? AND team_id = ?`, admin.ID, PublicTeamID); n != 1 {
		t.Error("a refused delete of Public removed memberships")
	}
}

func TestDeleteTeam(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	admin := mustAdmin(t, s, "ada@example.com")
	alpha := lcTeam(t, s, "Alpha")
	beta := lcTeam(t, s, "Beta")

	both := lcService(t, s, AsUser(admin), NewServiceUser{Name: "Both Bot", TeamIDs: []int64{alpha.ID, beta.ID}})
	person, _ := lcHuman(t, s, AsUser(admin), NewHumanUser{Name: "Pia", Email: "pia@example.com", TeamIDs: []int64{alpha.ID}})
	gone := lcService(t, s, AsUser(admin), NewServiceUser{Name: "Gone Bot", TeamIDs: []int64{alpha.ID}})
	if _, err := s.DeactivateUser(ctx, AsUser(admin), gone.ID); err != nil {
		t.Fatal(err)
	}
	owned := lcService(t, s, AsUser(admin), NewServiceUser{Name: "Owned Bot", TeamIDs: []int64{beta.ID}, Owner: Owner{TeamID: alpha.ID}})
	betaOwned := lcService(t, s, AsUser(admin), NewServiceUser{Name: "Beta Owned", Owner: Owner{TeamID: beta.ID}})
	users := lcCount(t, s, `SELECT COUNT(*) FROM users`)

	deleted, err := s.DeleteTeam(ctx, AsUser(admin), alpha.ID)
	if err != nil {
		t.Fatalf("DeleteTeam: %v", err)
	}
	if deleted.ID != alpha.ID || deleted.Name != "Alpha" {
		t.Errorf("DeleteTeam returned %+v; want Alpha", deleted)
	}
	if _, err := s.TeamByID(ctx, alpha.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("TeamByID(deleted) = %v; want ErrNotFound", err)
	}
	if n := lcCount(t, s, `SELECT COUNT(*) FROM users`); n != users {
		t.Errorf("%d users after deleting a team; want %d (teams never take users with them)", n, users)
	}
	if n := lcCount(t, s, `SELECT COUNT(*) FROM user_teams WHERE team_id = ?`, alpha.ID); n != 0 {
		t.Errorf("%d memberships of the deleted team remain", n)
	}
	wantTeams := map[int64][]int64{
		both.ID:      {PublicTeamID, beta.ID},
		person.ID:    {PublicTeamID},
		gone.ID:      {PublicTeamID},
		owned.ID:     {PublicTeamID, beta.ID},
		betaOwned.ID: {PublicTeamID},
		admin.ID:     {PublicTeamID},
	}
	for id, want := range wantTeams {
		got := lcReload(t, s, id)
		if m := lcMemberships(t, s, id); !reflect.DeepEqual(m, want) || got.TeamCount != len(want) {
			t.Errorf("user %q: memberships %v, team_count %d; want %v, %d", got.Name, m, got.TeamCount, want, len(want))
		}
	}
	if n := lcCount(t, s, `SELECT COUNT(*) FROM users u WHERE u.team_count <> (SELECT COUNT(*) FROM user_teams ut WHERE ut.user_id = u.id)`); n != 0 {
		t.Errorf("%d users whose team_count disagrees with their memberships", n)
	}
	if got := lcReload(t, s, owned.ID); got.OwnerTeamID != nil {
		t.Errorf("owner_team_id of a user owned by the deleted team = %d; want NULL", *got.OwnerTeamID)
	}
	if got := lcReload(t, s, betaOwned.ID); got.OwnerTeamID == nil || *got.OwnerTeamID != beta.ID {
		t.Errorf("owner of a user owned by another team = %v; want %d", got.OwnerTeamID, beta.ID)
	}
	if _, err := s.DeleteTeam(ctx, AsUser(admin), alpha.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting the team again = %v; want ErrNotFound", err)
	}
	// The name is free again.
	lcTeam(t, s, "alpha")
}

func TestTeamsList(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	admin := mustAdmin(t, s, "ada@example.com")
	beta := lcTeam(t, s, "beta")
	alpha := lcTeam(t, s, "Alpha")
	gamma := lcTeam(t, s, "Gamma")

	lcService(t, s, AsUser(admin), NewServiceUser{Name: "One", TeamIDs: []int64{alpha.ID, beta.ID}})
	lcHuman(t, s, AsUser(admin), NewHumanUser{Name: "Two", Email: "two@example.com", TeamIDs: []int64{alpha.ID}})
	gone := lcService(t, s, AsUser(admin), NewServiceUser{Name: "Three", TeamIDs: []int64{alpha.ID, gamma.ID}})
	if _, err := s.DeactivateUser(ctx, AsUser(admin), gone.ID); err != nil {
		t.Fatal(err)
	}

	rows, err := s.Teams(ctx)
	if err != nil {
		t.Fatalf("Teams: %v", err)
	}
	type entry struct {
		ID      int64
		Name    string
		Members int64
	}
	var got []entry
	for _, r := range rows {
		got = append(got, entry{r.ID, r.Name, r.Members})
	}
	// Public: Ada, One, Two (Three is deactivated); Alpha: One, Two.
	want := []entry{
		{PublicTeamID, "Public", 3},
		{alpha.ID, "Alpha", 2},
		{beta.ID, "beta", 1},
		{gamma.ID, "Gamma", 0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Teams() =\n %+v\nwant\n %+v", got, want)
	}
	if !rows[0].Builtin {
		t.Error("Public is not marked built-in")
	}
	for _, w := range want {
		row, err := s.TeamByID(ctx, w.ID)
		if err != nil || row.Members != w.Members || row.Name != w.Name {
			t.Errorf("TeamByID(%d) = %+v, %v; want %s with %d members", w.ID, row, err, w.Name, w.Members)
		}
	}
	if _, err := s.TeamByID(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("TeamByID(unknown) = %v; want ErrNotFound", err)
	}

	refs, err := s.AllTeams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, r := range refs {
		ids = append(ids, r.ID)
	}
	if wantIDs := []int64{PublicTeamID, alpha.ID, beta.ID, gamma.ID}; !reflect.DeepEqual(ids, wantIDs) {
		t.Errorf("AllTeams order = %v; want %v", ids, wantIDs)
	}
}
