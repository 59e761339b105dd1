package models

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

const testIssuer = "https://idp.example.com"

// ssoID is an identity of testIssuer in an admin group, with a fresh nonce.
func ssoID(subject, email string) SSOIdentity {
	return SSOIdentity{
		Issuer: testIssuer, Subject: subject, Email: email, EmailVerified: true, Name: "Person " + subject,
		InAdminGroup: true, Nonce: fmt.Sprintf("nonce-%s-%d", subject, time.Now().UnixNano()), NonceUntil: time.Now().Add(time.Hour),
	}
}

// ssoEvents returns the actions and reasons recorded since the event id after.
func ssoEvents(t *testing.T, s *Store, after int64) []string {
	t.Helper()
	var rows []Event
	if err := s.db.Where("id > ?", after).Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range rows {
		out = append(out, e.Action+"/"+e.Outcome+"/"+e.Reason)
	}
	return out
}

func lastEventID(t *testing.T, s *Store) int64 {
	t.Helper()
	var id int64
	if err := s.db.Model(&Event{}).Select("COALESCE(MAX(id), 0)").Scan(&id).Error; err != nil {
		t.Fatal(err)
	}
	return id
}

func sameEvents(t *testing.T, step string, got []string, want ...string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: events %v, want %v", step, got, want)
	}
}

func ssoReason(err error) string {
	var se *SSOError
	if errors.As(err, &se) {
		return se.Reason
	}
	return fmt.Sprint(err)
}

// TestSSOJustInTimeAndReplay: a person in an admin group becomes an Admin
// at their first sign-in, keyed by issuer and subject (not email), with no
// password; their ID token's nonce works once; the next sign-in finds the
// same account even with another email.
func TestSSOJustInTimeAndReplay(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	mustAdmin(t, s, "ada@example.com")
	a := Actor{Kind: ActorAnonymous, IP: "192.0.2.1", UserAgent: "test"}

	before := lastEventID(t, s)
	id := ssoID("grace-1", "grace@example.com")
	tok, u, err := s.SignInSSO(ctx, a, id)
	if err != nil {
		t.Fatalf("first sign-in: %v", err)
	}
	if !u.SSO() || u.Role != RoleAdmin || u.PasswordHash != nil || u.Kind != KindHuman || u.BreakGlass || u.SignInMethod() != "sso" {
		t.Fatalf("created %+v, want an SSO Admin without a password", u)
	}
	if _, su, err := s.SessionByToken(ctx, tok); err != nil || su.ID != u.ID {
		t.Fatalf("session of the sign-in: %v %v", su, err)
	}
	sameEvents(t, "first sign-in", ssoEvents(t, s, before), "user.sso_create/success/", "auth.sso_login/success/")

	before = lastEventID(t, s)
	if _, _, err := s.SignInSSO(ctx, a, id); ssoReason(err) != SSONonceReplayed {
		t.Fatalf("same ID token again: %v, want nonce_replayed", err)
	}
	sameEvents(t, "replay", ssoEvents(t, s, before), "auth.sso_failed/failed/nonce_replayed")

	again := ssoID("grace-1", "grace.hopper@example.com")
	if _, u2, err := s.SignInSSO(ctx, a, again); err != nil || u2.ID != u.ID {
		t.Fatalf("second sign-in: %v %v, want the same account", u2, err)
	}
	// Another subject with Grace's (verified) email is not Grace.
	if _, _, err := s.SignInSSO(ctx, a, ssoID("grace-2", "grace@example.com")); ssoReason(err) != SSOEmailLinked {
		t.Fatalf("another subject with the same email: %v, want email_linked", err)
	}
	// Nor is the same subject from another issuer: a new account, whose
	// email clashes with Grace's, so it is refused as linked elsewhere.
	other := ssoID("grace-1", "grace@example.com")
	other.Issuer = "https://other-idp.example.com"
	if _, _, err := s.SignInSSO(ctx, a, other); ssoReason(err) != SSOEmailLinked {
		t.Fatalf("same subject, other issuer: %v, want email_linked", err)
	}
	// A person without an email cannot be created (people have one).
	if _, _, err := s.SignInSSO(ctx, a, ssoID("nomail", "")); ssoReason(err) != SSONoEmail {
		t.Fatalf("no email: %v, want no_email", err)
	}
}

// TestSSOLinking: an existing person with the same verified email is linked
// once (their password and set-password links go, unless break-glass); an
// unverified email matching an account signs nobody in and links nothing.
func TestSSOLinking(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	ada := mustAdmin(t, s, "ada@example.com")
	a := Actor{Kind: ActorAnonymous}

	// Unverified email matching the admin: refused, nothing linked.
	mallory := ssoID("mallory", "ADA@example.com")
	mallory.EmailVerified = false
	before := lastEventID(t, s)
	if _, _, err := s.SignInSSO(ctx, a, mallory); ssoReason(err) != SSOUnverifiedEmail {
		t.Fatalf("unverified email: %v, want unverified_email", err)
	}
	sameEvents(t, "unverified", ssoEvents(t, s, before), "auth.sso_failed/failed/unverified_email")
	if u, _ := s.UserByID(ctx, ada.ID); u.SSO() {
		t.Fatal("an unverified email linked the account")
	}
	var sessions int64
	s.db.Model(&Session{}).Count(&sessions)
	if sessions != 0 {
		t.Fatalf("%d sessions after a refused sign-in", sessions)
	}

	// Bob, a Member made in the console with a pending set-password link.
	bob, _, err := s.CreateHumanUser(ctx, AsUser(ada), NewHumanUser{Name: "Bob", Email: "bob@example.com", Role: RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	before = lastEventID(t, s)
	_, u, err := s.SignInSSO(ctx, a, ssoID("bob-sub", "Bob@Example.com"))
	if err != nil {
		t.Fatalf("link Bob: %v", err)
	}
	if u.ID != bob.ID || !u.SSO() || u.Role != RoleAdmin {
		t.Fatalf("Bob after sign-in: %+v", u)
	}
	sameEvents(t, "link", ssoEvents(t, s, before), "user.sso_link/success/", "user.sso_role_granted/success/", "auth.sso_login/success/")
	if pending, _ := s.PendingPasswordLink(ctx, bob.ID); pending {
		t.Error("Bob's set-password link survived the link")
	}
	if _, err := s.IssuePasswordLink(ctx, AsUser(ada), bob.ID); !errors.Is(err, ErrSSOPassword) {
		t.Errorf("set-password link for an SSO person: %v, want sso_account", err)
	}

	// Ada, made by `warden admin create`, keeps her password when linked:
	// it is the break-glass way in.
	if _, u, err = s.SignInSSO(ctx, a, ssoID("ada-sub", "ada@example.com")); err != nil {
		t.Fatalf("link Ada: %v", err)
	}
	if u.ID != ada.ID || !u.BreakGlass || u.PasswordHash == nil || u.SignInMethod() != "sso+password" {
		t.Fatalf("Ada after linking: %+v", u)
	}
	if _, err := s.Authenticate(ctx, a, "ada@example.com", testPassword); err != nil {
		t.Fatalf("Ada's password after linking: %v", err)
	}
	// The Users list (console and API) says what her page says, without
	// reading her password's hash.
	q := DefaultUserQuery()
	q.Q = "ada"
	page, err := s.ListUsers(ctx, q)
	if err != nil || len(page.Rows) != 1 || page.Rows[0].ID != ada.ID {
		t.Fatalf("list Ada: %+v, %v", page.Rows, err)
	}
	if row := page.Rows[0]; row.SignInMethod() != "sso+password" || (row.PasswordHash != nil && *row.PasswordHash != "") {
		t.Errorf("Ada's row signs in with %q (hash read: %v), want sso+password without the hash", row.SignInMethod(), row.PasswordHash)
	}
}

// TestSSOGroups: not in an admin group is "the console is for
// administrators", audited, with no account and no session; a linked Admin
// who left the groups loses the role and their sessions at the next
// sign-in, except the last active Admin, who keeps the role (the rule
// counts SSO admins like any other) but is signed out all the same.
func TestSSOGroups(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	a := Actor{Kind: ActorAnonymous}

	outsider := ssoID("eve", "eve@example.com")
	outsider.InAdminGroup = false
	before := lastEventID(t, s)
	if _, _, err := s.SignInSSO(ctx, a, outsider); !errors.Is(err, ErrNotAdministrator) {
		t.Fatalf("outsider: %v, want ErrNotAdministrator", err)
	}
	sameEvents(t, "outsider", ssoEvents(t, s, before), "auth.sso_denied/denied/not_in_group")
	if _, err := s.UserByHandle(ctx, "eve@example.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("outsider got an account: %v", err)
	}

	// Grace is the first and only Admin, through SSO: setup is done.
	gtok, grace, err := s.SignInSSO(ctx, a, ssoID("grace", "grace@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if needs, _ := s.NeedsSetup(ctx); needs {
		t.Fatal("an SSO Admin does not count as an administrator")
	}
	left := ssoID("grace", "grace@example.com")
	left.InAdminGroup = false
	before = lastEventID(t, s)
	if _, _, err := s.SignInSSO(ctx, a, left); !errors.Is(err, ErrNotAdministrator) {
		t.Fatalf("last admin out of the groups: %v", err)
	}
	sameEvents(t, "last admin leaves", ssoEvents(t, s, before), "user.sso_role_lost/denied/last_admin", "auth.sso_denied/denied/not_in_group")
	if u, _ := s.UserByID(ctx, grace.ID); u.Role != RoleAdmin {
		t.Fatalf("the last admin lost the role: %s", u.Role)
	}
	if _, _, err := s.SessionByToken(ctx, gtok); err == nil {
		t.Fatal("the session of a person out of the groups survived")
	}

	// With a second Admin, Grace's role goes with the groups.
	ada := mustAdmin(t, s, "ada@example.com")
	gtok, _, err = s.SignInSSO(ctx, a, ssoID("grace", "grace@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	// The last-admin rule counts Grace: Ada can be deactivated...
	if _, err := s.DeactivateUser(ctx, AsUser(grace), ada.ID); err != nil {
		t.Fatalf("deactivate Ada while Grace (SSO) is an Admin: %v", err)
	}
	// ...and then Grace is the last one.
	if _, err := s.UpdateUser(ctx, AsUser(grace), grace.ID, UserUpdate{Role: RoleMember}); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("demote the last (SSO) admin: %v, want ErrLastAdmin", err)
	}
	if _, err := s.ReactivateUser(ctx, AsUser(grace), ada.ID); err != nil {
		t.Fatal(err)
	}
	before = lastEventID(t, s)
	if _, _, err := s.SignInSSO(ctx, a, withNonce(left)); !errors.Is(err, ErrNotAdministrator) {
		t.Fatalf("Grace out of the groups: %v", err)
	}
	sameEvents(t, "Grace leaves", ssoEvents(t, s, before), "user.sso_role_lost/success/", "auth.sso_denied/denied/not_in_group")
	if u, _ := s.UserByID(ctx, grace.ID); u.Role != RoleMember {
		t.Fatalf("Grace's role after leaving the groups: %s", u.Role)
	}
	if _, _, err := s.SessionByToken(ctx, gtok); err == nil {
		t.Fatal("Grace's session survived losing the role")
	}
	// Back in a group, back to Admin.
	if _, u, err := s.SignInSSO(ctx, a, ssoID("grace", "grace@example.com")); err != nil || u.Role != RoleAdmin {
		t.Fatalf("Grace back in a group: %v %v", u, err)
	}

	// A deactivated SSO person stays out, in a group or not.
	if _, err := s.DeactivateUser(ctx, AsUser(ada), grace.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SignInSSO(ctx, a, ssoID("grace", "grace@example.com")); ssoReason(err) != SSODeactivated {
		t.Fatalf("deactivated: %v, want deactivated", err)
	}
}

func withNonce(id SSOIdentity) SSOIdentity {
	id.Nonce = fmt.Sprintf("nonce-%s-%d", id.Subject, time.Now().UnixNano())
	return id
}

// TestPasswordLoginPolicy: with password sign-in off every password is
// refused before any work; with break-glass allowed only accounts made by
// `warden admin create` get in, and a person linked to SSO has no password
// to try.
func TestPasswordLoginPolicy(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	ada := mustAdmin(t, s, "ada@example.com")
	if !ada.BreakGlass {
		t.Fatal("warden admin create did not mark the account break-glass")
	}
	// Bob: an Admin made in the console who set his password.
	_, link, err := s.CreateHumanUser(ctx, AsUser(ada), NewHumanUser{Name: "Bob", Email: "bob@example.com", Role: RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetPasswordWithLink(ctx, Actor{Kind: ActorAnonymous}, link, testPassword, testPassword); err != nil {
		t.Fatal(err)
	}
	a := Actor{Kind: ActorAnonymous}

	s.SetPasswordLogin(PasswordLogin{Enabled: false})
	before := lastEventID(t, s)
	if _, err := s.Authenticate(ctx, a, "ada@example.com", testPassword); !errors.Is(err, ErrPasswordLoginOff) {
		t.Fatalf("password sign-in off: %v", err)
	}
	sameEvents(t, "off", ssoEvents(t, s, before), "auth.login_failed/failed/password_login_off")

	s.SetPasswordLogin(PasswordLogin{Enabled: false, BreakGlass: true})
	if _, err := s.Authenticate(ctx, a, "ada@example.com", testPassword); err != nil {
		t.Fatalf("break-glass account: %v", err)
	}
	before = lastEventID(t, s)
	if _, err := s.Authenticate(ctx, a, "bob@example.com", testPassword); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("not break-glass: %v", err)
	}
	sameEvents(t, "not break-glass", ssoEvents(t, s, before), "auth.login_failed/failed/not_break_glass")

	s.SetPasswordLogin(PasswordLogin{Enabled: true})
	if _, err := s.Authenticate(ctx, a, "bob@example.com", testPassword); err != nil {
		t.Fatalf("password sign-in on: %v", err)
	}
	// Linked to SSO, Bob's password is gone.
	if _, _, err := s.SignInSSO(ctx, a, ssoID("bob", "bob@example.com")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, a, "bob@example.com", testPassword); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("password of a linked person: %v", err)
	}
}

// TestMigrationMarksBreakGlass: on upgrade (0021), the accounts whose
// creation the audit log records as by the command line become break-glass
// accounts; people from setup or the console do not.
func TestMigrationMarksBreakGlass(t *testing.T) {
	ctx := context.Background()
	open := testDatabase(t)
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	ada := mustAdmin(t, s, "ada@example.com")
	bob, _, err := s.CreateHumanUser(ctx, AsUser(ada), NewHumanUser{Name: "Bob", Email: "bob@example.com", Role: RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	// Back to the schema before 0021.
	for _, sql := range append(undo0022(),
		`DROP TABLE sso_nonces`,
		`DROP INDEX users_sso`,
		`ALTER TABLE users DROP COLUMN break_glass`,
		`ALTER TABLE users DROP COLUMN sso_subject`,
		`ALTER TABLE users DROP COLUMN sso_issuer`,
		`DELETE FROM schema_migrations WHERE version >= 21`,
	) {
		auExec(t, s, sql)
	}
	_ = s.Close()
	if s, err = open(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		u    *User
		want bool
	}{{ada, true}, {bob, false}} {
		u, err := s.UserByID(ctx, c.u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u.BreakGlass != c.want || u.SSO() {
			t.Errorf("%s after 0021: break-glass %v, SSO %v; want %v, false", u.Handle(), u.BreakGlass, u.SSO(), c.want)
		}
	}
}
