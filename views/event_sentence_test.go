package views

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warden-console/warden/models"
)

// The cast of the sentence tests.
var (
	sentenceAt = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)
	ada        = AuditRow{ActorKind: "human", ActorID: 1, ActorLabel: "ada@example.com", ActorName: "Ada Admin"}
	// Nightly ETL calling the API with its token ci-30
	etl = AuditRow{ActorKind: "service", ActorID: 7, ActorLabel: "nightly_etl@service", ActorName: "Nightly ETL", TokenID: 30, TokenName: "ci-30"}
)

// ev is an event by actor: the actor's fields, then action, outcome and
// the rest set by fn.
func ev(actor AuditRow, action, outcome string, fn func(r *AuditRow)) AuditRow {
	r := actor
	r.ID, r.At, r.Action, r.Outcome = 1, sentenceAt, action, outcome
	if fn != nil {
		fn(&r)
	}
	return r
}

func aboutUser(id int64, label, name string) func(r *AuditRow) {
	return func(r *AuditRow) {
		r.TargetKind, r.TargetID, r.TargetLabel, r.OwnerID, r.OwnerName = "user", id, label, id, name
	}
}

func aboutETL(r *AuditRow) { aboutUser(7, "nightly_etl@service", "Nightly ETL")(r) }
func aboutBob(r *AuditRow) { aboutUser(9, "bob@example.com", "Bob Builder")(r) }
func aboutAda(r *AuditRow) { aboutUser(1, "ada@example.com", "Ada Admin")(r) }

// aboutToken makes a token of Nightly ETL (or of owner, named) the target.
func aboutToken(id int64, name string, more ...func(r *AuditRow)) func(r *AuditRow) {
	return func(r *AuditRow) {
		r.TargetKind, r.TargetID, r.TargetLabel, r.OwnerID, r.OwnerName = "token", id, name, 7, "Nightly ETL"
		for _, m := range more {
			m(r)
		}
	}
}

func aboutTeam(id int64, name string) func(r *AuditRow) {
	return func(r *AuditRow) { r.TargetKind, r.TargetID, r.TargetLabel = "team", id, name }
}

func with(fns ...func(r *AuditRow)) func(r *AuditRow) {
	return func(r *AuditRow) {
		for _, f := range fns {
			f(r)
		}
	}
}

func reason(s string) func(r *AuditRow)                { return func(r *AuditRow) { r.Reason = s } }
func changes(c map[string]EventChange) func(*AuditRow) { return func(r *AuditRow) { r.Changes = c } }

// TestEventSentences words one event or more of every action the store
// records, refusals and failures included, and fails for an action of
// models.AuditActions without a sentence of its own.
func TestEventSentences(t *testing.T) {
	anonymous := AuditRow{ActorKind: "anonymous", ActorLabel: "anonymous"}
	typed := func(email string) AuditRow { return AuditRow{ActorKind: "anonymous", ActorLabel: email} }
	setup := AuditRow{ActorKind: "anonymous", ActorLabel: "first-run setup"}
	cli := AuditRow{ActorKind: "system", ActorLabel: "command line"}
	system := AuditRow{ActorKind: "system", ActorLabel: "system"}
	bob := AuditRow{ActorKind: "human", ActorID: 9, ActorLabel: "bob@example.com", ActorName: "Bob Builder"}
	route := func(label string) func(r *AuditRow) {
		return func(r *AuditRow) { r.TargetKind, r.TargetLabel = "route", label }
	}
	rotated := func(overlap time.Duration) func(r *AuditRow) {
		return changes(map[string]EventChange{
			"name":           {nil, "deploy-r2"},
			"user":           {nil, "billing_bot@service"},
			"replaces":       {nil, "deploy"},
			"old_expires_at": {nil, sentenceAt.Add(overlap).Format(time.RFC3339)},
		})
	}
	billing := func(r *AuditRow) { r.OwnerID, r.OwnerName = 8, "Billing bot" }
	hook := func(r *AuditRow) {
		r.TargetKind, r.TargetID, r.TargetLabel = "webhook", 3, "https://siem.example.com/…"
	}

	cases := []struct {
		row  AuditRow
		want string
	}{
		{ev(ada, "auth.login", "success", aboutAda), "Ada Admin signed in"},
		{ev(typed("ADA@example.com"), "auth.login_failed", "failed", with(aboutAda, reason("wrong_password"))),
			"Failed sign-in as Ada Admin: wrong password"},
		{ev(typed("nobody@example.com"), "auth.login_failed", "failed", reason("unknown_email")),
			"Failed sign-in as “nobody@example.com”: no account has this email"},
		{ev(typed("bob@example.com"), "auth.login_failed", "failed", with(aboutBob, reason("deactivated"))),
			"Failed sign-in as Bob Builder: the account is deactivated"},
		{ev(typed("bob@example.com"), "auth.login_denied", "denied", with(aboutBob, reason("not_admin"))),
			"Sign-in of Bob Builder refused: not an administrator"},
		{ev(ada, "auth.logout", "success", aboutAda), "Ada Admin signed out"},
		{ev(ada, "auth.session_end", "success", with(aboutAda, reason("2 other sessions"))), "Ada Admin ended 2 other sessions"},
		{ev(ada, "auth.session_rotate", "success", aboutAda), "Ada Admin renewed their session"},
		{ev(etl, "auth.denied", "denied", with(route("POST /api/v1/users"), reason("needs_admin"))),
			"Call to POST /api/v1/users by Nightly ETL (via token ci-30) refused: it needs the Admin role"},
		{ev(etl, "auth.denied", "denied", with(route("POST /api/v1/users"), reason("needs_scope:users:write"))),
			"Call to POST /api/v1/users by Nightly ETL (via token ci-30) refused: its token lacks the scope users:write"},
		{ev(anonymous, "security.csrf_rejected", "denied", with(route("POST /login"), reason("wrong_token"))),
			"Form post to POST /login by someone refused: its form token did not match"},
		{ev(ada, "security.csrf_rejected", "denied", with(route("POST /users/7/edit"), reason("cross_origin"))),
			"Form post to POST /users/7/edit by Ada Admin refused: it came from another site"},
		{ev(setup, "setup.complete", "success", aboutAda), "Setup completed: Ada Admin is the first administrator"},
		{ev(setup, "user.create", "success", aboutAda), "The first-run setup created person Ada Admin"},
		{ev(cli, "user.create", "success", aboutAda), "The command line created person Ada Admin"},
		{ev(ada, "user.create", "success", aboutBob), "Ada Admin created person Bob Builder"},
		{ev(etl, "service_user.create", "success", aboutUser(8, "billing_bot@service", "Billing bot")),
			"Nightly ETL (via token ci-30) created service user Billing bot"},
		{ev(ada, "user.update", "success", with(aboutBob, changes(map[string]EventChange{"role": {"member", "admin"}}))),
			"Ada Admin changed the role of Bob Builder from Member to Admin"},
		{ev(ada, "service_user.update", "success", with(aboutETL, changes(map[string]EventChange{
			"role": {"member", "admin"}, "teams": {[]any{"Public"}, []any{"Data", "Public"}}, "description": {"old", "new"},
		}))), "Ada Admin updated Nightly ETL (purpose, role and teams)"},
		{ev(ada, "user.update", "denied", with(aboutAda, reason("last_admin"))),
			"Demotion of Ada Admin refused: the last active administrator"},
		{ev(ada, "service_user.deactivate", "success", aboutETL), "Ada Admin deactivated Nightly ETL"},
		{ev(ada, "service_user.deactivate", "denied", with(aboutETL, reason("active_tokens"),
			changes(map[string]EventChange{"active_tokens": {5.0, 5.0}}))),
			"Deactivation of Nightly ETL refused: 5 active tokens"},
		{ev(ada, "service_user.deactivate", "denied", with(aboutETL, reason("active_tokens"),
			changes(map[string]EventChange{"active_tokens": {1.0, 1.0}}))),
			"Deactivation of Nightly ETL refused: 1 active token"},
		// an event written before refusals kept their count
		{ev(ada, "service_user.deactivate", "denied", with(aboutETL, reason("active_tokens"))),
			"Deactivation of Nightly ETL refused: it has active tokens"},
		{ev(ada, "user.deactivate", "success", aboutBob), "Ada Admin deactivated Bob Builder"},
		{ev(ada, "user.deactivate", "denied", with(aboutAda, reason("last_admin"))),
			"Deactivation of Ada Admin refused: the last active administrator"},
		{ev(ada, "user.reactivate", "success", aboutBob), "Ada Admin restored Bob Builder"},
		{ev(ada, "service_user.reactivate", "success", aboutETL), "Ada Admin restored Nightly ETL"},
		{ev(ada, "user.password_change", "success", aboutAda), "Ada Admin changed their password"},
		{ev(ada, "user.password_link_issued", "success", aboutBob), "Ada Admin issued a set-password link for Bob Builder"},
		{ev(ada, "user.password_link_issued", "denied", with(aboutETL, reason("service_password"))),
			"Set-password link for Nightly ETL refused: service users have no password"},
		{ev(ada, "user.password_link_issued", "denied", with(aboutBob, reason("deactivated"))),
			"Set-password link for Bob Builder refused: the account is deactivated"},
		{ev(bob, "user.password_set", "success", aboutBob), "Bob Builder set their password with a one-time link"},
		{ev(ada, "user.sign_out_everywhere", "success", with(aboutBob, reason("2 sessions ended"))),
			"Ada Admin signed Bob Builder out everywhere (2 sessions ended)"},
		{ev(etl, "team.create", "success", aboutTeam(3, "Data")), "Nightly ETL (via token ci-30) created team Data"},
		{ev(ada, "team.update", "success", with(aboutTeam(3, "Analytics"), changes(map[string]EventChange{"name": {"Data", "Analytics"}}))),
			"Ada Admin renamed team Data to Analytics"},
		{ev(ada, "team.update", "success", with(aboutTeam(3, "Data"), changes(map[string]EventChange{"description": {"", "Dashboards"}}))),
			"Ada Admin updated team Data (description)"},
		{ev(ada, "team.delete", "success", with(aboutTeam(3, "Data"), func(r *AuditRow) { r.TargetGone = true })),
			"Ada Admin deleted team Data"},
		{ev(ada, "team.delete", "denied", with(aboutTeam(1, "Public"), reason("builtin_team"))),
			"Deletion of team Public refused: it is built in"},
		{ev(ada, "token.create", "success", aboutToken(30, "ci-30")), "Ada Admin generated token ci-30 for Nightly ETL"},
		{ev(ada, "token.create", "denied", with(aboutETL, reason("deactivated"))),
			"A new token for Nightly ETL refused: the user is deactivated"},
		{ev(ada, "token.create", "denied", with(aboutBob, reason("not_service"))),
			"A new token for Bob Builder refused: only service users hold tokens"},
		{ev(ada, "token.revoke", "success", aboutToken(30, "ci-30")), "Ada Admin revoked token ci-30 of Nightly ETL"},
		{ev(system, "token.revoke", "success", aboutToken(30, "ci-30")), "Warden revoked token ci-30 of Nightly ETL"},
		{ev(system, "token.revoke", "success", aboutToken(30, "ci-30", reason("inactive"),
			changes(map[string]EventChange{"inactive_days": {0.0, 90.0}, "inactive_since": {"", "2026-01-05T09:00:00Z"}}))),
			"Warden revoked token ci-30 of Nightly ETL because it was not used for 90 days"},
		{ev(ada, "token.revoke", "success", aboutToken(60, "ci-60", func(r *AuditRow) { r.TargetGone = true })),
			"Ada Admin revoked token ci-60 (deleted) of Nightly ETL"},
		{ev(ada, "token.restore", "success", aboutToken(30, "ci-30")), "Ada Admin restored token ci-30 of Nightly ETL"},
		{ev(ada, "token.restore", "denied", aboutToken(30, "ci-30", reason("expired"))),
			"Restoration of token ci-30 of Nightly ETL refused: it has expired"},
		{ev(ada, "token.delete", "success", aboutToken(60, "ci-60", func(r *AuditRow) { r.TargetGone = true })),
			"Ada Admin deleted token ci-60 of Nightly ETL"},
		{ev(ada, "token.delete", "denied", aboutToken(30, "ci-30", reason("active"))),
			"Deletion of token ci-30 of Nightly ETL refused: it is still active"},
		{ev(ada, "token.rotate", "success", aboutToken(31, "deploy", billing, rotated(24*time.Hour))),
			"Ada Admin rotated token deploy of Billing bot (old one works 24 h)"},
		{ev(ada, "token.rotate", "success", aboutToken(31, "deploy", billing, rotated(time.Hour))),
			"Ada Admin rotated token deploy of Billing bot (old one works 1 h)"},
		{ev(ada, "token.rotate", "success", aboutToken(31, "deploy", billing, rotated(7*24*time.Hour))),
			"Ada Admin rotated token deploy of Billing bot (old one works 7 days)"},
		{ev(ada, "token.rotate", "success", aboutToken(31, "deploy", billing, rotated(0))),
			"Ada Admin rotated token deploy of Billing bot (old one stopped at once)"},
		{ev(ada, "token.rotate", "denied", aboutToken(30, "ci-30", reason("not_active"))),
			"Rotation of token ci-30 of Nightly ETL refused: it is not active"},
		{ev(ada, "token.lookup", "success", aboutToken(30, "ci-30", reason("active"))),
			"Ada Admin looked up token ci-30 of Nightly ETL (it was active)"},
		{ev(ada, "token.lookup", "failed", reason("malformed")), "Ada Admin looked up a pasted text that is not a Warden token"},
		{ev(ada, "token.lookup", "failed", reason("unknown")), "Ada Admin looked up a token Warden does not know"},
		{ev(ada, "token.allowlist", "success", aboutToken(30, "ci-30", func(r *AuditRow) {
			r.Changes = map[string]EventChange{"allowed_cidrs": {"any address", "203.0.113.0/24 2001:db8::/64"}}
		})), "Ada Admin restricted token ci-30 of Nightly ETL to 203.0.113.0/24, 2001:db8::/64"},
		{ev(ada, "token.allowlist", "success", aboutToken(30, "ci-30", func(r *AuditRow) {
			r.Changes = map[string]EventChange{"allowed_cidrs": {"203.0.113.0/24", "any address"}}
		})), "Ada Admin let token ci-30 of Nightly ETL be used from any address"},
		{ev(ada, "token.ip_refused", "denied", aboutToken(30, "ci-30", func(r *AuditRow) {
			r.Changes = map[string]EventChange{"address": {nil, "198.51.100.9"}, "via": {nil, "api"}}
		})), "Use of token ci-30 of Nightly ETL from 198.51.100.9 refused: outside its allowed addresses"},
		{ev(ada, "token.ip_refused", "denied", aboutToken(30, "ci-30", func(r *AuditRow) {
			r.Changes = map[string]EventChange{"address": {nil, "198.51.100.9"}, "via": {nil, "introspection"}}
		})), "Use of token ci-30 of Nightly ETL from 198.51.100.9 refused: outside its allowed addresses (reported by an introspecting service)"},
		{ev(ada, "settings.update", "success", func(r *AuditRow) {
			r.TargetKind, r.TargetLabel = "settings", "token expiry policy"
			r.Changes = map[string]EventChange{"token.default_days": {90.0, 30.0}, "token.max_days": {365.0, 0.0}, "token.allow_never": {false, true}}
		}), "Ada Admin changed the token expiry policy: default 90 days → 30 days, longest 365 days → no limit, “Never” allowed"},
		{ev(ada, "settings.update", "success", func(r *AuditRow) {
			r.TargetKind, r.TargetLabel = "settings", "inactivity auto-revoke"
			r.Changes = map[string]EventChange{"token.revoke_inactive_days": {0.0, 90.0}}
		}), "Ada Admin changed the inactivity auto-revoke: off → after 90 days unused"},
		{ev(ada, "settings.update", "success", func(r *AuditRow) {
			r.TargetKind, r.TargetLabel = "settings", "inactivity auto-revoke"
			r.Changes = map[string]EventChange{"token.revoke_inactive_days": {30.0, 0.0}}
		}), "Ada Admin changed the inactivity auto-revoke: after 30 days unused → off"},
		// An API caller whose token was deleted since, and one the log never named.
		{ev(func() AuditRow { a := etl; a.TokenName, a.TokenGone = "ci-60", true; return a }(), "team.create", "success", aboutTeam(3, "Data")),
			"Nightly ETL (via token ci-60 (deleted)) created team Data"},
		{ev(func() AuditRow { a := etl; a.TokenName, a.TokenGone = "", true; return a }(), "team.create", "success", aboutTeam(3, "Data")),
			"Nightly ETL (via token #30 (deleted)) created team Data"},
		// Webhook endpoints are named by scheme and host: a path may hold a secret.
		{ev(ada, "webhook.create", "success", hook), "Ada Admin added webhook endpoint https://siem.example.com/…"},
		{ev(ada, "webhook.update", "success", hook), "Ada Admin changed webhook endpoint https://siem.example.com/…"},
		{ev(ada, "webhook.delete", "success", hook), "Ada Admin removed webhook endpoint https://siem.example.com/…"},
		{ev(ada, "webhook.rotate_secret", "success", hook), "Ada Admin rotated the signing secret of webhook endpoint https://siem.example.com/…"},
		{ev(ada, "webhook.test", "success", hook), "Ada Admin sent a test event to webhook endpoint https://siem.example.com/…"},
		{ev(ada, "webhook.test", "denied", func(r *AuditRow) { hook(r); r.Reason = "webhook_disabled" }),
			"A test event to webhook endpoint https://siem.example.com/… refused: the webhook endpoint is disabled"},
		{ev(ada, "webhook.redeliver", "success", func(r *AuditRow) { hook(r); r.Reason = "token.revoked" }),
			"Ada Admin redelivered token.revoked to https://siem.example.com/…"},
		{ev(ada, "webhook.redeliver", "denied", func(r *AuditRow) { hook(r); r.Reason = "webhook_disabled" }),
			"A redelivery to webhook endpoint https://siem.example.com/… refused: the webhook endpoint is disabled"},
		{ev(system, "webhook.disable", "success", func(r *AuditRow) { hook(r); r.Reason = "failing since 2025-03-11 09:26 UTC" }),
			"Warden disabled webhook endpoint https://siem.example.com/… (failing since 2025-03-11 09:26 UTC)"},
		// Single sign-on (issue 20).
		{ev(ada, "auth.sso_login", "success", aboutAda), "Ada Admin signed in with single sign-on"},
		{ev(typed(""), "auth.sso_failed", "failed", reason("bad_state")),
			"Failed single sign-on: its state did not match the sign-in started"},
		{ev(typed("mallory@example.com"), "auth.sso_failed", "failed", reason("issuer_mismatch")),
			"Failed single sign-on as “mallory@example.com”: the ID token came from another issuer"},
		{ev(typed("ada@example.com"), "auth.sso_failed", "failed", with(aboutAda, reason("unverified_email"))),
			"Failed single sign-on as Ada Admin: the email matches an account but is not verified"},
		{ev(typed("bob@example.com"), "auth.sso_denied", "denied", with(aboutBob, reason("not_in_group"))),
			"Single sign-on of Bob Builder refused: not in an admin group"},
		{ev(bob, "user.sso_create", "success", aboutBob), "Bob Builder joined through single sign-on as an Admin"},
		{ev(bob, "user.sso_link", "success", with(aboutBob, changes(map[string]EventChange{"sign_in": {"password", "sso"}, "password": {"set", "removed"}}))),
			"Bob Builder linked their account to single sign-on; their password was removed"},
		{ev(system, "user.sso_role_lost", "success", with(aboutBob, changes(map[string]EventChange{"role": {"admin", "member"}}))),
			"Bob Builder lost the Admin role on leaving the admin groups, and was signed out"},
		{ev(system, "user.sso_role_lost", "denied", with(aboutBob, reason("last_admin"))),
			"Bob Builder left the admin groups but keeps the Admin role (the last active administrator), and was signed out"},
		{ev(system, "user.sso_role_granted", "success", with(aboutBob, changes(map[string]EventChange{"role": {"member", "admin"}}))),
			"Bob Builder got the Admin role from an admin group"},
		{ev(typed("ada@example.com"), "auth.login_failed", "failed", with(aboutAda, reason("not_break_glass"))),
			"Failed sign-in as Ada Admin: password sign-in is turned off and this is not a break-glass account"},
		{ev(typed("ada@example.com"), "auth.login_failed", "failed", reason("password_login_off")),
			"Failed sign-in as “ada@example.com”: password sign-in is turned off"},
		// A user the console cannot name any more is named by the handle recorded.
		{ev(AuditRow{ActorKind: "human", ActorID: 1, ActorLabel: "ada@example.com"}, "auth.login", "success", nil), "ada@example.com signed in"},
	}
	worded := map[string]bool{}
	for _, c := range cases {
		s := EventSentence(c.row)
		if got := s.String(); got != c.want {
			t.Errorf("%s (%s, %s):\n got %q\nwant %q", c.row.Action, c.row.Outcome, c.row.Reason, got, c.want)
		}
		if got := s.String(); strings.Contains(got, c.row.Action) || (c.row.Reason != "" && strings.Contains(got, "_")) {
			t.Errorf("%s: %q shows a code", c.row.Action, got)
		}
		worded[c.row.Action] = true
	}
	for _, a := range models.AuditActions {
		if !worded[a] {
			t.Errorf("no sentence tested for %q", a)
		}
		// The fallback for an action this console does not know shows its
		// code: every action the store records must have words instead.
		for _, outcome := range []string{"success", "denied", "failed"} {
			r := ev(ada, a, outcome, aboutBob)
			if got := EventSentence(r).String(); strings.Contains(got, a) {
				t.Errorf("%q (%s) has no sentence: %q", a, outcome, got)
			}
		}
		if l := ActionLabel(a); l == a {
			t.Errorf("%q has no label for the action filter", a)
		}
	}
	// An action this version does not know keeps its code rather than nothing.
	if got := EventSentence(ev(ada, "maintenance.run", "success", nil)).String(); got != "Ada Admin: maintenance.run" {
		t.Errorf("unknown action: %q", got)
	}
}

// TestEventSentenceLinks: names link to what they name; words link nowhere.
func TestEventSentenceLinks(t *testing.T) {
	s := EventSentence(ev(etl, "token.revoke", "success", aboutToken(30, "ci-30")))
	var links []string
	for _, p := range s {
		if p.Href != "" {
			links = append(links, p.Text+" → "+p.Href)
		}
	}
	want := []string{
		"Nightly ETL → /users/7",
		"ci-30 → /audit?target_kind=token&target_id=30",
		"ci-30 → /audit?target_kind=token&target_id=30",
		"Nightly ETL → /users/7",
	}
	if !slices.Equal(links, want) {
		t.Errorf("links = %q, want %q", links, want)
	}
	team := EventSentence(ev(ada, "team.create", "success", aboutTeam(3, "Data")))
	if last := team[len(team)-1]; last.Href != "/teams/3" {
		t.Errorf("team link %q", last.Href)
	}
	gone := EventSentence(ev(ada, "team.delete", "success", with(aboutTeam(3, "Data"), func(r *AuditRow) { r.TargetGone = true })))
	if last := gone[len(gone)-1]; last.Href != "" {
		t.Errorf("a deleted team links to %q", last.Href)
	}
}

// TestRelativeTime: every time the console prints is relative, rounded
// to its largest unit; the exact time is in the title.
func TestRelativeTime(t *testing.T) {
	now := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		0:                        "just now",
		-30 * time.Second:        "just now",
		-5 * time.Minute:         "5 minutes ago",
		-3 * time.Hour:           "3 hours ago",
		-26 * time.Hour:          "1 day ago",
		-29 * day:                "29 days ago",
		-45 * day:                "1 month ago",
		-200 * day:               "6 months ago",
		-800 * day:               "2 years ago",
		90 * time.Second:         "in 2 minutes",
		5 * time.Hour:            "in 5 hours",
		2*day - time.Minute:      "in 2 days",
		90 * day:                 "in 3 months",
		365 * day:                "in 1 year",
		3*365*day + 40*day:       "in 3 years",
		24*time.Hour + time.Hour: "in 1 day",
	} {
		if got := RelativeTime(now.Add(d), now); got != want {
			t.Errorf("RelativeTime(now%+v) = %q, want %q", d, got, want)
		}
	}
	if got := FormatTime(sentenceAt); got != "2025-03-14 09:26:53 UTC" {
		t.Errorf("FormatTime = %q: the exact time is to the second", got)
	}
}
