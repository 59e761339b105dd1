package models

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Helpers for the lifecycle, team and list tests. They carry an "lc" prefix
// so they cannot collide with helpers other test files of the package add.

func lcService(t *testing.T, s *Store, a Actor, in NewServiceUser) *User {
	t.Helper()
	if in.Role == "" {
		in.Role = RoleMember
	}
	u, err := s.CreateServiceUser(context.Background(), a, in)
	if err != nil {
		t.Fatalf("CreateServiceUser(%q): %v", in.Name, err)
	}
	return u
}

func lcHuman(t *testing.T, s *Store, a Actor, in NewHumanUser) (*User, string) {
	t.Helper()
	if in.Role == "" {
		in.Role = RoleMember
	}
	u, token, err := s.CreateHumanUser(context.Background(), a, in)
	if err != nil {
		t.Fatalf("CreateHumanUser(%q): %v", in.Email, err)
	}
	return u, token
}

func lcTeam(t *testing.T, s *Store, name string) *Team {
	t.Helper()
	team, err := s.CreateTeam(context.Background(), System, TeamInput{Name: name})
	if err != nil {
		t.Fatalf("CreateTeam(%q): %v", name, err)
	}
	return team
}

// lcReload reads the user back from the database, so assertions look at what
// was stored rather than at the struct a method returned.
func lcReload(t *testing.T, s *Store, id int64) *User {
	t.Helper()
	u, err := s.UserByID(context.Background(), id)
	if err != nil {
		t.Fatalf("UserByID(%d): %v", id, err)
	}
	return u
}

// lcMemberships returns the team ids a user belongs to, sorted.
func lcMemberships(t *testing.T, s *Store, userID int64) []int64 {
	t.Helper()
	var ids []int64
	if err := s.db.Raw(`SELECT team_id FROM user_teams WHERE user_id = ? ORDER BY team_id`, userID).Scan(&ids).Error; err != nil {
		t.Fatalf("memberships of %d: %v", userID, err)
	}
	if ids == nil {
		ids = []int64{}
	}
	return ids
}

func lcCount(t *testing.T, s *Store, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.db.Raw(sql, args...).Scan(&n).Error; err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func lcSessions(t *testing.T, s *Store, userID int64) int64 {
	t.Helper()
	return lcCount(t, s, `SELECT COUNT(*) FROM sessions WHERE user_id = ?`, userID)
}

func lcActiveHumanAdmins(t *testing.T, s *Store) int64 {
	t.Helper()
	return lcCount(t, s, `SELECT COUNT(*) FROM users WHERE kind = 'human' AND role = 'admin' AND status = 'active'`)
}

// lcWantField fails unless err is a ValidationError with a message for field
// that contains substr (case-insensitively; "" accepts any message).
func lcWantField(t *testing.T, what string, err error, field, substr string) {
	t.Helper()
	fields := FieldErrors(err)
	msg, ok := fields[field]
	if !ok || msg == "" {
		t.Errorf("%s: error = %v; want a validation message for %q", what, err, field)
		return
	}
	if substr != "" && !strings.Contains(strings.ToLower(msg), strings.ToLower(substr)) {
		t.Errorf("%s: message for %q = %q; want it to mention %q", what, field, msg, substr)
	}
}

func lcSessionFor(t *testing.T, s *Store, userID int64) string {
	t.Helper()
	tok, _, err := s.CreateSession(context.Background(), Actor{Kind: ActorHuman, ID: userID, IP: "192.0.2.1", UserAgent: "test"})
	if err != nil {
		t.Fatalf("CreateSession(%d): %v", userID, err)
	}
	return tok
}

func TestCreateServiceUser(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	admin := mustAdmin(t, s, "ada@example.com")
	alpha := lcTeam(t, s, "Alpha")
	beta := lcTeam(t, s, "Beta")

	u, err := s.CreateServiceUser(ctx, AsUser(admin), NewServiceUser{
		Name:        "  Airflow Service User ",
		Role:        RoleManager,
		TeamIDs:     []int64{beta.ID, alpha.ID, beta.ID, PublicTeamID, alpha.ID},
		Description: "Runs the nightly DAGs.\nPaged via #data-oncall.",
		Owner:       Owner{TeamID: alpha.ID},
	})
	if err != nil {
		t.Fatalf("CreateServiceUser: %v", err)
	}
	got := lcReload(t, s, u.ID)
	if got.UserID == nil || *got.UserID != "airflow_service_user@service" {
		t.Errorf("user_id = %v; want airflow_service_user@service", got.UserID)
	}
	if got.Name != "Airflow Service User" {
		t.Errorf("name = %q; want the trimmed display name", got.Name)
	}
	if got.Kind != KindService || got.Role != RoleManager || got.Status != StatusActive {
		t.Errorf("kind/role/status = %s/%s/%s; want service/manager/active", got.Kind, got.Role, got.Status)
	}
	if got.Email != nil || got.PasswordHash != nil {
		t.Errorf("a service user has no email or password; got email %v, hash %v", got.Email, got.PasswordHash)
	}
	if want := []int64{PublicTeamID, alpha.ID, beta.ID}; !reflect.DeepEqual(lcMemberships(t, s, u.ID), want) {
		t.Errorf("memberships = %v; want %v (Public plus each chosen team once)", lcMemberships(t, s, u.ID), want)
	}
	if got.TeamCount != 3 || u.TeamCount != 3 {
		t.Errorf("team_count stored %d, returned %d; want 3", got.TeamCount, u.TeamCount)
	}
	if want := "airflow service user airflow service user service"; got.SearchText != want {
		t.Errorf("search_text = %q; want %q", got.SearchText, want)
	}
	if got.Description != "Runs the nightly DAGs.\nPaged via #data-oncall." {
		t.Errorf("description = %q; newlines must be kept", got.Description)
	}
	if got.OwnerTeamID == nil || *got.OwnerTeamID != alpha.ID || got.OwnerUserID != nil {
		t.Errorf("owner = user %v team %v; want team %d", got.OwnerUserID, got.OwnerTeamID, alpha.ID)
	}
	if got.CreatedBy == nil || *got.CreatedBy != admin.ID {
		t.Errorf("created_by = %v; want %d", got.CreatedBy, admin.ID)
	}

	// With no teams chosen the user is still in Public.
	plain := lcService(t, s, AsUser(admin), NewServiceUser{Name: "Plain Bot"})
	if want := []int64{PublicTeamID}; !reflect.DeepEqual(lcMemberships(t, s, plain.ID), want) || lcReload(t, s, plain.ID).TeamCount != 1 {
		t.Errorf("memberships of a user without teams = %v (count %d); want only Public",
			lcMemberships(t, s, plain.ID), lcReload(t, s, plain.ID).TeamCount)
	}

	// An owner who is an active person.
	person, _ := lcHuman(t, s, AsUser(admin), NewHumanUser{Name: "Olga Owner", Email: "olga@example.com"})
	owned := lcService(t, s, AsUser(admin), NewServiceUser{Name: "Owned Bot", Owner: Owner{UserID: person.ID}})
	if got := lcReload(t, s, owned.ID); got.OwnerUserID == nil || *got.OwnerUserID != person.ID || got.OwnerTeamID != nil {
		t.Errorf("owner = user %v team %v; want user %d", got.OwnerUserID, got.OwnerTeamID, person.ID)
	}
}

func TestCreateServiceUserValidation(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	admin := mustAdmin(t, s, "ada@example.com")
	alpha := lcTeam(t, s, "Alpha")
	lcService(t, s, AsUser(admin), NewServiceUser{Name: "Airflow Service User"})
	gone, _ := lcHuman(t, s, AsUser(admin), NewHumanUser{Name: "Gone Person", Email: "gone@example.com"})
	if _, err := s.DeactivateUser(ctx, AsUser(admin), gone.ID); err != nil {
		t.Fatal(err)
	}
	bot := lcService(t, s, AsUser(admin), NewServiceUser{Name: "Other Bot"})

	cases := []struct {
		name   string
		in     NewServiceUser
		field  string
		substr string
	}{
		{"no letters or digits", NewServiceUser{Name: "!!!", Role: RoleMember}, "name", "at least one letter or digit"},
		{"empty name", NewServiceUser{Name: "   ", Role: RoleMember}, "name", ""},
		{"duplicate user_id", NewServiceUser{Name: "AIRFLOW  service user", Role: RoleMember}, "name", "airflow_service_user@service"},
		{"unknown team", NewServiceUser{Name: "New Bot", Role: RoleMember, TeamIDs: []int64{alpha.ID, 9999}}, "teams", ""},
		{"unknown owner person", NewServiceUser{Name: "New Bot", Role: RoleMember, Owner: Owner{UserID: 9999}}, "owner", ""},
		{"deactivated owner", NewServiceUser{Name: "New Bot", Role: RoleMember, Owner: Owner{UserID: gone.ID}}, "owner", ""},
		{"service user as owner", NewServiceUser{Name: "New Bot", Role: RoleMember, Owner: Owner{UserID: bot.ID}}, "owner", ""},
		{"unknown owner team", NewServiceUser{Name: "New Bot", Role: RoleMember, Owner: Owner{TeamID: 9999}}, "owner", ""},
		{"invalid role", NewServiceUser{Name: "New Bot", Role: "root"}, "role", ""},
		{"missing role", NewServiceUser{Name: "New Bot"}, "role", ""},
		{"control character in description", NewServiceUser{Name: "New Bot", Role: RoleMember, Description: "beep\x07"}, "description", ""},
		{"bidi control in description", NewServiceUser{Name: "New Bot", Role: RoleMember, Description: "abc\u202Edef"}, "description", ""},
	}
	before := lcCount(t, s, `SELECT COUNT(*) FROM users`)
	for _, c := range cases {
		u, err := s.CreateServiceUser(ctx, AsUser(admin), c.in)
		lcWantField(t, c.name, err, c.field, c.substr)
		if u != nil {
			t.Errorf("%s: returned a user along with the error", c.name)
		}
	}
	if after := lcCount(t, s, `SELECT COUNT(*) FROM users`); after != before {
		t.Errorf("%d users after rejected creates; want %d", after, before)
	}
	if n := lcCount(t, s, `SELECT COUNT(*) FROM user_teams ut LEFT JOIN users u ON u.id = ut.user_id WHERE u.id IS NULL`); n != 0 {
		t.Errorf("%d orphaned memberships after rejected creates", n)
	}
}

func TestCreateServiceUserConflictsWithDeactivated(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	admin := mustAdmin(t, s, "ada@example.com")
	old := lcService(t, s, AsUser(admin), NewServiceUser{Name: "Airflow Service User"})
	if _, err := s.DeactivateUser(ctx, AsUser(admin), old.ID); err != nil {
		t.Fatalf("deactivate: %v", err)
	}
	_, err := s.CreateServiceUser(ctx, AsUser(admin), NewServiceUser{Name: "airflow_service_user", Role: RoleMember})
	lcWantField(t, "user_id of a deactivated user", err, "name", "airflow_service_user@service")
	if n := lcCount(t, s, `SELECT COUNT(*) FROM users WHERE user_id LIKE 'airflow%'`); n != 1 {
		t.Errorf("%d airflow users exist; a conflict must never add a suffix silently", n)
	}
}

func TestCreateHumanUser(t *testing.T) {
	for _, role := range []Role{RoleAdmin, RoleMember} {
		t.Run(string(role), func(t *testing.T) {
			s := openTestStore(t)
			ctx := context.Background()
			admin := mustAdmin(t, s, "ada@example.com")
			alpha := lcTeam(t, s, "Alpha")

			u, token, err := s.CreateHumanUser(ctx, AsUser(admin), NewHumanUser{
				Name: "Hugo Human", Email: " Hugo@Example.com ", Role: role, TeamIDs: []int64{alpha.ID, alpha.ID},
			})
			if err != nil {
				t.Fatalf("CreateHumanUser: %v", err)
			}
			if token == "" {
				t.Fatal("no set-password token returned")
			}
			got := lcReload(t, s, u.ID)
			if got.Kind != KindHuman || got.Role != role || got.UserID != nil || got.Email == nil || *got.Email != "Hugo@Example.com" {
				t.Errorf("stored user = kind %s role %s user_id %v email %v", got.Kind, got.Role, got.UserID, got.Email)
			}
			if got.PasswordHash != nil {
				t.Error("a new person must have no password until they use the link")
			}
			if got.CreatedBy == nil || *got.CreatedBy != admin.ID {
				t.Errorf("created_by = %v; want %d", got.CreatedBy, admin.ID)
			}
			if want := []int64{PublicTeamID, alpha.ID}; !reflect.DeepEqual(lcMemberships(t, s, u.ID), want) || got.TeamCount != 2 {
				t.Errorf("memberships = %v, team_count %d; want %v, 2", lcMemberships(t, s, u.ID), got.TeamCount, want)
			}
			if got.SearchText != "hugo human hugo example com" {
				t.Errorf("search_text = %q; want the words of the name and email", got.SearchText)
			}
			for _, pw := range []string{"", testPassword, token} {
				if _, err := s.Authenticate(ctx, Actor{Kind: ActorAnonymous}, "hugo@example.com", pw); !errors.Is(err, ErrInvalidCredentials) {
					t.Errorf("Authenticate before a password was set (pw %q) = %v; want ErrInvalidCredentials", pw, err)
				}
			}
			if pending, err := s.PendingPasswordLink(ctx, u.ID); err != nil || !pending {
				t.Errorf("PendingPasswordLink = %v, %v; want true", pending, err)
			}
			if n := lcCount(t, s, `SELECT COUNT(*) FROM password_links WHERE token_hash = ?`, token); n != 0 {
				t.Error("the set-password token is stored in clear")
			}

			linkUser, err := s.PasswordLinkUser(ctx, token)
			if err != nil || linkUser.ID != u.ID {
				t.Fatalf("PasswordLinkUser = %+v, %v; want user %d", linkUser, err, u.ID)
			}

			// Policy and confirmation are enforced, and a refusal does not use
			// the link up.
			_, err = s.SetPasswordWithLink(ctx, Actor{Kind: ActorAnonymous}, token, "short", "short")
			lcWantField(t, "short password", err, "password", "")
			_, err = s.SetPasswordWithLink(ctx, Actor{Kind: ActorAnonymous}, token, "hugo@example.com", "hugo@example.com")
			lcWantField(t, "password equal to the email", err, "password", "")
			_, err = s.SetPasswordWithLink(ctx, Actor{Kind: ActorAnonymous}, token, testPassword, testPassword+"!")
			lcWantField(t, "mismatched confirmation", err, "confirm", "")
			if _, err := s.PasswordLinkUser(ctx, token); err != nil {
				t.Fatalf("link unusable after refused attempts: %v", err)
			}

			sessTok := lcSessionFor(t, s, u.ID)
			if _, err := s.SetPasswordWithLink(ctx, Actor{Kind: ActorAnonymous}, token, testPassword, testPassword); err != nil {
				t.Fatalf("SetPasswordWithLink: %v", err)
			}
			if _, _, err := s.SessionByToken(ctx, sessTok); !errors.Is(err, ErrNotFound) {
				t.Errorf("session from before the password was set = %v; want ErrNotFound", err)
			}
			if n := lcSessions(t, s, u.ID); n != 0 {
				t.Errorf("%d sessions left after setting the password; want 0", n)
			}
			if _, err := s.SetPasswordWithLink(ctx, Actor{Kind: ActorAnonymous}, token, "another long passphrase here", "another long passphrase here"); !errors.Is(err, ErrLinkInvalid) {
				t.Errorf("second use of the link = %v; want ErrLinkInvalid", err)
			}
			if _, err := s.PasswordLinkUser(ctx, token); !errors.Is(err, ErrLinkInvalid) {
				t.Errorf("PasswordLinkUser after use = %v; want ErrLinkInvalid", err)
			}
			if got := lcReload(t, s, u.ID); got.PasswordHash == nil || !strings.HasPrefix(*got.PasswordHash, "$argon2id$") || got.PasswordChangedAt == nil {
				t.Error("the password was not stored as an argon2id hash")
			}

			authed, err := s.Authenticate(ctx, Actor{Kind: ActorAnonymous}, "HUGO@example.com", testPassword)
			switch role {
			case RoleAdmin:
				if err != nil || authed.ID != u.ID {
					t.Errorf("admin Authenticate = %+v, %v; want the user", authed, err)
				}
			default:
				if !errors.Is(err, ErrNotAdministrator) {
					t.Errorf("member Authenticate = %v; want ErrNotAdministrator", err)
				}
			}
		})
	}
}

func TestCreateHumanUserEmailUnique(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	admin := mustAdmin(t, s, "ada@example.com")
	lcHuman(t, s, AsUser(admin), NewHumanUser{Name: "Bea", Email: "bea@example.com"})
	gone, _ := lcHuman(t, s, AsUser(admin), NewHumanUser{Name: "Gus", Email: "gus@example.com"})
	if _, err := s.DeactivateUser(ctx, AsUser(admin), gone.ID); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		what  string
		in    NewHumanUser
		field string
	}{
		{"same email", NewHumanUser{Name: "Bea 2", Email: "bea@example.com", Role: RoleMember}, "email"},
		{"other case", NewHumanUser{Name: "Bea 2", Email: "BEA@Example.COM", Role: RoleMember}, "email"},
		{"the first admin's email", NewHumanUser{Name: "Ada 2", Email: "Ada@example.com", Role: RoleAdmin}, "email"},
		{"deactivated person's email", NewHumanUser{Name: "Gus 2", Email: "GUS@example.com", Role: RoleMember}, "email"},
		{"invalid email", NewHumanUser{Name: "Zed", Email: "zed", Role: RoleMember}, "email"},
		{"invalid role", NewHumanUser{Name: "Zed", Email: "zed@example.com", Role: "owner"}, "role"},
		{"no name", NewHumanUser{Name: "", Email: "zed@example.com", Role: RoleMember}, "name"},
		{"unknown team", NewHumanUser{Name: "Zed", Email: "zed@example.com", Role: RoleMember, TeamIDs: []int64{4242}}, "teams"},
	}
	before := lcCount(t, s, `SELECT COUNT(*) FROM users`)
	for _, c := range cases {
		u, token, err := s.CreateHumanUser(ctx, AsUser(admin), c.in)
		lcWantField(t, c.what, err, c.field, "")
		if u != nil || token != "" {
			t.Errorf("%s: returned a user or token along with the error", c.what)
		}
	}
	if after := lcCount(t, s, `SELECT COUNT(*) FROM users`); after != before {
		t.Errorf("%d users after rejected creates; want %d", after, before)
	}
}

func TestPasswordLinkExpiry(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	admin := mustAdmin(t, s, "ada@example.com")
	u, token := lcHuman(t, s, AsUser(admin), NewHumanUser{Name: "Hugo", Email: "hugo@example.com", Role: RoleAdmin})

	clock.Advance(71*time.Hour + 59*time.Minute)
	if got, err := s.PasswordLinkUser(ctx, token); err != nil || got.ID != u.ID {
		t.Fatalf("link at 71h59m = %v, %v; want valid", got, err)
	}
	clock.Advance(time.Minute)
	if _, err := s.PasswordLinkUser(ctx, token); !errors.Is(err, ErrLinkInvalid) {
		t.Fatalf("link at exactly 72h = %v; want ErrLinkInvalid", err)
	}
	if _, err := s.SetPasswordWithLink(ctx, Actor{Kind: ActorAnonymous}, token, testPassword, testPassword); !errors.Is(err, ErrLinkInvalid) {
		t.Fatalf("SetPasswordWithLink with an expired link = %v; want ErrLinkInvalid", err)
	}
	if pending, _ := s.PendingPasswordLink(ctx, u.ID); pending {
		t.Error("PendingPasswordLink reports an expired link")
	}

	// A reset issues a fresh link with a fresh 72 hours.
	fresh, err := s.IssuePasswordLink(ctx, AsUser(admin), u.ID)
	if err != nil || fresh == "" {
		t.Fatalf("IssuePasswordLink = %q, %v", fresh, err)
	}
	clock.Advance(71 * time.Hour)
	if _, err := s.PasswordLinkUser(ctx, fresh); err != nil {
		t.Fatalf("reissued link after 71h = %v; want valid", err)
	}
	clock.Advance(time.Hour)
	if _, err := s.PasswordLinkUser(ctx, fresh); !errors.Is(err, ErrLinkInvalid) {
		t.Fatalf("reissued link after 72h = %v; want ErrLinkInvalid", err)
	}
}

func TestIssuePasswordLink(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	admin := mustAdmin(t, s, "ada@example.com")
	u, oldToken := lcHuman(t, s, AsUser(admin), NewHumanUser{Name: "Hugo", Email: "hugo@example.com", Role: RoleAdmin})

	newToken, err := s.IssuePasswordLink(ctx, AsUser(admin), u.ID)
	if err != nil {
		t.Fatalf("IssuePasswordLink: %v", err)
	}
	if newToken == "" || newToken == oldToken {
		t.Fatalf("IssuePasswordLink returned %q; want a new token", newToken)
	}
	if _, err := s.PasswordLinkUser(ctx, oldToken); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("old link after a reissue = %v; want ErrLinkInvalid", err)
	}
	if n := lcCount(t, s, `SELECT COUNT(*) FROM password_links WHERE user_id = ?`, u.ID); n != 1 {
		t.Errorf("%d links stored for the user; want exactly 1", n)
	}
	if got, err := s.PasswordLinkUser(ctx, newToken); err != nil || got.ID != u.ID {
		t.Errorf("new link = %v, %v; want valid", got, err)
	}
	for _, bad := range []string{"", "nonsense", strings.Repeat("x", 200)} {
		if _, err := s.PasswordLinkUser(ctx, bad); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("PasswordLinkUser(%.20q) = %v; want ErrLinkInvalid", bad, err)
		}
	}

	svc := lcService(t, s, AsUser(admin), NewServiceUser{Name: "Sync Bot"})
	tok, err := s.IssuePasswordLink(ctx, AsUser(admin), svc.ID)
	if RuleMessage(err) == "" || tok != "" {
		t.Errorf("IssuePasswordLink for a service user = %q, %v; want a RuleError", tok, err)
	}
	gone, _ := lcHuman(t, s, AsUser(admin), NewHumanUser{Name: "Gus", Email: "gus@example.com"})
	if _, err := s.DeactivateUser(ctx, AsUser(admin), gone.ID); err != nil {
		t.Fatal(err)
	}
	tok, err = s.IssuePasswordLink(ctx, AsUser(admin), gone.ID)
	if RuleMessage(err) == "" || tok != "" {
		t.Errorf("IssuePasswordLink for a deactivated person = %q, %v; want a RuleError", tok, err)
	}
	if n := lcCount(t, s, `SELECT COUNT(*) FROM password_links WHERE user_id IN (?, ?)`, svc.ID, gone.ID); n != 0 {
		t.Errorf("%d links stored for a service user or deactivated person; want 0", n)
	}
	if _, err := s.IssuePasswordLink(ctx, AsUser(admin), 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("IssuePasswordLink for an unknown user = %v; want ErrNotFound", err)
	}
}

func TestUpdateUser(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	admin := mustAdmin(t, s, "ada@example.com")
	alpha := lcTeam(t, s, "Alpha")
	beta := lcTeam(t, s, "Beta")
	person, _ := lcHuman(t, s, AsUser(admin), NewHumanUser{Name: "Olga", Email: "olga@example.com"})
	svc := lcService(t, s, AsUser(admin), NewServiceUser{
		Name: "Sync Bot", Role: RoleMember, TeamIDs: []int64{alpha.ID}, Description: "old", Owner: Owner{TeamID: alpha.ID},
	})
	before := lcReload(t, s, svc.ID)

	u, err := s.UpdateUser(ctx, AsUser(admin), svc.ID, UserUpdate{
		Role: RoleManager, TeamIDs: []int64{beta.ID, beta.ID, PublicTeamID}, Description: "new\nline", Owner: Owner{UserID: person.ID},
	})
	if err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	got := lcReload(t, s, svc.ID)
	if got.Role != RoleManager || got.Description != "new\nline" {
		t.Errorf("role/description = %s/%q; want manager/%q", got.Role, got.Description, "new\nline")
	}
	if got.OwnerUserID == nil || *got.OwnerUserID != person.ID || got.OwnerTeamID != nil {
		t.Errorf("owner = user %v team %v; want user %d only", got.OwnerUserID, got.OwnerTeamID, person.ID)
	}
	if want := []int64{PublicTeamID, beta.ID}; !reflect.DeepEqual(lcMemberships(t, s, svc.ID), want) || got.TeamCount != 2 || u.TeamCount != 2 {
		t.Errorf("memberships = %v, stored team_count %d, returned %d; want %v, 2", lcMemberships(t, s, svc.ID), got.TeamCount, u.TeamCount, want)
	}
	if got.Name != before.Name || got.UserID == nil || *got.UserID != *before.UserID || got.SearchText != before.SearchText {
		t.Errorf("name/user_id changed: %q %v; want %q %q", got.Name, got.UserID, before.Name, *before.UserID)
	}

	// Clearing the owner stores NULL (GORM's Updates(struct) would skip it).
	if _, err := s.UpdateUser(ctx, AsUser(admin), svc.ID, UserUpdate{Role: RoleManager, Description: "new"}); err != nil {
		t.Fatalf("UpdateUser clearing the owner: %v", err)
	}
	if got := lcReload(t, s, svc.ID); got.OwnerUserID != nil || got.OwnerTeamID != nil {
		t.Errorf("owner after clearing = user %v team %v; want NULL", got.OwnerUserID, got.OwnerTeamID)
	}
	if n := lcCount(t, s, `SELECT COUNT(*) FROM users WHERE id = ? AND owner_user_id IS NULL AND owner_team_id IS NULL`, svc.ID); n != 1 {
		t.Error("owner columns are not NULL in the database")
	}
	if want := []int64{PublicTeamID}; !reflect.DeepEqual(lcMemberships(t, s, svc.ID), want) || lcReload(t, s, svc.ID).TeamCount != 1 {
		t.Errorf("memberships after clearing teams = %v; want only Public", lcMemberships(t, s, svc.ID))
	}

	// An owner as a team works too.
	if _, err := s.UpdateUser(ctx, AsUser(admin), svc.ID, UserUpdate{Role: RoleManager, Owner: Owner{TeamID: beta.ID}}); err != nil {
		t.Fatalf("UpdateUser with a team owner: %v", err)
	}
	if got := lcReload(t, s, svc.ID); got.OwnerTeamID == nil || *got.OwnerTeamID != beta.ID || got.OwnerUserID != nil {
		t.Errorf("owner = user %v team %v; want team %d", got.OwnerUserID, got.OwnerTeamID, beta.ID)
	}

	// Refusals leave the user as it was.
	snapshot := lcReload(t, s, svc.ID)
	refusals := []struct {
		what  string
		in    UserUpdate
		field string
	}{
		{"owner is the user itself", UserUpdate{Role: RoleMember, Owner: Owner{UserID: svc.ID}}, "owner"},
		{"unknown owner", UserUpdate{Role: RoleMember, Owner: Owner{UserID: 9999}}, "owner"},
		{"unknown owner team", UserUpdate{Role: RoleMember, Owner: Owner{TeamID: 9999}}, "owner"},
		{"unknown team", UserUpdate{Role: RoleMember, TeamIDs: []int64{9999}}, "teams"},
		{"invalid role", UserUpdate{Role: "root"}, "role"},
		{"control character", UserUpdate{Role: RoleMember, Description: "\x1b[31mred"}, "description"},
	}
	for _, c := range refusals {
		_, err := s.UpdateUser(ctx, AsUser(admin), svc.ID, c.in)
		lcWantField(t, c.what, err, c.field, "")
	}
	if got := lcReload(t, s, svc.ID); !reflect.DeepEqual(got, snapshot) {
		t.Errorf("refused updates changed the user:\n got %+v\nwant %+v", got, snapshot)
	}
	if _, err := s.UpdateUser(ctx, AsUser(admin), 9999, UserUpdate{Role: RoleMember}); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateUser of an unknown id = %v; want ErrNotFound", err)
	}
}

func TestUpdateUserDemotionEndsSessions(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	ada := mustAdmin(t, s, "ada@example.com")
	bob := mustAdmin(t, s, "bob@example.com")
	adaTok := lcSessionFor(t, s, ada.ID)
	bobTok := lcSessionFor(t, s, bob.ID)
	lcSessionFor(t, s, bob.ID)

	// An edit that keeps the Admin role keeps the sessions.
	if _, err := s.UpdateUser(ctx, AsUser(ada), bob.ID, UserUpdate{Role: RoleAdmin, Description: "on call"}); err != nil {
		t.Fatalf("UpdateUser keeping admin: %v", err)
	}
	if n := lcSessions(t, s, bob.ID); n != 2 {
		t.Fatalf("%d sessions after an edit that kept the Admin role; want 2", n)
	}

	if _, err := s.UpdateUser(ctx, AsUser(ada), bob.ID, UserUpdate{Role: RoleManager}); err != nil {
		t.Fatalf("demote: %v", err)
	}
	if n := lcSessions(t, s, bob.ID); n != 0 {
		t.Errorf("%d sessions of the demoted admin remain; want 0", n)
	}
	if _, _, err := s.SessionByToken(ctx, bobTok); !errors.Is(err, ErrNotFound) {
		t.Errorf("demoted admin's session = %v; want ErrNotFound", err)
	}
	if _, _, err := s.SessionByToken(ctx, adaTok); err != nil {
		t.Errorf("the acting admin's session ended too: %v", err)
	}
	if got := lcReload(t, s, bob.ID); got.Role != RoleManager {
		t.Errorf("role = %s; want manager", got.Role)
	}
}

func TestLastAdminRule(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	ada := mustAdmin(t, s, "ada@example.com")
	alpha := lcTeam(t, s, "Alpha")

	// None of these count as a second active human admin.
	svcAdmin := lcService(t, s, AsUser(ada), NewServiceUser{Name: "Deploy Bot", Role: RoleAdmin})
	lcHuman(t, s, AsUser(ada), NewHumanUser{Name: "Mia", Email: "mia@example.com", Role: RoleManager})
	gone, _ := lcHuman(t, s, AsUser(ada), NewHumanUser{Name: "Gus", Email: "gus@example.com", Role: RoleAdmin})
	if _, err := s.DeactivateUser(ctx, AsUser(ada), gone.ID); err != nil {
		t.Fatal(err)
	}
	tok := lcSessionFor(t, s, ada.ID)
	before := lcReload(t, s, ada.ID)
	beforeTeams := lcMemberships(t, s, ada.ID)

	for _, role := range []Role{RoleMember, RoleManager} {
		u, err := s.UpdateUser(ctx, AsUser(ada), ada.ID, UserUpdate{Role: role, TeamIDs: []int64{alpha.ID}, Description: "changed"})
		if !errors.Is(err, ErrLastAdmin) || u != nil {
			t.Errorf("demoting the last admin to %s = %+v, %v; want ErrLastAdmin", role, u, err)
		}
	}
	if RuleMessage(ErrLastAdmin) == "" {
		t.Error("ErrLastAdmin has no message for the administrator")
	}
	if _, err := s.DeactivateUser(ctx, AsUser(ada), ada.ID); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("deactivating the last admin = %v; want ErrLastAdmin", err)
	}
	if got := lcReload(t, s, ada.ID); !reflect.DeepEqual(got, before) {
		t.Errorf("refused changes altered the admin:\n got %+v\nwant %+v", got, before)
	}
	if got := lcMemberships(t, s, ada.ID); !reflect.DeepEqual(got, beforeTeams) {
		t.Errorf("refused change altered memberships: %v; want %v", got, beforeTeams)
	}
	if _, _, err := s.SessionByToken(ctx, tok); err != nil {
		t.Errorf("refused change ended the admin's session: %v", err)
	}

	// The service admin can be demoted freely: it never counted.
	if _, err := s.UpdateUser(ctx, AsUser(ada), svcAdmin.ID, UserUpdate{Role: RoleMember}); err != nil {
		t.Errorf("demoting a service admin: %v", err)
	}

	// With a second active human admin, one of them can go.
	bob := mustAdmin(t, s, "bob@example.com")
	if _, err := s.UpdateUser(ctx, AsUser(bob), ada.ID, UserUpdate{Role: RoleMember}); err != nil {
		t.Fatalf("demoting one of two admins: %v", err)
	}
	if _, err := s.UpdateUser(ctx, AsUser(bob), bob.ID, UserUpdate{Role: RoleMember}); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("demoting the remaining admin = %v; want ErrLastAdmin", err)
	}
	if _, err := s.DeactivateUser(ctx, AsUser(bob), bob.ID); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("deactivating the remaining admin = %v; want ErrLastAdmin", err)
	}
	// Restoring the deactivated admin gives a second one again.
	if _, err := s.ReactivateUser(ctx, AsUser(bob), gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeactivateUser(ctx, AsUser(gone), bob.ID); err != nil {
		t.Errorf("deactivating one of two admins: %v", err)
	}
	if n := lcActiveHumanAdmins(t, s); n != 1 {
		t.Errorf("%d active human admins; want 1", n)
	}
}

// TestLastAdminRuleUnderConcurrency has two admins demote or deactivate each
// other at the same instant, on a fresh database each round: exactly one call
// may win, and one active human admin must remain.
func TestLastAdminRuleUnderConcurrency(t *testing.T) {
	for round := range raceRounds() {
		// Even rounds: both demote. Odd rounds cycle through one side
		// deactivating, the other side deactivating, and both deactivating.
		var deactivate [2]bool
		if round%2 == 1 {
			switch (round / 2) % 3 {
			case 0:
				deactivate = [2]bool{true, false}
			case 1:
				deactivate = [2]bool{false, true}
			case 2:
				deactivate = [2]bool{true, true}
			}
		}
		t.Run(fmt.Sprintf("round%03d", round), func(t *testing.T) {
			s := openTestStore(t)
			ctx := context.Background()
			admins := [2]*User{mustAdmin(t, s, "a@example.com"), mustAdmin(t, s, "b@example.com")}

			var ready, done sync.WaitGroup
			start := make(chan struct{})
			var errs [2]error
			for i := range 2 {
				ready.Add(1)
				done.Add(1)
				go func() {
					defer done.Done()
					actor, target := admins[i], admins[1-i]
					ready.Done()
					<-start
					if deactivate[i] {
						_, errs[i] = s.DeactivateUser(ctx, AsUser(actor), target.ID)
					} else {
						_, errs[i] = s.UpdateUser(ctx, AsUser(actor), target.ID, UserUpdate{Role: RoleMember})
					}
				}()
			}
			ready.Wait()
			close(start)
			done.Wait()

			winner := -1
			for i, err := range errs {
				switch {
				case err == nil:
					if winner >= 0 {
						t.Errorf("both calls succeeded (deactivate=%v)", deactivate)
					}
					winner = i
				case errors.Is(err, ErrLastAdmin):
				default:
					t.Errorf("call %d (deactivate=%v) = %v; want nil or ErrLastAdmin", i, deactivate[i], err)
				}
			}
			if winner < 0 {
				t.Fatalf("no call succeeded: %v / %v", errs[0], errs[1])
			}
			if n := lcActiveHumanAdmins(t, s); n != 1 {
				t.Fatalf("%d active human admins remain; want exactly 1 (errors %v / %v)", n, errs[0], errs[1])
			}
			survivor := lcReload(t, s, admins[winner].ID)
			if !survivor.IsConsoleAdmin() {
				t.Errorf("the winning actor %d is no longer an active admin: %s/%s", survivor.ID, survivor.Role, survivor.Status)
			}
			loser := lcReload(t, s, admins[1-winner].ID)
			if loser.IsConsoleAdmin() {
				t.Errorf("the losing side %d is still an active admin", loser.ID)
			}
		})
	}
}

func TestDeactivateAndReactivate(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	ada := mustAdmin(t, s, "ada@example.com")
	alpha := lcTeam(t, s, "Alpha")
	beta := lcTeam(t, s, "Beta")

	// A person with sessions and a pending set-password link.
	bob, linkTok := lcHuman(t, s, AsUser(ada), NewHumanUser{Name: "Bob", Email: "bob@example.com", Role: RoleAdmin, TeamIDs: []int64{alpha.ID}})
	lcSessionFor(t, s, bob.ID)
	lcSessionFor(t, s, bob.ID)
	adaTok := lcSessionFor(t, s, ada.ID)

	clock.Advance(10 * time.Minute)
	u, err := s.DeactivateUser(ctx, AsUser(ada), bob.ID)
	if err != nil {
		t.Fatalf("DeactivateUser: %v", err)
	}
	if u.Status != StatusDeactivated {
		t.Errorf("returned status %s; want deactivated", u.Status)
	}
	got := lcReload(t, s, bob.ID)
	if got.Status != StatusDeactivated || got.DeactivatedAt == nil || !got.DeactivatedAt.Equal(clock.Now()) {
		t.Errorf("stored status %s, deactivated_at %v; want deactivated at %v", got.Status, got.DeactivatedAt, clock.Now())
	}
	if n := lcSessions(t, s, bob.ID); n != 0 {
		t.Errorf("%d sessions of a deactivated person remain; want 0", n)
	}
	if n := lcCount(t, s, `SELECT COUNT(*) FROM password_links WHERE user_id = ?`, bob.ID); n != 0 {
		t.Errorf("%d pending password links of a deactivated person remain; want 0", n)
	}
	if _, _, err := s.SessionByToken(ctx, adaTok); err != nil {
		t.Errorf("deactivating Bob ended Ada's session: %v", err)
	}

	// Twice is harmless and does not move deactivated_at.
	clock.Advance(10 * time.Minute)
	if _, err := s.DeactivateUser(ctx, AsUser(ada), bob.ID); err != nil {
		t.Errorf("second DeactivateUser = %v; want nil", err)
	}
	if again := lcReload(t, s, bob.ID); again.Status != StatusDeactivated || again.DeactivatedAt == nil || !again.DeactivatedAt.Equal(*got.DeactivatedAt) {
		t.Errorf("after a second deactivation: status %s, deactivated_at %v; want unchanged %v", again.Status, again.DeactivatedAt, got.DeactivatedAt)
	}

	// A service user with teams and a role.
	svc := lcService(t, s, AsUser(ada), NewServiceUser{Name: "Sync Bot", Role: RoleManager, TeamIDs: []int64{alpha.ID, beta.ID}})
	if _, err := s.DeactivateUser(ctx, AsUser(ada), svc.ID); err != nil {
		t.Fatalf("deactivate service user: %v", err)
	}

	for _, id := range []int64{bob.ID, svc.ID} {
		before := lcReload(t, s, id)
		teams := lcMemberships(t, s, id)
		r, err := s.ReactivateUser(ctx, AsUser(ada), id)
		if err != nil {
			t.Fatalf("ReactivateUser(%d): %v", id, err)
		}
		after := lcReload(t, s, id)
		if r.Status != StatusActive || after.Status != StatusActive || after.DeactivatedAt != nil {
			t.Errorf("user %d after restore: status %s, deactivated_at %v", id, after.Status, after.DeactivatedAt)
		}
		if after.Role != before.Role || after.TeamCount != before.TeamCount || !reflect.DeepEqual(lcMemberships(t, s, id), teams) {
			t.Errorf("user %d after restore: role %s teams %v (count %d); want %s %v (count %d)",
				id, after.Role, lcMemberships(t, s, id), after.TeamCount, before.Role, teams, before.TeamCount)
		}
		if _, err := s.ReactivateUser(ctx, AsUser(ada), id); err != nil {
			t.Errorf("restoring an active user = %v; want nil", err)
		}
	}
	if got := lcReload(t, s, svc.ID); got.Role != RoleManager || got.TeamCount != 3 {
		t.Errorf("service user restored as %s with %d teams; want manager with 3", got.Role, got.TeamCount)
	}
	// The link deleted on deactivation stays dead after a restore.
	if _, err := s.PasswordLinkUser(ctx, linkTok); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("pre-deactivation link after restore = %v; want ErrLinkInvalid", err)
	}
	if _, err := s.DeactivateUser(ctx, AsUser(ada), 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeactivateUser(unknown) = %v; want ErrNotFound", err)
	}
	if _, err := s.ReactivateUser(ctx, AsUser(ada), 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReactivateUser(unknown) = %v; want ErrNotFound", err)
	}
}

func TestSignOutEverywhere(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	ada := mustAdmin(t, s, "ada@example.com")
	bob := mustAdmin(t, s, "bob@example.com")
	var bobToks []string
	for range 3 {
		bobToks = append(bobToks, lcSessionFor(t, s, bob.ID))
	}
	adaTok := lcSessionFor(t, s, ada.ID)

	n, err := s.SignOutEverywhere(ctx, AsUser(ada), bob.ID)
	if err != nil || n != 3 {
		t.Fatalf("SignOutEverywhere = %d, %v; want 3", n, err)
	}
	for _, tok := range bobToks {
		if _, _, err := s.SessionByToken(ctx, tok); !errors.Is(err, ErrNotFound) {
			t.Errorf("Bob's session after sign-out everywhere = %v; want ErrNotFound", err)
		}
	}
	if _, _, err := s.SessionByToken(ctx, adaTok); err != nil {
		t.Errorf("Ada's session ended too: %v", err)
	}
	if n, err := s.SignOutEverywhere(ctx, AsUser(ada), bob.ID); err != nil || n != 0 {
		t.Errorf("second SignOutEverywhere = %d, %v; want 0", n, err)
	}
	if _, err := s.SignOutEverywhere(ctx, AsUser(ada), 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("SignOutEverywhere(unknown) = %v; want ErrNotFound", err)
	}
}

// lcSortedIDs is a small helper shared with the list tests.
func lcSortedIDs(ids []int64) []int64 {
	out := append([]int64{}, ids...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
