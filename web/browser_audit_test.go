package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/warden-console/warden/models"
)

// The data of TestBrowserAuditLog.
const (
	auditLogAdminName    = "Ada Admin"
	auditLogAdminEmail   = "ada@example.com"
	auditLogTeam         = "Observability"
	auditLogService      = "Audit Exporter"
	auditLogServiceID    = "audit_exporter@service"
	auditLogToken        = "ci-nightly"
	auditLogTokenCreate  = "token.create"
	auditLogTokenRevoke  = "token.revoke"
	auditLogServiceEvent = "service_user.create"
)

// TestBrowserAuditLog drives the audit log in headless Chromium against a
// real server seeded with one administrator: it performs a few actions
// through the console (sign-in, a team, a service user, a token generated
// and revoked), then checks that they are listed newest first, filters by
// two actions with the Actions dropdown, opens the revocation's detail page
// with its before/after changes, exports the filtered list as CSV from the
// page (with the session cookie) and checks its rows, and verifies the hash
// chain.
//
// With WARDEN_SCREENSHOT_DIR set it writes audit.png and audit-event.png
// there.
func TestBrowserAuditLog(t *testing.T) {
	chromium := needChromium(t)
	shotDir := screenshotDir(t)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)

	base := startSeededServer(t, ctx, func(ctx context.Context, st *models.Store) error {
		_, err := st.CreateHumanAdmin(ctx, models.NewHuman{
			Name: auditLogAdminName, Email: auditLogAdminEmail, Password: testPassword, Confirm: testPassword,
		})
		return err
	})
	b := newBrowser(t, ctx, chromium)
	b.do("set the viewport", chromedp.EmulateViewport(1280, 900))

	// 1. Sign in through the login form (auth.login).
	b.signIn(base, auditLogAdminEmail)

	// 2. A few actions through the console.
	// team.create
	b.navigate("open /teams", base+"/teams", 200)
	b.do("fill the new team form",
		chromedp.SendKeys(chromedp.ID("name"), auditLogTeam),
		chromedp.SendKeys(chromedp.ID("description"), "Dashboards and alerts"),
	)
	b.load("click Create team", 200, chromedp.Click(button("Create team")))
	b.expectPath("after Create team", "/teams")
	expectText(b, "after Create team: flash", chromedp.CSS(`[data-flash]`), "Team "+auditLogTeam+" created.")

	// service_user.create. The name field previews the user_id with htmx;
	// wait for it so that no request is in flight when the form is sent.
	b.navigate("open the create form", base+"/users/new?kind=service", 200)
	b.do("type the service user's name", chromedp.SendKeys(chromedp.ID("name"), auditLogService))
	b.waitUntil("the user_id preview", fmt.Sprintf(`(document.getElementById("userid-preview")?.textContent ?? "").includes(%q)`, auditLogServiceID))
	b.waitIdle("the user_id preview")
	b.load("click Create service user", 200, chromedp.Click(button("Create service user")))
	userPage := b.location("after Create service user").Path
	if !regexp.MustCompile(`^/users/\d+$`).MatchString(userPage) {
		t.Fatalf("after Create service user: browser is at %s; want /users/<id>", userPage)
	}
	expectText(b, "after Create service user: flash", chromedp.CSS(`[data-flash]`), "Service user "+auditLogService+" created as "+auditLogServiceID+".")

	// token.create: the reveal page shows the secret once; keep it to check
	// that the export does not carry it.
	b.load("click Generate token", 200, chromedp.Click(chromedp.Search(`//a[normalize-space()="Generate token"]`)))
	b.expectPath("the token form", userPage+"/tokens/new")
	b.do("type the token name", chromedp.SendKeys(chromedp.ID("name"), auditLogToken))
	b.load("submit the token form", 200, chromedp.Click(button("Generate token")))
	secret, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("token-value")))
	if err != nil {
		t.Fatalf("the reveal page: read #token-value: %v", err)
	}
	if !strings.HasPrefix(secret, "wdn_") || len(secret) < 20 {
		t.Fatalf("the reveal page: #token-value holds %q; want a wdn_ token", secret)
	}

	// token.revoke, from the user's page under the reveal, once Done has
	// closed it.
	b.do("click Done", chromedp.Click(chromedp.Search(`//a[starts-with(normalize-space(), "Done, back to")]`)))
	b.waitUntil("the reveal closed", `document.querySelector("dialog") === null && document.getElementById("token-value") === null`)
	b.openTokenDialog(auditLogToken, "Revoke…")
	b.load("click Revoke", 200, chromedp.Click(chromedp.Search(`//dialog//button[normalize-space()="Revoke token"]`)))
	b.expectPath("after Revoke", userPage)
	expectText(b, "after Revoke: flash", chromedp.CSS(`[data-flash]`), "Token “"+auditLogToken+"” revoked.")
	expectText(b, "after Revoke: state", chromedp.Search(fmt.Sprintf(
		`//section[@aria-labelledby="tokens-heading"]//tr[.//div[normalize-space()=%q]]`, auditLogToken)), "Revoked")

	// 3. The audit log lists them newest first.
	b.navigate("open /audit", base+"/audit", 200)
	rows := b.auditListRows("the audit log")
	want := []struct{ action, text string }{
		{auditLogTokenRevoke, auditLogToken},
		{auditLogTokenCreate, auditLogToken},
		{auditLogServiceEvent, auditLogServiceID},
		{"team.create", auditLogTeam},
		{"auth.login", auditLogAdminEmail},
	}
	if len(rows) < len(want) {
		t.Fatalf("the audit log: %d row(s) %v; want at least %d", len(rows), rows, len(want))
	}
	for i, w := range want {
		r := rows[i]
		if r.Action != w.action || !strings.Contains(r.Text, w.text) || !strings.Contains(r.Text, auditLogAdminEmail) ||
			!strings.HasPrefix(r.Sentence, auditLogAdminName+" ") {
			t.Fatalf("the audit log: row %d is %q (%s); want %s by %s about %q\nall rows: %v",
				i+1, r.Text, r.Action, w.action, auditLogAdminEmail, w.text, rows)
		}
	}
	// Grouped by day: the newest group is today's (UTC), or yesterday's if
	// midnight passed since the revocation.
	day, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(`main section > h2 > span`)))
	if err != nil {
		t.Fatalf("the audit log: read the first day heading: %v", err)
	}
	if d, err := time.Parse("Monday 2 January 2006", day); err != nil || time.Since(d) < 0 || time.Since(d) > 48*time.Hour {
		t.Fatalf("the audit log: the first day heading is %q; want today's date (UTC), like %q", day, time.Now().UTC().Format("Monday 2 January 2006"))
	}
	b.screenshot(shotDir, "audit.png")

	// 4. Filter by two actions with the Actions dropdown.
	b.do("open the Actions dropdown", chromedp.Click(chromedp.CSS(`form[role="search"] details > summary`)))
	b.waitUntil("the Actions dropdown is open", `document.querySelector('form[role="search"] details').open &&
		document.querySelector('input[name="action"][value="token.create"]').checkVisibility()`)
	for _, a := range []string{auditLogTokenCreate, auditLogTokenRevoke} {
		b.do("tick "+a, chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name="action"][value=%q]`, a))))
	}
	b.waitUntil("two actions ticked", `Array.from(document.querySelectorAll('input[name="action"]:checked'), c => c.value).sort().join() === "token.create,token.revoke"`)
	b.load("click Filter", 200, chromedp.Click(button("Filter")))
	b.expectPath("after Filter", "/audit")
	b.expectTokenActionsFilter("after Filter")
	filtered := b.expectTokenEventRows("after Filter")
	if checked, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('input[name="action"]:checked'), c => c.value).sort()`)); err != nil ||
		!slices.Equal(checked, []string{auditLogTokenCreate, auditLogTokenRevoke}) {
		t.Fatalf("after Filter: ticked actions are %q (err %v); want the two filtered by", checked, err)
	}
	expectText(b, "after Filter: dropdown summary", chromedp.CSS(`form[role="search"] details > summary`), "2 actions")

	// 5. The revocation's detail page. (The filtered list's address is kept
	// to come back to it: the browser's Back restores it from Chromium's
	// back/forward cache, which chromedp v0.23 does not follow reliably.)
	filteredURL := b.location("before Details").String()
	b.load("click Details of token.revoke", 200, chromedp.Click(chromedp.Search(fmt.Sprintf(
		`//main//tbody/tr[td[3][starts-with(normalize-space(), %q)]]//a[starts-with(normalize-space(), "Details")]`, auditLogAdminName+" revoked token"))))
	b.expectPath("the event page", "/audit/"+filtered[auditLogTokenRevoke])
	expectText(b, "the event page: sentence", chromedp.CSS(`main h1`), auditLogAdminName+" revoked token "+auditLogToken+" of "+auditLogService)
	expectText(b, "the event page: action", auditEventField("Action"), "Token revoked")
	expectText(b, "the event page: actor", auditEventField("Actor"), auditLogAdminEmail)
	expectText(b, "the event page: target", auditEventField("Target"), auditLogToken)
	changes, err := chromedp.Run(b.ctx, chromedp.Evaluate[[][]string](`Array.from(
		document.querySelectorAll('section[aria-labelledby="changes-heading"] tbody tr'),
		tr => Array.from(tr.cells, td => td.textContent.trim()))`))
	if err != nil {
		t.Fatalf("the event page: read the changes: %v", err)
	}
	if want := [][]string{{"state", "active", "revoked"}}; !slices.EqualFunc(changes, want, slices.Equal[[]string]) {
		t.Fatalf("the event page: changes are %q; want %q", changes, want)
	}
	b.screenshot(shotDir, "audit-event.png")

	// 6. Back to the filtered list; export it as CSV, from the page, with
	// the session cookie, exactly as the link offers it.
	b.navigate("back to the filtered list", filteredURL, 200)
	b.expectPath("back on the filtered list", "/audit")
	b.expectTokenActionsFilter("back on the filtered list")
	b.expectTokenEventRows("back on the filtered list")
	href, err := chromedp.Run(b.ctx, chromedp.Evaluate[*string](`Array.from(document.querySelectorAll("main a"))
		.find(a => a.textContent.trim() === "Export CSV")?.getAttribute("href") ?? null`))
	if err != nil || href == nil {
		t.Fatalf("the filtered list: no Export CSV link (err %v)", err)
	}
	hu, err := url.Parse(*href)
	if err != nil || hu.Path != "/audit/export.csv" {
		t.Fatalf("the filtered list: Export CSV links to %q; want /audit/export.csv with the filter", *href)
	}
	if got := slices.Sorted(slices.Values(hu.Query()["action"])); !slices.Equal(got, []string{auditLogTokenCreate, auditLogTokenRevoke}) {
		t.Fatalf("the filtered list: Export CSV links to %q; want the actions token.create and token.revoke", *href)
	}
	export := b.fetchInPage("export CSV", *href)
	if export.Status != 200 || !strings.HasPrefix(export.Type, "text/csv") {
		t.Fatalf("export CSV: %s answered %d %q; want 200 text/csv\n%s", *href, export.Status, export.Type, export.Body)
	}
	if !regexp.MustCompile(`^attachment; filename="warden-audit-[^"]+\.csv"$`).MatchString(export.Disposition) {
		t.Fatalf("export CSV: Content-Disposition is %q; want an attachment warden-audit-….csv", export.Disposition)
	}
	if strings.Contains(export.Body, secret) {
		t.Fatalf("export CSV: the export contains the token secret")
	}
	records, err := csv.NewReader(strings.NewReader(export.Body)).ReadAll()
	if err != nil {
		t.Fatalf("export CSV: parse: %v\n%s", err, export.Body)
	}
	if len(records) == 0 || len(records[0]) < 2 || records[0][0] != "id" || records[0][1] != "occurred_at" {
		t.Fatalf("export CSV: header is %q; want it to start with id,occurred_at", records[:min(1, len(records))])
	}
	header, data := records[0], records[1:]
	actionCol := slices.Index(header, "action")
	if actionCol < 0 {
		t.Fatalf("export CSV: header %q has no action column", header)
	}
	if len(data) != 2 {
		t.Fatalf("export CSV: %d data row(s); want 2 (the filtered events)\n%s", len(data), export.Body)
	}
	exported := map[string]string{} // action → id
	for _, rec := range data {
		exported[rec[actionCol]] = rec[0]
		for _, cell := range rec {
			if strings.Contains(cell, secret) {
				t.Fatalf("export CSV: row %q contains the token secret", rec)
			}
		}
	}
	if len(exported) != 2 || exported[auditLogTokenCreate] != filtered[auditLogTokenCreate] || exported[auditLogTokenRevoke] != filtered[auditLogTokenRevoke] {
		t.Fatalf("export CSV: rows are %q; want the events %v listed on the page", data, filtered)
	}

	// 7. Verify the hash chain.
	b.load("click Verify integrity", 200, chromedp.Click(button("Verify integrity")))
	expectText(b, "after Verify integrity", chromedp.CSS(`main div[role="status"]`), "Intact:")

	b.expectCleanConsole()
}

// auditListRow is one row of the audit log's tables.
type auditListRow struct {
	ID       string `json:"id"`       // the event id, from the Details link
	Sentence string `json:"sentence"` // the event in words, the third column
	Action   string `json:"-"`        // the action the sentence words (see sentenceActions)
	Text     string `json:"text"`     // the row's whole text, on one line
}

// sentenceActions are the words by which a reader tells the actions these
// tests perform apart; the log shows no codes.
var sentenceActions = []struct{ words, action string }{
	{" revoked token ", auditLogTokenRevoke},
	{" generated token ", auditLogTokenCreate},
	{" created service user ", auditLogServiceEvent},
	{" created team ", "team.create"},
	{" signed in", "auth.login"},
}

func (r auditListRow) String() string { return r.Action + "#" + r.ID }

// auditListRows returns the rows of the audit log, in page order.
func (b *browser) auditListRows(step string) []auditListRow {
	b.t.Helper()
	rows, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]auditListRow](`Array.from(document.querySelectorAll("main section > table > tbody > tr"), tr => ({
		id: (tr.querySelector('a[href^="/audit/"]')?.getAttribute("href") ?? "").replace("/audit/", ""),
		sentence: (tr.cells[2]?.textContent ?? "").trim().replace(/\s+/g, " "),
		text: tr.textContent.trim().replace(/\s+/g, " "),
	}))`))
	if err != nil {
		b.t.Fatalf("%s: read the rows: %v", step, err)
	}
	for i := range rows {
		for _, sa := range sentenceActions {
			if strings.Contains(rows[i].Sentence, sa.words) {
				rows[i].Action = sa.action
				break
			}
		}
	}
	return rows
}

// expectTokenActionsFilter fails unless the URL filters by exactly the
// actions token.create and token.revoke, in any order.
func (b *browser) expectTokenActionsFilter(step string) {
	b.t.Helper()
	u := b.location(step)
	if got := slices.Sorted(slices.Values(u.Query()["action"])); !slices.Equal(got, []string{auditLogTokenCreate, auditLogTokenRevoke}) {
		b.t.Fatalf("%s: browser is at %s; want action=%s&action=%s in the query", step, u, auditLogTokenCreate, auditLogTokenRevoke)
	}
}

// expectTokenEventRows fails unless the list shows exactly the two token
// events, revocation first, and returns their ids by action.
func (b *browser) expectTokenEventRows(step string) map[string]string {
	b.t.Helper()
	rows := b.auditListRows(step)
	if len(rows) != 2 || rows[0].Action != auditLogTokenRevoke || rows[1].Action != auditLogTokenCreate || rows[0].ID == "" || rows[1].ID == "" {
		b.t.Fatalf("%s: rows are %v; want only %s then %s", step, rows, auditLogTokenRevoke, auditLogTokenCreate)
	}
	return map[string]string{rows[0].Action: rows[0].ID, rows[1].Action: rows[1].ID}
}

// auditEventField selects the value of a labelled field of the event page.
func auditEventField(label string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//main//dl/div[dt[normalize-space()=%q]]/dd`, label))
}

// fetchedResponse is a response read by fetch in the page.
type fetchedResponse struct {
	Status      int    `json:"status"`
	Type        string `json:"type"`
	Disposition string `json:"disposition"`
	Body        string `json:"body"`
}

// fetchInPage GETs href from the page, with its cookies, as the download
// link would, and reads the whole answer.
func (b *browser) fetchInPage(step, href string) fetchedResponse {
	b.t.Helper()
	arg, err := json.Marshal(href)
	if err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
	res, err := chromedp.Run(b.ctx, chromedp.Evaluate[fetchedResponse](fmt.Sprintf(`fetch(%s, {credentials: 'same-origin'}).then(async r => ({
		status: r.status,
		type: r.headers.get("Content-Type") ?? "",
		disposition: r.headers.get("Content-Disposition") ?? "",
		body: await r.text(),
	}))`, arg), chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: fetch %s: %v", step, href, err)
	}
	return res
}

// startSeededServer runs the real server on a loopback port until the test
// ends, on a fresh database that seed has filled first, and returns its base
// URL.
func startSeededServer(t *testing.T, ctx context.Context, seed func(context.Context, *models.Store) error) string {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DBPath = filepath.Join(t.TempDir(), "warden.db")
	logs := &syncBuffer{}
	srv, err := NewServer(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	if err := seed(ctx, srv.Store()); err != nil {
		_ = srv.Close()
		t.Fatalf("seed: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = srv.Close()
		t.Fatalf("listen: %v", err)
	}

	serveCtx, stop := context.WithCancel(context.Background())
	serveDone := make(chan struct{})
	var serveErr error
	go func() {
		defer close(serveDone)
		serveErr = srv.Serve(serveCtx, ln)
	}()
	// Registered before the browser's cleanup, so it runs after it.
	t.Cleanup(func() {
		stop()
		select {
		case <-serveDone:
			if serveErr != nil && !errors.Is(serveErr, net.ErrClosed) {
				t.Errorf("Serve returned %v", serveErr)
			}
		case <-time.After(15 * time.Second):
			t.Error("server did not shut down within 15 s")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return "http://" + ln.Addr().String()
}
