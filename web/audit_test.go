package web

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/warden-console/warden/models"
)

// seedTeams creates n teams through the store, n audit events.
func seedTeams(t *testing.T, h *harness, admin *models.User, n int, prefix string) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := h.srv.Store().CreateTeam(context.Background(), models.AsUser(admin), models.TeamInput{Name: fmt.Sprintf("%s %03d", prefix, i)}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAuditPage(t *testing.T) {
	h, c, admin := signedIn(t)
	seedTeams(t, h, admin, 120, "Squad")
	svc := createService(t, c, url.Values{"name": {"Audited bot"}})

	expectStatus(t, c.get("/audit"), http.StatusOK)
	for _, want := range []string{"Audit log", "Ada Admin</a> created service user <a href=\"/users/", ">Audited bot</a>", "Ada Admin</a> created team <a href=\"/teams/",
		"Most frequent action", "<svg", "events on this page", "Older →"} {
		if !strings.Contains(c.lastBody, want) {
			t.Errorf("audit page lacks %q", want)
		}
	}
	// Filter by action, and walk the keyset pages.
	c.get("/audit?action=team.create")
	if strings.Contains(c.lastBody, "created service user") {
		t.Error("action filter let other actions through")
	}
	next := regexp.MustCompile(`href="(/audit\?[^"]*before=\d+[^"]*)" rel="next"`).FindStringSubmatch(c.lastBody)
	if next == nil {
		t.Fatal("no Older link on a 120-event filter")
	}
	older := strings.ReplaceAll(next[1], "&amp;", "&")
	expectStatus(t, c.get(older), http.StatusOK)
	if !strings.Contains(c.lastBody, "Squad 069") || strings.Contains(c.lastBody, "Squad 070<") {
		t.Error("second page does not continue where the first ended")
	}
	prev := regexp.MustCompile(`href="(/audit\?[^"]*after=\d+[^"]*)" rel="prev"`).FindStringSubmatch(c.lastBody)
	if prev == nil {
		t.Fatal("no Newer link on the second page")
	}
	c.get(strings.ReplaceAll(prev[1], "&amp;", "&"))
	if !strings.Contains(c.lastBody, "Squad 119") || strings.Contains(c.lastBody, `rel="prev"`) {
		t.Error("Newer does not lead back to the first page")
	}

	// Links from the user page, and the detail page's before/after.
	c.get(fmt.Sprintf("/users/%d", svc))
	if !strings.Contains(c.lastBody, fmt.Sprintf("/audit?user=%d", svc)) || !strings.Contains(c.lastBody, "created service user <a href=") {
		t.Error("user page lacks its recent activity")
	}
	c.get(fmt.Sprintf("/users/%d/edit", svc))
	c.post(fmt.Sprintf("/users/%d/edit", svc), url.Values{"role": {"manager"}, "description": {"now documented"}})
	c.get(fmt.Sprintf("/audit?target_kind=user&target_id=%d&action=service_user.update", svc))
	m := regexp.MustCompile(`href="/audit/(\d+)"`).FindStringSubmatch(c.lastBody)
	if m == nil {
		t.Fatal("no update event listed")
	}
	expectStatus(t, c.get("/audit/"+m[1]), http.StatusOK)
	for _, want := range []string{"Ada Admin</a> updated <a href=\"/users/", ">Audited bot</a> (purpose and role)", ">Service user updated<",
		">role<", ">member<", ">manager<", ">now documented<", "Ada Admin", "ada@example.com"} {
		if !strings.Contains(c.lastBody, want) {
			t.Errorf("event page lacks %q", want)
		}
	}
	expectStatus(t, c.get("/audit/999999"), http.StatusNotFound)

	// Bad filters are notices, not errors.
	expectStatus(t, c.get("/audit?action=drop.tables&target_kind=x&outcome=maybe&from=yesterday&before=-1"), http.StatusOK)
	if !strings.Contains(c.lastBody, "Unknown action") {
		t.Error("invalid filters not reported")
	}
	// A period that starts after today has no days to chart (it once asked
	// for a slice of negative capacity: a 500).
	future := time.Now().UTC().AddDate(0, 0, 5).Format("2006-01-02")
	expectStatus(t, c.get("/audit?from="+future), http.StatusOK)
	if !strings.Contains(c.lastBody, "No activity in this period.") {
		t.Error("a future period draws a chart")
	}
}

func TestAuditExport(t *testing.T) {
	h, c, admin := signedIn(t)
	ctx := context.Background()
	// A service user whose purpose would be a formula in a spreadsheet.
	if _, err := h.srv.Store().CreateServiceUser(ctx, models.AsUser(admin), models.NewServiceUser{
		Name: "Formula", Role: models.RoleMember, Description: "=HYPERLINK(\"http://evil\")",
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.Store().CreateTeam(ctx, models.AsUser(admin), models.TeamInput{Name: "@sum team", Description: "+1"}); err != nil {
		t.Fatal(err)
	}
	resp := c.get("/audit/export.csv?action=team.create&range=7d")
	expectStatus(t, resp, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); !regexp.MustCompile(`attachment; filename="warden-audit-\d{4}-\d\d-\d\d-to-\d{4}-\d\d-\d\d\.csv"`).MatchString(cd) {
		t.Errorf("Content-Disposition %q does not carry the date range", cd)
	}
	records, err := csv.NewReader(strings.NewReader(c.lastBody)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 2 || records[0][0] != "id" || records[1][6] != "team.create" {
		t.Fatalf("CSV = %q; want the header and exactly the one team.create event", records)
	}
	if label := records[1][11]; label != "'@sum team" {
		t.Errorf("target label cell %q was not neutralised", label)
	}
	all := c.get("/audit/export.csv")
	expectStatus(t, all, http.StatusOK)
	every, err := csv.NewReader(strings.NewReader(c.lastBody)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range every {
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("cell %q starts a formula", cell)
			}
		}
	}

	resp = c.get("/audit/export.ndjson?outcome=success")
	expectStatus(t, resp, http.StatusOK)
	sc := bufio.NewScanner(strings.NewReader(c.lastBody))
	n := 0
	var lastID int64 = 1 << 62
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d is not JSON: %v", n, err)
		}
		if e["outcome"] != "success" {
			t.Errorf("exported %v outside the filter", e["outcome"])
		}
		id := int64(e["id"].(float64))
		if id >= lastID {
			t.Error("export is not newest first")
		}
		lastID = id
		n++
	}
	if n < 3 {
		t.Fatalf("NDJSON has %d lines", n)
	}
	expectStatus(t, c.get("/audit/export.csv?action=nope"), http.StatusBadRequest)
}

func TestAuditVerifyButton(t *testing.T) {
	h, c, admin := signedIn(t)
	seedTeams(t, h, admin, 10, "Crew")
	c.get("/audit")
	expectStatus(t, c.post("/audit/verify", nil), http.StatusOK)
	if !strings.Contains(c.lastBody, "Intact:") {
		t.Fatal("verify does not report an intact chain")
	}
	// Tamper behind the triggers' back.
	if h.dbURL != "" {
		mustExec(t, h, `ALTER TABLE audit_events DISABLE TRIGGER USER`)
	} else {
		mustExec(t, h, `DROP TRIGGER audit_events_no_update`)
	}
	mustExec(t, h, `UPDATE audit_events SET actor_label = 'mallory' WHERE id = 5`)
	expectStatus(t, c.post("/audit/verify", nil), http.StatusOK)
	if !strings.Contains(c.lastBody, "Broken:") || !strings.Contains(c.lastBody, "event 5") {
		t.Fatal("verify does not name the tampered event")
	}
}

func TestUserActivityIncludesItsTokens(t *testing.T) {
	_, c, _ := signedIn(t)
	svc := createService(t, c, url.Values{"name": {"Busy bot"}})
	generate(t, c, svc, url.Values{"name": {"busy-token"}})
	c.get(fmt.Sprintf("/users/%d", svc))
	if !strings.Contains(visibleText(c.lastBody), "Ada Admin generated token busy-token for Busy bot") {
		t.Fatal("the user page's activity lacks the creation of its token")
	}
	c.get(fmt.Sprintf("/audit?user=%d", svc))
	if text := visibleText(c.lastBody); !strings.Contains(text, "Ada Admin generated token busy-token for Busy bot") ||
		!strings.Contains(text, "Ada Admin created service user Busy bot") {
		t.Fatal("the user's timeline lacks its own or its token's events")
	}
}

// TestDeletedTokenHistoryInTheConsole: a deleted token's events stay on its
// user's page and under /audit?user=N as "ci-60 (deleted)", and the event
// page links the token's owner.
func TestDeletedTokenHistoryInTheConsole(t *testing.T) {
	h, c, admin := signedIn(t)
	ctx := context.Background()
	svc := createService(t, c, url.Values{"name": {"CI"}})
	generate(t, c, svc, url.Values{"name": {"ci-60"}})
	tokens, err := h.srv.Store().TokensOf(ctx, svc)
	if err != nil || len(tokens) != 1 {
		t.Fatalf("tokens of CI = %v, %v", tokens, err)
	}
	if _, err := h.srv.Store().RevokeToken(ctx, models.AsUser(admin), tokens[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.Store().DeleteToken(ctx, models.AsUser(admin), tokens[0].ID); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fmt.Sprintf("/users/%d", svc), fmt.Sprintf("/audit?user=%d", svc)} {
		expectStatus(t, c.get(path), http.StatusOK)
		for _, want := range []string{"Ada Admin generated token ci-60 (deleted) for CI", "Ada Admin revoked token ci-60 (deleted) of CI",
			"Ada Admin deleted token ci-60 of CI"} {
			if !strings.Contains(visibleText(c.lastBody), want) {
				t.Errorf("%s lacks %q", path, want)
			}
		}
	}
	page, err := h.srv.Store().ListAudit(ctx, models.AuditQuery{Actions: []string{"token.delete"}})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("the deletion: %v, %v", page.Events, err)
	}
	expectStatus(t, c.get(fmt.Sprintf("/audit/%d", page.Events[0].ID)), http.StatusOK)
	if !strings.Contains(c.lastBody, "ci-60 (deleted)") || !strings.Contains(c.lastBody, fmt.Sprintf(`href="/users/%d"`, svc)) {
		t.Errorf("the event page does not link the owner of ci-60 (deleted): %s", snippet(c.lastBody))
	}
}
