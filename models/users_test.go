package models

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestCreateHumanAdminValidation(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	mustAdmin(t, s, "ada@example.com")
	cases := []struct {
		in    NewHuman
		field string
	}{
		{NewHuman{Name: "", Email: "b@example.com", Password: testPassword, Confirm: testPassword}, "name"},
		{NewHuman{Name: "Bob\u202Eevil", Email: "b@example.com", Password: testPassword, Confirm: testPassword}, "name"},
		{NewHuman{Name: "Bob\x07", Email: "b@example.com", Password: testPassword, Confirm: testPassword}, "name"},
		{NewHuman{Name: strings.Repeat("n", 101), Email: "b@example.com", Password: testPassword, Confirm: testPassword}, "name"},
		{NewHuman{Name: "Bob", Email: "not-an-email", Password: testPassword, Confirm: testPassword}, "email"},
		{NewHuman{Name: "Bob", Email: "ADA@Example.com", Password: testPassword, Confirm: testPassword}, "email"},
		{NewHuman{Name: "Bob", Email: "b@example.com", Password: "short", Confirm: "short"}, "password"},
		{NewHuman{Name: "Bob", Email: "b@example.com", Password: testPassword, Confirm: testPassword + "x"}, "confirm"},
	}
	for _, c := range cases {
		_, err := s.CreateHumanAdmin(ctx, c.in)
		fields := FieldErrors(err)
		if fields[c.field] == "" {
			t.Errorf("CreateHumanAdmin(%+v) = %v; want a message for %q", c.in.Name, err, c.field)
		}
	}
	var n int64
	s.db.Model(&User{}).Count(&n)
	if n != 1 {
		t.Fatalf("%d users exist after rejected creates; want 1", n)
	}
}

func TestCreateHumanAdminJoinsPublic(t *testing.T) {
	s := openTestStore(t)
	u := mustAdmin(t, s, "ada@example.com")
	var n int64
	s.db.Table("user_teams").Where("user_id = ? AND team_id = ?", u.ID, PublicTeamID).Count(&n)
	if n != 1 {
		t.Fatal("new user is not in the Public team")
	}
	if u.PasswordHash == nil || !strings.HasPrefix(*u.PasswordHash, "$argon2id$") {
		t.Fatal("password not stored as an argon2id hash")
	}
}

func TestAuthenticate(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	admin := mustAdmin(t, s, "ada@example.com")

	// A non-admin human with a known password, a deactivated admin, and a
	// service user (which has no password at all).
	member := mustAdmin(t, s, "mia@example.com")
	s.db.Model(&User{}).Where("id = ?", member.ID).Update("role", RoleMember)
	gone := mustAdmin(t, s, "gus@example.com")
	s.db.Model(&User{}).Where("id = ?", gone.ID).Update("status", StatusDeactivated)
	svc := "sync_bot@service"
	if err := s.db.Create(&User{Kind: KindService, Name: "Sync bot", UserID: &svc, Role: RoleAdmin, Status: StatusActive,
		CreatedAt: s.Now(), UpdatedAt: s.Now()}).Error; err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		email, pw string
		want      error
	}{
		{"ada@example.com", testPassword, nil},
		{"  ADA@example.COM ", testPassword, nil},
		{"ada@example.com", testPassword + "!", ErrInvalidCredentials},
		{"nobody@example.com", testPassword, ErrInvalidCredentials},
		{"gus@example.com", testPassword, ErrInvalidCredentials},
		{"sync_bot@service", "", ErrInvalidCredentials},
		{"mia@example.com", testPassword, ErrNotAdministrator},
		{"mia@example.com", "wrong password for mia", ErrInvalidCredentials},
		{"", "", ErrInvalidCredentials},
	}
	for _, c := range cases {
		u, err := s.Authenticate(ctx, Actor{Kind: ActorAnonymous}, c.email, c.pw)
		if !errors.Is(err, c.want) {
			t.Errorf("Authenticate(%q) = %v; want %v", c.email, err, c.want)
		}
		if c.want == nil && (u == nil || u.ID != admin.ID) {
			t.Errorf("Authenticate(%q) returned %+v", c.email, u)
		}
		if c.want != nil && u != nil {
			t.Errorf("Authenticate(%q) returned a user with an error", c.email)
		}
	}
}

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	u := mustAdmin(t, s, "ada@example.com")
	_, keep, _ := s.CreateSession(ctx, Actor{Kind: ActorHuman, ID: u.ID, Label: u.Handle(), IP: "127.0.0.1", UserAgent: "a"})
	otherTok, _, _ := s.CreateSession(ctx, Actor{Kind: ActorHuman, ID: u.ID, Label: u.Handle(), IP: "127.0.0.2", UserAgent: "b"})

	next := "a brand new passphrase for ada"
	if err := s.ChangePassword(ctx, AsUser(u), "wrong current password", next, next, keep.ID); FieldErrors(err)["current_password"] == "" {
		t.Fatalf("wrong current password: %v", err)
	}
	if err := s.ChangePassword(ctx, AsUser(u), testPassword, "short", "short", keep.ID); FieldErrors(err)["new_password"] == "" {
		t.Fatalf("weak new password: %v", err)
	}
	if err := s.ChangePassword(ctx, AsUser(u), testPassword, testPassword, testPassword, keep.ID); FieldErrors(err)["new_password"] == "" {
		t.Fatalf("unchanged password: %v", err)
	}
	if err := s.ChangePassword(ctx, AsUser(u), testPassword, next, next+"x", keep.ID); FieldErrors(err)["confirm"] == "" {
		t.Fatalf("mismatched confirmation: %v", err)
	}
	if err := s.ChangePassword(ctx, AsUser(u), testPassword, next, next, keep.ID); err != nil {
		t.Fatalf("change password: %v", err)
	}
	if _, err := s.Authenticate(ctx, Actor{Kind: ActorAnonymous}, "ada@example.com", testPassword); !errors.Is(err, ErrInvalidCredentials) {
		t.Error("old password still works")
	}
	if _, err := s.Authenticate(ctx, Actor{Kind: ActorAnonymous}, "ada@example.com", next); err != nil {
		t.Errorf("new password rejected: %v", err)
	}
	if _, _, err := s.SessionByToken(ctx, otherTok); !errors.Is(err, ErrNotFound) {
		t.Errorf("other session survived a password change: %v", err)
	}
	list, _ := s.Sessions(ctx, u.ID)
	if len(list) != 1 || list[0].ID != keep.ID {
		t.Errorf("sessions after change = %+v; want only the current one", list)
	}
}

func TestSetupFlow(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	if need, err := s.NeedsSetup(ctx); !need || err != nil {
		t.Fatalf("NeedsSetup on an empty database = %v, %v", need, err)
	}
	token, err := s.NewSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSetupToken(ctx, "wrong"); !errors.Is(err, ErrInvalidSetupToken) {
		t.Fatalf("wrong token: %v", err)
	}
	if err := s.CheckSetupToken(ctx, ""); !errors.Is(err, ErrInvalidSetupToken) {
		t.Fatalf("empty token: %v", err)
	}
	// A validation error keeps the token usable.
	if _, err := s.CompleteSetup(ctx, Actor{Kind: ActorAnonymous}, token, NewHuman{Name: "Ada", Email: "ada@example.com", Password: "short", Confirm: "short"}); FieldErrors(err)["password"] == "" {
		t.Fatalf("weak password: %v", err)
	}
	in := NewHuman{Name: "Ada", Email: "ada@example.com", Password: testPassword, Confirm: testPassword}
	u, err := s.CompleteSetup(ctx, Actor{Kind: ActorAnonymous}, token, in)
	if err != nil || !u.IsConsoleAdmin() {
		t.Fatalf("CompleteSetup = %+v, %v", u, err)
	}
	if need, _ := s.NeedsSetup(ctx); need {
		t.Fatal("setup still open after the first admin exists")
	}
	in.Email = "eve@example.com"
	if _, err := s.CompleteSetup(ctx, Actor{Kind: ActorAnonymous}, token, in); !errors.Is(err, ErrSetupDone) {
		t.Fatalf("second setup = %v; want ErrSetupDone", err)
	}
	if _, err := s.Setting(ctx, settingSetupTokenHash); !errors.Is(err, ErrNotFound) {
		t.Fatal("setup token hash kept after use")
	}
}

func TestSetupRaceHasOneWinner(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	token, _ := s.NewSetupToken(ctx)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email := string(rune('a'+i)) + "@example.com"
			_, errs[i] = s.CompleteSetup(ctx, Actor{Kind: ActorAnonymous}, token, NewHuman{Name: "Racer", Email: email, Password: testPassword, Confirm: testPassword})
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, ErrSetupDone), errors.Is(err, ErrInvalidSetupToken):
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	var admins int64
	s.db.Model(&User{}).Where("role = 'admin'").Count(&admins)
	if wins != 1 || admins != 1 {
		t.Fatalf("%d setups succeeded and %d admins exist; want exactly one", wins, admins)
	}
}

// TestUserCountsFollowTheTable: user_counts and team_counts, which the
// overview and the Users list's totals read, agree with the users and
// their memberships after the store's changes and after changes made by
// hand, a user's deletion (memberships go by cascade) included.
func TestUserCountsFollowTheTable(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	admin := AsUser(mustAdmin(t, s, "ada@example.com"))
	team, err := s.CreateTeam(ctx, admin, TeamInput{Name: "Counted"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.CreateTeam(ctx, admin, TeamInput{Name: "Also counted"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateServiceUser(ctx, admin, NewServiceUser{Name: "Counted A", Role: RoleMember, TeamIDs: []int64{team.ID, other.ID}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateServiceUser(ctx, admin, NewServiceUser{Name: "Counted B", Role: RoleMember, TeamIDs: []int64{team.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx, admin, a.ID, UserUpdate{Role: RoleManager}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeactivateUser(ctx, admin, b.ID); err != nil {
		t.Fatal(err)
	}
	type row struct {
		Team               int64
		Kind, Role, Status string
		N                  int64
	}
	checkTeams := func(after string) {
		t.Helper()
		var want, got []row
		s.db.Raw(`SELECT ut.team_id AS team, u.kind, u.role, u.status, COUNT(*) AS n FROM user_teams ut JOIN users u ON u.id = ut.user_id
			GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`).Scan(&want)
		s.db.Raw(`SELECT team_id AS team, kind, role, status, n FROM team_counts WHERE n > 0 ORDER BY 1, 2, 3, 4`).Scan(&got)
		if !reflect.DeepEqual(got, want) || len(want) == 0 {
			t.Errorf("after %s: team_counts %+v; the memberships give %+v", after, got, want)
		}
	}
	checkTeams("the store's changes")
	if _, err := s.UpdateUser(ctx, admin, b.ID, UserUpdate{Role: RoleMember, TeamIDs: []int64{other.ID}}); err != nil {
		t.Fatal(err)
	}
	checkTeams("moving a user to another team")
	if err := s.db.Exec(`UPDATE user_teams SET team_id = ? WHERE user_id = ? AND team_id = ?`, team.ID, b.ID, other.ID).Error; err != nil {
		t.Fatal(err)
	}
	checkTeams("moving a membership by hand")
	if s.dialect == Postgres {
		if err := s.db.Exec(`TRUNCATE user_teams`).Error; err != nil {
			t.Fatal(err)
		}
		var n int64
		s.db.Raw(`SELECT COALESCE(SUM(n), 0) FROM team_counts`).Scan(&n)
		if n != 0 {
			t.Errorf("after TRUNCATE user_teams: team_counts holds %d members", n)
		}
		if err := s.db.Exec(`INSERT INTO user_teams (user_id, team_id) SELECT id, 1 FROM users`).Error; err != nil {
			t.Fatal(err)
		}
		if err := s.db.Exec(`INSERT INTO user_teams (user_id, team_id) VALUES (?, ?), (?, ?)`, a.ID, team.ID, a.ID, other.ID).Error; err != nil {
			t.Fatal(err)
		}
		checkTeams("TRUNCATE and inserting by hand")
	}
	for _, q := range []string{
		`UPDATE users SET role = 'admin', status = 'deactivated' WHERE id = ?`,
		`DELETE FROM user_teams WHERE user_id = ? AND team_id <> 1`,
		`DELETE FROM users WHERE id = ?`,
	} {
		if err := s.db.Exec(q, a.ID).Error; err != nil {
			t.Fatal(err)
		}
		checkTeams(q)
		var want, got []struct {
			Kind, Role, Status string
			N                  int64
		}
		s.db.Raw(`SELECT kind, role, status, COUNT(*) AS n FROM users GROUP BY kind, role, status ORDER BY 1, 2, 3`).Scan(&want)
		s.db.Raw(`SELECT kind, role, status, n FROM user_counts WHERE n > 0 ORDER BY 1, 2, 3`).Scan(&got)
		if !reflect.DeepEqual(got, want) || len(want) == 0 {
			t.Errorf("after %q: user_counts %+v; the table has %+v", q, got, want)
		}
	}
	if _, err := s.DeleteTeam(ctx, admin, other.ID); err != nil {
		t.Fatal(err)
	}
	checkTeams("deleting a team")
	o, err := s.Overview(ctx)
	if err != nil || o.ActiveAdmins != 1 || o.ActiveServices != 0 || o.Deactivated != 1 {
		t.Errorf("overview %+v, %v; want 1 admin, no active service user, 1 deactivated", o, err)
	}
}
