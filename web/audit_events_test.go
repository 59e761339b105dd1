package web

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	_ "github.com/jackc/pgx/v5/stdlib"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/warden-console/warden/models"
)

// auditRow is an audit event as the database holds it, read without the
// store (which has no exported way to list events yet).
type auditRow struct {
	ID                                  int64
	Action, Outcome, Reason             string
	ActorKind                           string
	ActorID                             int64 // 0 for NULL
	ActorLabel                          string
	TokenID                             int64
	TargetKind                          string
	TargetID                            int64
	TargetLabel, Changes                string
	IP, UserAgent, RequestID            string
	OccurredAt, PrevHash, Hash, AllText string
}

// readAuditEvents opens the database file read-only beside the running
// server and returns every event in id order.
// everyRow reads every row of every table of a PostgreSQL database as text.
func everyRow(t *testing.T, dbURL string) string {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	tables.Close()
	var b strings.Builder
	for _, n := range names {
		rows, err := db.Query(`SELECT r::text FROM "` + n + `" r`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			b.WriteString(line + "\n")
		}
		rows.Close()
	}
	return b.String()
}

func readAuditEvents(t *testing.T, h *harness) []auditRow {
	t.Helper()
	// A connection of its own, not the store's: what is on disk.
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(h.dir, "warden.db")+"?mode=ro")
	if h.dbURL != "" {
		db, err = sql.Open("pgx", h.dbURL)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id, action, outcome, reason, actor_kind, COALESCE(actor_id, 0), actor_label,
		COALESCE(token_id, 0), target_kind, COALESCE(target_id, 0), target_label, changes, ip, user_agent, request_id,
		occurred_at || '', prev_hash, hash
		FROM audit_events ORDER BY id`)
	if err != nil {
		t.Fatalf("read audit_events: %v", err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		if err := rows.Scan(&r.ID, &r.Action, &r.Outcome, &r.Reason, &r.ActorKind, &r.ActorID, &r.ActorLabel,
			&r.TokenID, &r.TargetKind, &r.TargetID, &r.TargetLabel, &r.Changes, &r.IP, &r.UserAgent, &r.RequestID,
			&r.OccurredAt, &r.PrevHash, &r.Hash); err != nil {
			t.Fatal(err)
		}
		r.AllText = fmt.Sprintf("%+v", r)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantAudit is one expected event; the request fields come from the request
// that caused it.
type wantAudit struct {
	action, outcome, reason string
	actorKind               string
	actorID                 int64
	actorLabel              string
	targetKind              string
	targetID                int64
	targetLabel             string
	ip, userAgent, request  string
}

func TestAuditEventsThroughTheConsole(t *testing.T) {
	ctx := context.Background()
	// app.Test connections come from 0.0.0.0; trusting it lets each client
	// name its address in X-Forwarded-For.
	h := newHarness(t, func(c *Config) { c.TrustedProxies = "0.0.0.0/32" })
	admin := h.admin("ada@example.com")
	const (
		consoleIP, consoleUA = "198.51.100.10", "console-test/1.0 (audit)"
		otherIP, otherUA     = "198.51.100.20", "other-client/2.0"
		wrongPassword        = "not ada's password, typed by someone"
	)
	rid := func(resp *http.Response) string {
		t.Helper()
		id := resp.Header.Get("X-Request-ID")
		if id == "" {
			t.Fatalf("%s %s: no X-Request-ID", resp.Request.Method, resp.Request.URL.Path)
		}
		return id
	}
	asAda := func(action, targetKind string, targetID int64, targetLabel, request string) wantAudit {
		return wantAudit{action, models.OutcomeSuccess, "", "human", admin.ID, "ada@example.com",
			targetKind, targetID, targetLabel, consoleIP, consoleUA, request}
	}
	want := []wantAudit{{"user.create", models.OutcomeSuccess, "", "system", 0, "command line",
		"user", admin.ID, "ada@example.com", "", "", ""}}

	// Sign in.
	c := h.client()
	c.headers["X-Forwarded-For"] = consoleIP
	c.headers["User-Agent"] = consoleUA
	c.get("/login")
	resp := c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
	expectRedirect(t, resp, "/")
	want = append(want, asAda("auth.login", "user", admin.ID, "ada@example.com", rid(resp)))
	sessionCookie := c.cookie("warden_session")
	if sessionCookie == nil || sessionCookie.Value == "" {
		t.Fatal("no session cookie")
	}

	// Create a service user.
	expectStatus(t, c.get("/users/new?kind=service"), http.StatusOK)
	resp = c.post("/users", url.Values{"kind": {"service"}, "role": {"member"}, "name": {"Airflow"}})
	m := userLocation.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("create service user: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var svc int64
	fmt.Sscan(m[1], &svc)
	want = append(want, asAda("service_user.create", "user", svc, "airflow@service", rid(resp)))

	// Generate a token.
	userPath := fmt.Sprintf("/users/%d", svc)
	expectStatus(t, c.get(userPath+"/tokens/new"), http.StatusOK)
	resp = c.post(userPath+"/tokens", url.Values{"name": {"airflow-prod"}, "expiry": {"30"}})
	secret, _ := followReveal(t, c, resp)
	tokens, err := h.srv.Store().TokensOf(ctx, svc)
	if err != nil || len(tokens) != 1 {
		t.Fatalf("tokens: %v %v", tokens, err)
	}
	tok := tokens[0]
	want = append(want, asAda("token.create", "token", tok.ID, "airflow-prod", rid(resp)))

	// Reads, on the API and in the console, write nothing.
	before := len(readAuditEvents(t, h))
	for i := 0; i < 3; i++ {
		resp, _ := apiGet(t, h, "/api/v1/me", bearer(secret))
		expectStatus(t, resp, http.StatusOK)
	}
	expectStatus(t, c.get(userPath), http.StatusOK)
	expectStatus(t, c.get("/users"), http.StatusOK)
	if after := len(readAuditEvents(t, h)); after != before {
		t.Errorf("reads wrote %d events", after-before)
	}

	// Revoke it.
	c.get(userPath)
	resp = c.post(fmt.Sprintf("/tokens/%d/revoke", tok.ID), nil)
	expectRedirect(t, resp, userPath)
	want = append(want, asAda("token.revoke", "token", tok.ID, "airflow-prod", rid(resp)))

	// A failed sign-in from another client.
	other := h.client()
	other.headers["X-Forwarded-For"] = otherIP
	other.headers["User-Agent"] = otherUA
	other.get("/login")
	resp = other.post("/login", url.Values{"email": {"Ada@Example.com"}, "password": {wrongPassword}})
	expectStatus(t, resp, http.StatusUnauthorized)
	want = append(want, wantAudit{"auth.login_failed", models.OutcomeFailed, "wrong_password", "anonymous", 0, "Ada@Example.com",
		"user", admin.ID, "ada@example.com", otherIP, otherUA, rid(resp)})

	// A form with a wrong CSRF token.
	c.get("/teams")
	resp = c.post("/teams", url.Values{"_csrf": {"not-the-token-of-this-session"}, "name": {"Data"}})
	expectStatus(t, resp, http.StatusForbidden)
	if teams, _ := h.srv.Store().AllTeams(ctx); len(teams) != 1 {
		t.Errorf("the forged form created a team: %v", teams)
	}
	csrf := wantAudit{"security.csrf_rejected", models.OutcomeDenied, "wrong_token", "human", admin.ID, "ada@example.com",
		"route", 0, "POST /teams", consoleIP, consoleUA, rid(resp)}
	want = append(want, csrf)

	// Sign out.
	c.get("/account")
	resp = c.post("/logout", nil)
	expectRedirect(t, resp, "/login")
	want = append(want, asAda("auth.logout", "user", admin.ID, "ada@example.com", rid(resp)))

	got := readAuditEvents(t, h)
	if len(got) != len(want) {
		for _, e := range got {
			t.Logf("event %d: %s %s %s by %s (request %s)", e.ID, e.Action, e.Outcome, e.Reason, e.ActorLabel, e.RequestID)
		}
		t.Fatalf("%d events, want %d", len(got), len(want))
	}
	seen := map[string]bool{}
	for i, w := range want {
		e := got[i]
		g := wantAudit{e.Action, e.Outcome, e.Reason, e.ActorKind, e.ActorID, e.ActorLabel,
			e.TargetKind, e.TargetID, e.TargetLabel, e.IP, e.UserAgent, e.RequestID}
		if g != w {
			t.Errorf("event %d:\n got %+v\nwant %+v", e.ID, g, w)
		}
		if e.TokenID != 0 {
			t.Errorf("event %d (%s) names token %d; console actions use none", e.ID, e.Action, e.TokenID)
		}
		if w.request != "" && seen[w.request] {
			t.Errorf("request id %s on two events", w.request)
		}
		seen[w.request] = true
		if !strings.HasSuffix(e.OccurredAt, "+00:00") && !(h.dbURL != "" && strings.HasSuffix(e.OccurredAt, "+00")) {
			t.Errorf("event %d time stored as %q, not UTC", e.ID, e.OccurredAt)
		}
	}

	res, err := h.srv.Store().VerifyAudit(ctx)
	if err != nil || !res.OK() || res.Checked != int64(len(want)) {
		t.Errorf("verify = %+v, %v; want OK over %d events", res, err, len(want))
	}

	// No secret anywhere: not in the events, the database file, its WAL or
	// the logs.
	var files bytes.Buffer
	if h.dbURL != "" {
		files.WriteString(everyRow(t, h.dbURL)) // PostgreSQL: every row of every table
	}
	for _, name := range []string{"warden.db", "warden.db-wal"} {
		if h.dbURL != "" {
			break
		}
		b, err := os.ReadFile(filepath.Join(h.dir, name))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		files.Write(b)
	}
	if files.Len() == 0 {
		t.Fatal("read nothing of the database files")
	}
	logs := h.logs.String()
	if !strings.Contains(logs, want[1].request) {
		t.Error("the captured logs do not hold the requests (nothing to search)")
	}
	var events strings.Builder
	for _, e := range got {
		events.WriteString(e.AllText)
	}
	for what, s := range map[string]string{
		"the token secret":        secret,
		"the admin password":      testPassword,
		"the mistyped password":   wrongPassword,
		"the session cookie":      sessionCookie.Value,
		"the session cookie (QS)": url.QueryEscape(sessionCookie.Value),
	} {
		if strings.Contains(events.String(), s) {
			t.Errorf("%s is in an audit event", what)
		}
		if bytes.Contains(files.Bytes(), []byte(s)) {
			t.Errorf("%s is in the database file or WAL", what)
		}
		if strings.Contains(logs, s) {
			t.Errorf("%s is in the logs", what)
		}
	}
	if strings.Contains(events.String(), models.HashToken(secret)) {
		t.Error("the token hash is in an audit event")
	}
	if c.csrf == "" || strings.Contains(events.String(), c.csrf) || strings.Contains(logs, c.csrf) {
		t.Error("the CSRF token is in an audit event or the logs (or was never seen)")
	}
}
