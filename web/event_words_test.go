package web

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/warden-console/warden/models"
)

var (
	scriptOrStyle = regexp.MustCompile(`(?s)<(script|style)\b.*?</(script|style)>`)
	anyTag        = regexp.MustCompile(`<[^>]*>`)
	spaces        = regexp.MustCompile(`\s+`)
)

// visibleText is a page's text as a reader sees it: no tags, no
// attributes, entities decoded, runs of white space made one.
func visibleText(page string) string {
	s := scriptOrStyle.ReplaceAllString(page, " ")
	s = anyTag.ReplaceAllString(s, "")
	return strings.TrimSpace(spaces.ReplaceAllString(html.UnescapeString(s), " "))
}

// expectNoActionCodes fails when a page shows an action's code
// ("token.revoke") where a reader sees it; links and form values may
// carry codes.
func expectNoActionCodes(t *testing.T, path, page string) {
	t.Helper()
	text := visibleText(page)
	for _, a := range models.AuditActions {
		if i := strings.Index(text, a); i >= 0 {
			t.Errorf("%s shows the code %q: …%s…", path, a, text[max(0, i-80):min(len(text), i+80)])
		}
	}
}

// apiPost calls the API with a bearer token and a JSON body.
func apiPost(t *testing.T, h *harness, path, token, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, testOrigin+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.srv.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestActivityInWords: the user page's Recent activity and the audit log
// tell what happened in sentences that name the tokens, the owners and the
// API caller's token, refusals included, and never show an action's code.
func TestActivityInWords(t *testing.T) {
	h, c, _ := signedIn(t)
	ctx := context.Background()
	etl := createService(t, c, url.Values{"name": {"Nightly ETL"}, "role": {"admin"}})
	for _, name := range []string{"ci-30", "deploy"} {
		generate(t, c, etl, url.Values{"name": {name}})
	}
	api := generate(t, c, etl, url.Values{"name": {"ci-31"}})
	ids := map[string]int64{}
	tokens, err := h.srv.Store().TokensOf(ctx, etl)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range tokens {
		ids[tok.Name] = tok.ID
	}

	// The API caller creates a team with its token.
	expectStatus(t, apiPost(t, h, "/api/v1/teams", api, `{"name": "Data"}`), http.StatusCreated)
	// Deactivation is refused while the three tokens work.
	c.get(fmt.Sprintf("/users/%d/deactivate", etl))
	c.post(fmt.Sprintf("/users/%d/deactivate", etl), url.Values{"confirm": {"deactivate"}})
	// A revocation, and a rotation whose old token works 24 hours more.
	c.get(fmt.Sprintf("/users/%d", etl))
	expectRedirect(t, c.post(fmt.Sprintf("/tokens/%d/revoke", ids["ci-30"]), nil), fmt.Sprintf("/users/%d", etl))
	c.get(fmt.Sprintf("/users/%d", etl))
	followReveal(t, c, c.post(fmt.Sprintf("/tokens/%d/rotate", ids["deploy"]), url.Values{"overlap": {"24h"}}))

	sentences := []string{
		"Ada Admin rotated token deploy of Nightly ETL (old one works 24 h)",
		"Ada Admin revoked token ci-30 of Nightly ETL",
		"Deactivation of Nightly ETL refused: 3 active tokens",
		"Ada Admin generated token ci-31 for Nightly ETL",
	}
	page := fmt.Sprintf("/users/%d", etl)
	expectStatus(t, c.get(page), http.StatusOK)
	text := visibleText(c.lastBody)
	for _, want := range sentences {
		if !strings.Contains(text, want) {
			t.Errorf("%s: Recent activity lacks %q:\n%s", page, want, text)
		}
	}
	// The names link to what they name.
	for _, link := range []string{
		fmt.Sprintf(`revoked token <a href="/audit?target_kind=token&amp;target_id=%d">ci-30</a> of <a href="/users/%d">Nightly ETL</a>`, ids["ci-30"], etl),
	} {
		if !strings.Contains(c.lastBody, link) {
			t.Errorf("%s lacks %s", page, link)
		}
	}
	expectNoActionCodes(t, page, c.lastBody)

	expectStatus(t, c.get("/audit"), http.StatusOK)
	text = visibleText(c.lastBody)
	for _, want := range append(sentences, "Nightly ETL (via token ci-31) created team Data", "Ada Admin signed in") {
		if !strings.Contains(text, want) {
			t.Errorf("/audit lacks %q", want)
		}
	}
	// The actor column names the token too, not its id.
	if !strings.Contains(text, "via token ci-31") || regexp.MustCompile(`via token \d`).MatchString(text) {
		t.Errorf("/audit names the API caller's token by its id")
	}
	expectNoActionCodes(t, "/audit", c.lastBody)

	// One action's events: the filter and the summary name it in words.
	expectStatus(t, c.get("/audit?action=token.revoke"), http.StatusOK)
	expectNoActionCodes(t, "/audit?action=token.revoke", c.lastBody)
	if !strings.Contains(visibleText(c.lastBody), "Token revoked ▾") {
		t.Error("the action filter does not name the chosen action in words")
	}
	// The event page says it in words too, and its outcome's reason.
	page2, err := h.srv.Store().ListAudit(ctx, models.AuditQuery{Actions: []string{"service_user.deactivate"}})
	if err != nil || len(page2.Events) != 1 {
		t.Fatalf("the refusal: %v, %v", page2.Events, err)
	}
	event := fmt.Sprintf("/audit/%d", page2.Events[0].ID)
	expectStatus(t, c.get(event), http.StatusOK)
	text = visibleText(c.lastBody)
	for _, want := range []string{"Deactivation of Nightly ETL refused: 3 active tokens", "denied — 3 active tokens"} {
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q", event, want)
		}
	}
	expectNoActionCodes(t, event, c.lastBody)

	// A token's history says the same, its times relative to the clock
	// with the exact second in the title.
	revokedAt := h.clock.Now()
	h.clock.Advance(3 * time.Hour)
	c.login("ada@example.com", testPassword) // the session ended meanwhile
	history := fmt.Sprintf("/audit?target_kind=token&target_id=%d", ids["ci-30"])
	expectStatus(t, c.get(history), http.StatusOK)
	text = visibleText(c.lastBody)
	for _, want := range []string{"Ada Admin revoked token ci-30 of Nightly ETL", "Ada Admin generated token ci-30 for Nightly ETL"} {
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q:\n%s", history, want, text)
		}
	}
	if strings.Contains(text, "deploy") || strings.Contains(text, "created team Data") {
		t.Errorf("%s shows another token's events", history)
	}
	exact := fmt.Sprintf(`<time datetime="%s" title="%s">3 hours ago</time>`,
		revokedAt.UTC().Format(time.RFC3339), revokedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	if !strings.Contains(c.lastBody, exact) {
		t.Errorf("%s lacks the revocation's time %s", history, exact)
	}
	expectNoActionCodes(t, history, c.lastBody)
	expectOneTimeFormat(t, history, c.lastBody)

	// The exports and the API keep the codes.
	c.get("/audit/export.csv?action=token.revoke")
	if !strings.Contains(c.lastBody, ",token.revoke,") {
		t.Errorf("the CSV export lost the action code: %s", snippet(c.lastBody))
	}
	c.get("/audit/export.ndjson?action=service_user.deactivate")
	if !strings.Contains(c.lastBody, `"action":"service_user.deactivate"`) || !strings.Contains(c.lastBody, `"reason":"active_tokens"`) {
		t.Errorf("the NDJSON export lost the codes: %s", snippet(c.lastBody))
	}
	resp := apiPost(t, h, fmt.Sprintf("/api/v1/users/%d/deactivate", etl), api, `{}`)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "rule/active_tokens") {
		t.Errorf("the API's refusal: %d %s, want its code active_tokens", resp.StatusCode, body)
	}
}

var (
	microseconds = regexp.MustCompile(`\d\d:\d\d:\d\d[.,]\d`)
	timeElement  = regexp.MustCompile(`<time\b([^>]*)>([^<]*)</time>`)
	datetimeAttr = regexp.MustCompile(`\bdatetime="([^"]*)"`)
	titleAttr    = regexp.MustCompile(`\btitle="([^"]*)"`)
	rfc3339Sec   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	exactUTC     = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$`)
	relative     = regexp.MustCompile(`^(just now|\d+ (minute|hour|day|month|year)s? ago|in \d+ (minute|hour|day|month|year)s?)$`)
	clockTime    = regexp.MustCompile(`\b\d{1,2}:\d\d\b`)
	// "2 Jan 2006" and "2006-01-02"; the audit log's day headings spell the
	// month out, and its chart's axis ("2 Jan") is a drawing.
	shortDate  = regexp.MustCompile(`\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b|\b\d{4}-\d\d-\d\d\b`)
	svgDrawing = regexp.MustCompile(`(?s)<svg\b.*?</svg>`)
)

// expectOneTimeFormat fails unless every time on the page is a <time>
// element that reads relative, with the exact UTC time to the second in
// its title and RFC 3339 in datetime, and no microseconds or clock time is
// printed anywhere else.
func expectOneTimeFormat(t *testing.T, path, page string) int {
	t.Helper()
	if m := microseconds.FindString(page); m != "" {
		t.Errorf("%s shows microseconds: %q", path, m)
	}
	times := timeElement.FindAllStringSubmatch(page, -1)
	for _, m := range times {
		dt, title := datetimeAttr.FindStringSubmatch(m[1]), titleAttr.FindStringSubmatch(m[1])
		switch {
		case dt == nil || !rfc3339Sec.MatchString(dt[1]):
			t.Errorf("%s: %s has no RFC 3339 datetime to the second", path, m[0])
		case title == nil || !exactUTC.MatchString(title[1]):
			t.Errorf("%s: %s has no exact UTC title", path, m[0])
		case !relative.MatchString(m[2]):
			t.Errorf("%s: %s does not read relative", path, m[0])
		}
	}
	text := visibleText(svgDrawing.ReplaceAllString(page, ""))
	if m := clockTime.FindString(text); m != "" {
		t.Errorf("%s prints a clock time %q outside a title", path, m)
	}
	if m := shortDate.FindString(text); m != "" {
		t.Errorf("%s prints a date %q outside a title", path, m)
	}
	return len(times)
}

// TestOneTimeFormat walks the console's pages: each shows times one way,
// none shows microseconds (the audit log did).
func TestOneTimeFormat(t *testing.T) {
	h, c, admin := signedIn(t)
	ctx := context.Background()
	svc := createService(t, c, url.Values{"name": {"Clockwork"}})
	secret := generate(t, c, svc, url.Values{"name": {"tick"}})
	expectOneTimeFormat(t, "the reveal", c.lastBody)
	team, err := h.srv.Store().CreateTeam(ctx, models.AsUser(admin), models.TeamInput{Name: "Horology"})
	if err != nil {
		t.Fatal(err)
	}
	tokens, _ := h.srv.Store().TokensOf(ctx, svc)
	c.get(fmt.Sprintf("/users/%d", svc))
	followReveal(t, c, c.post(fmt.Sprintf("/tokens/%d/rotate", tokens[0].ID), url.Values{"overlap": {"1h"}}))
	expectOneTimeFormat(t, "the rotation's reveal", c.lastBody)
	// Events at odd sub-second times, some days back.
	h.clock.Advance(26*time.Hour + 123456789*time.Nanosecond)
	seedTeams(t, h, admin, 3, "Shift")
	c.login("ada@example.com", testPassword) // the session ended meanwhile

	page, err := h.srv.Store().ListAudit(ctx, models.AuditQuery{Limit: 1})
	if err != nil || len(page.Events) != 1 {
		t.Fatal(page.Events, err)
	}
	n := 0
	for _, path := range []string{
		"/users", fmt.Sprintf("/users/%d", svc), fmt.Sprintf("/users/%d", admin.ID), fmt.Sprintf("/users/%d/edit", svc),
		fmt.Sprintf("/users/%d/deactivate", svc), "/audit", fmt.Sprintf("/audit/%d", page.Events[0].ID),
		"/tokens", "/tokens?state=all", "/teams", fmt.Sprintf("/teams/%d", team.ID), "/account", "/settings", "/tokens/lookup",
	} {
		expectStatus(t, c.get(path), http.StatusOK)
		n += expectOneTimeFormat(t, path, c.lastBody)
	}
	c.post("/tokens/lookup", url.Values{"token": {secret}})
	n += expectOneTimeFormat(t, "a lookup's result", c.lastBody)
	if n < 30 {
		t.Errorf("%d times checked; the pages should show many more", n)
	}
}
