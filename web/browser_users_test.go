package web

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/warden-console/warden/models"
)

// The seeded data of TestBrowserUsersList.
const (
	usersListAdminEmail = "ada@example.com"
	// usersListSearch matches exactly one user, usersListSearchHit, by name
	// and user_id; no other name, user_id or email contains it.
	usersListSearch    = "looker"
	usersListSearchHit = "Looker extract"
	// usersListLastActive is the alphabetically last active user.
	usersListLastActive = "Xero importer"
	usersListRetired    = "Zeta retired"
	usersListActive     = 32 // 29 active service users, the admin and 2 people
)

// usersListServiceUsers are the seeded service users: 30 distinct names, a
// mix of roles, some in the team Payments. usersListSearchHit is a Member,
// so adding the Manager filter to its search empties the table.
var usersListServiceUsers = []struct {
	name     string
	role     models.Role
	payments bool
}{
	{"Airflow scheduler", models.RoleMember, false},
	{"Backup verifier", models.RoleManager, false},
	{"Billing exporter", models.RoleMember, true},
	{"Build cache warmer", models.RoleMember, false},
	{"Canary prober", models.RoleManager, false},
	{"Cert renewer", models.RoleAdmin, false},
	{"Chargeback reporter", models.RoleMember, true},
	{"Data quality checker", models.RoleMember, false},
	{"dbt nightly", models.RoleManager, false},
	{"Deploy bot", models.RoleAdmin, false},
	{"DNS syncer", models.RoleMember, false},
	{"Fraud scorer", models.RoleManager, true},
	{"Grafana reader", models.RoleMember, false},
	{"Invoice mailer", models.RoleMember, true},
	{"Kafka mirror", models.RoleMember, false},
	{"Ledger reconciler", models.RoleManager, true},
	{usersListSearchHit, models.RoleMember, false},
	{"Metrics scraper", models.RoleMember, false},
	{"Nightly backup", models.RoleManager, false},
	{"Payout scheduler", models.RoleMember, true},
	{"Refund processor", models.RoleManager, true},
	{"Search indexer", models.RoleMember, false},
	{"Snowflake loader", models.RoleMember, false},
	{"Stripe webhook relay", models.RoleAdmin, true},
	{"Terraform runner", models.RoleAdmin, false},
	{"Uptime checker", models.RoleMember, false},
	{"Vault agent", models.RoleManager, false},
	{"Warehouse sync", models.RoleMember, false},
	{usersListLastActive, models.RoleMember, true},
	{usersListRetired, models.RoleManager, false},
}

// TestBrowserUsersList drives the Users list in headless Chromium against a
// real server seeded with 33 users: paging, the htmx search and role filter
// (in place, with the URL pushed), the Back button, Clear, sorting, the
// "Show deactivated" filter, the live user_id preview of the create form,
// and the same list with JavaScript disabled.
//
// Defects of the app that are known and not fixed yet are logged with
// "KNOWN BUG:" instead of failing the test (see knownBug); the test works
// around them so the later steps still run.
//
// With WARDEN_SCREENSHOT_DIR set it writes users-list.png and
// users-filtered.png there.
func TestBrowserUsersList(t *testing.T) {
	chromium := needChromium(t)
	shotDir := screenshotDir(t)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)

	base := startSeededServer(t, ctx, seedUsersList)
	b := newBrowser(t, ctx, chromium)
	b.do("set the viewport", chromedp.EmulateViewport(1280, 900))
	b.signIn(base, usersListAdminEmail)

	// 1. The first page: 25 rows of the active users, by name.
	b.navigate("open /users", base+"/users", 200)
	b.waitUntil("the first page", `document.querySelectorAll("#users-results tbody tr").length === 25`)
	expectText(b, "the first page: pagination", chromedp.CSS(`#users-results nav[aria-label="Pagination"]`),
		fmt.Sprintf("Showing 1–25 of %d", usersListActive))
	expectText(b, "the first page: no filters", chromedp.ID("users-results"), "All active users")
	if got := b.userRows("the first page"); got[0] != "Ada Admin" {
		t.Fatalf("the first page: first row is %q; want %q (sorted by name)", got[0], "Ada Admin")
	}
	b.screenshot(shotDir, "users-list.png")

	// 2. Searching refreshes the table in place and pushes the URL.
	b.do("mark the document", chromedp.Evaluate[chromedp.Void](`window.__marker = 1`))
	b.do("type a search", chromedp.SendKeys(chromedp.ID("q"), usersListSearch))
	b.waitUntil("the search results", usersListRowsAre(usersListSearchHit))
	b.waitIdle("the search")
	b.expectSameDocument("the search")
	b.expectQuery("the search", map[string]string{"q": usersListSearch}, "role", "dir", "sort")
	expectText(b, "the search: summary", chromedp.ID("users-results"), "1 filter active")
	expectText(b, "the search: pagination", chromedp.CSS(`#users-results nav[aria-label="Pagination"]`), "Showing 1–1 of 1")

	// 3. The role filter narrows the search further, in place.
	// SetValue fires input and change, as picking an option does.
	b.do("choose the role Manager", chromedp.SetValue(chromedp.ID("role"), "manager"))
	b.waitUntil("the Manager filter", `(document.querySelector("#users-results")?.textContent ?? "").includes("No users match these filters")`)
	b.waitIdle("the Manager filter")
	b.expectSameDocument("the Manager filter")
	b.expectQuery("the Manager filter", map[string]string{"q": usersListSearch, "role": "manager"})
	expectText(b, "the Manager filter: summary", chromedp.ID("users-results"), "2 filters active")
	b.screenshot(shotDir, "users-filtered.png")

	// 4. Back restores the search alone. htmx keeps no page snapshots
	// (historyCacheSize 0): it asks the server for the page and swaps it in,
	// so the form and the table agree.
	b.do("press Back", chromedp.NavigateBack())
	b.waitUntil("Back to the search", usersListRowsAre(usersListSearchHit))
	b.waitIdle("Back to the search")
	b.expectQuery("Back to the search", map[string]string{"q": usersListSearch}, "role")
	expectText(b, "Back to the search: summary", chromedp.ID("users-results"), "1 filter active")
	if q, _ := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("q"))); q != usersListSearch {
		b.knownBug("Back to the search: the search field holds %q while the table and URL show the search %q", q, usersListSearch)
	}
	if role, _ := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("role"))); role != "" {
		b.knownBug("Back to the search: the role filter holds %q", role)
	}
	b.expectSameDocument("Back to the search")

	// 5. Clear is a plain link: it loads /users afresh, form included.
	b.load("click Clear", 200, chromedp.Click(chromedp.Search(`//div[@id="users-results"]//a[normalize-space()="Clear"]`)))
	b.waitUntil("after Clear", `document.querySelectorAll("#users-results tbody tr").length === 25 &&
		(document.querySelector("#users-results")?.textContent ?? "").includes("All active users")`)
	b.waitIdle("after Clear")
	b.do("mark the cleared document", chromedp.Evaluate[chromedp.Void](`window.__marker = 1`))
	if u := b.location("after Clear"); u.Path != "/users" || u.RawQuery != "" {
		t.Fatalf("after Clear: browser is at %s; want /users", u)
	}
	b.expectFilterForm("after Clear", "", "")

	// 6. The Name header flips the default sort to descending, in place.
	b.do("click the Name header", chromedp.Click(chromedp.Search(`//div[@id="users-results"]//thead//a[starts-with(normalize-space(), "Name")]`)))
	b.waitUntil("sorted by name, descending", fmt.Sprintf(`(() => {
		const a = document.querySelector("#users-results tbody tr td a");
		return a !== null && a.textContent.trim() === %q;
	})()`, usersListLastActive))
	b.waitIdle("sorted by name, descending")
	b.expectSameDocument("sorted by name, descending")
	b.expectQuery("sorted by name, descending", map[string]string{"dir": "desc"}, "sort", "q", "role")
	b.expectSortedBy("sorted by name, descending", "Name", "descending")

	// 7. "Show deactivated" adds the deactivated user, with its badge. The
	// descending sort should be kept, which makes it the first row.
	b.do("tick Show deactivated", chromedp.Click(chromedp.CSS(`#user-filters input[name="status"]`)))
	b.waitUntil("with the deactivated", `(document.querySelector("#users-results")?.textContent ?? "").includes("1 filter active")`)
	b.waitIdle("with the deactivated")
	b.expectSameDocument("with the deactivated")
	b.expectQuery("with the deactivated", map[string]string{"status": "all"})
	expectText(b, "with the deactivated: pagination", chromedp.CSS(`#users-results nav[aria-label="Pagination"]`),
		fmt.Sprintf("Showing 1–25 of %d", usersListActive+1))
	if u := b.location("with the deactivated"); u.Query().Get("dir") != "desc" {
		// The filter form is outside the swapped region, so its hidden
		// sort fields still describe the page as first loaded.
		b.knownBug("with the deactivated: the filter form dropped the sort set by the Name header: browser is at %s; want dir=desc", u)
		// Sorted by name ascending again: the deactivated user is the
		// last of the 33, on page 2.
		b.do("click Next", chromedp.Click(chromedp.Search(`//div[@id="users-results"]//a[@rel="next"]`)))
		b.waitUntil("page 2", fmt.Sprintf(`(document.querySelector('#users-results nav[aria-label="Pagination"]')?.textContent ?? "").includes("26–%d")`, usersListActive+1))
		b.waitIdle("page 2")
		b.expectSameDocument("page 2")
		b.expectQuery("page 2", map[string]string{"status": "all", "page": "2"})
	}
	if got := b.userRows("with the deactivated"); !slices.Contains(got, usersListRetired) {
		t.Fatalf("with the deactivated: rows are %q; want %q among them", got, usersListRetired)
	}
	expectText(b, "with the deactivated: badge", chromedp.Search(
		fmt.Sprintf(`//div[@id="users-results"]//tr[.//a[normalize-space()=%q]]`, usersListRetired)), "Deactivated")

	// 8. Search, then Clear straight away: leaving the search field fires
	// its change event, so the form asks for the search again while the
	// Clear link asks for the whole list.
	b.navigate("reopen /users", base+"/users", 200)
	b.do("mark the reopened document", chromedp.Evaluate[chromedp.Void](`window.__marker = 1`))
	b.do("type a search again", chromedp.SendKeys(chromedp.ID("q"), usersListSearch))
	b.waitUntil("the search results again", usersListRowsAre(usersListSearchHit))
	b.waitIdle("the search again")
	before := b.historyLength("the search again")
	b.load("click Clear right after typing", 200, chromedp.Click(chromedp.Search(`//div[@id="users-results"]//a[normalize-space()="Clear"]`)))
	b.waitIdle("Clear right after typing")
	u := b.location("Clear right after typing")
	if u.Path != "/users" {
		t.Fatalf("Clear right after typing: browser is at %s; want /users", u)
	}
	if rows := b.userRows("Clear right after typing"); u.RawQuery != "" || len(rows) != 25 {
		b.knownBug("Clear right after typing: browser is at %s and the table has %d row(s) %q; want /users and 25 rows", u, len(rows), rows)
	}
	if q, _ := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("q"))); q != "" {
		// Clear swaps only the results; the form is outside them.
		b.knownBug("Clear right after typing: the search field still holds %q", q)
	}
	if n := b.historyLength("Clear right after typing") - before; n != 1 {
		b.knownBug("Clear right after typing: %d history entries were added; want 1 (leaving the search field pushed its URL a second time)", n)
	}

	// 9. The create form previews the user_id as the name is typed.
	b.navigate("open the create form", base+"/users/new?kind=service", 200)
	b.do("type the name", chromedp.SendKeys(chromedp.ID("name"), "Café Sync Bot"))
	b.waitUntil("the user_id preview", `(document.getElementById("userid-preview")?.textContent ?? "").includes("cafe_sync_bot@service")`)
	b.waitIdle("the user_id preview")
	b.load("click Create service user", 200, chromedp.Click(button("Create service user")))
	u = b.location("after create")
	id, ok := strings.CutPrefix(u.Path, "/users/")
	if _, err := strconv.ParseInt(id, 10, 64); !ok || err != nil {
		t.Fatalf("after create: browser is at %s; want /users/<id>", u)
	}
	expectText(b, "after create: flash", chromedp.CSS(`[data-flash]`), "Service user Café Sync Bot created as cafe_sync_bot@service.")

	// 10. Without JavaScript the list is plain links and a GET form.
	nb := b.withoutJavaScript()
	nb.signIn(base, usersListAdminEmail)
	nb.navigate("no JS: open a filtered, sorted list", base+"/users?role=manager&sort=created&dir=desc", 200)
	if ran, err := chromedp.Run(nb.ctx, chromedp.Evaluate[bool](`window.htmx !== undefined`)); err != nil || ran {
		t.Fatalf("no JS: htmx ran in the tab without JavaScript (err %v)", err)
	}
	expectText(nb, "no JS: summary", chromedp.ID("users-results"), "1 filter active")
	wantManagers := 8 // the active service users with the Manager role
	expectText(nb, "no JS: pagination", chromedp.CSS(`#users-results nav[aria-label="Pagination"]`), fmt.Sprintf("Showing 1–%d of %d", wantManagers, wantManagers))
	nb.expectSortedBy("no JS: sorted by Created", "Created", "descending")
	if got := nb.userRows("no JS: the managers"); len(got) != wantManagers || got[0] != "Vault agent" {
		t.Fatalf("no JS: rows are %q; want the %d managers, newest (Vault agent) first", got, wantManagers)
	}
	nb.expectFilterForm("no JS: the filter form", "", "manager")
	nb.do("no JS: type a search", chromedp.SendKeys(chromedp.ID("q"), "ledger"))
	nb.load("no JS: click Apply", 200, chromedp.Click(button("Apply")))
	nb.expectQuery("no JS: after Apply", map[string]string{"q": "ledger", "role": "manager", "sort": "created", "dir": "desc"})
	if got := nb.userRows("no JS: after Apply"); len(got) != 1 || got[0] != "Ledger reconciler" {
		t.Fatalf("no JS: after Apply: rows are %q; want only %q", got, "Ledger reconciler")
	}
	expectText(nb, "no JS: after Apply: summary", chromedp.ID("users-results"), "2 filters active")
	nb.expectCleanConsole()

	b.expectCleanConsole()
}

// seedUsersList creates the administrator, 3 teams, the service users of
// usersListServiceUsers (with usersListRetired deactivated) and 2 people.
func seedUsersList(ctx context.Context, st *models.Store) error {
	admin, err := st.CreateHumanAdmin(ctx, models.NewHuman{
		Name: "Ada Admin", Email: usersListAdminEmail, Password: testPassword, Confirm: testPassword,
	})
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	var payments int64
	for _, name := range []string{"Data Platform", "Payments", "Security"} {
		tm, err := st.CreateTeam(ctx, models.AsUser(admin), models.TeamInput{Name: name})
		if err != nil {
			return fmt.Errorf("team %s: %w", name, err)
		}
		if name == "Payments" {
			payments = tm.ID
		}
	}
	for _, s := range usersListServiceUsers {
		var teams []int64
		if s.payments {
			teams = []int64{payments}
		}
		u, err := st.CreateServiceUser(ctx, models.AsUser(admin), models.NewServiceUser{Name: s.name, Role: s.role, TeamIDs: teams})
		if err != nil {
			return fmt.Errorf("service user %s: %w", s.name, err)
		}
		if s.name == usersListRetired {
			if _, err := st.DeactivateUser(ctx, models.AsUser(admin), u.ID); err != nil {
				return fmt.Errorf("deactivate %s: %w", s.name, err)
			}
		}
	}
	for _, p := range []models.NewHumanUser{
		{Name: "Grace Hopper", Email: "grace@example.com", Role: models.RoleAdmin},
		{Name: "Alan Turing", Email: "alan@example.com", Role: models.RoleMember},
	} {
		if _, _, err := st.CreateHumanUser(ctx, models.AsUser(admin), p); err != nil {
			return fmt.Errorf("person %s: %w", p.Name, err)
		}
	}
	return nil
}

// signIn signs in through the login form, with the keyboard.
func (b *browser) signIn(base, email string) {
	b.t.Helper()
	b.navigate("open the login page", base+"/login", 200)
	b.do("type the email", chromedp.SendKeys(chromedp.ID("email"), email))
	b.load("sign in", 200, chromedp.SendKeys(chromedp.ID("password"), testPassword+kb.Enter))
	b.expectPath("after sign-in", "/users")
}

// withoutJavaScript opens a tab in a fresh browser context (no cookies)
// where the page's scripts do not run.
func (b *browser) withoutJavaScript() *browser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel) // runs before the browser's own cleanup
	nb := &browser{t: b.t, ctx: ctx}
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		b.t.Fatalf("disable JavaScript: %v", err)
	}
	if err := chromedp.Listen(ctx, nb.record); err != nil {
		b.t.Fatalf("listen to the no-JS tab's console: %v", err)
	}
	return nb
}

// waitUntil waits until the JavaScript expression cond is true.
func (b *browser) waitUntil(step, cond string) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		rows, _ := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](usersListRowsJS))
		b.t.Fatalf("%s: waiting for %s: %v\nlocation: %s\nrows: %q", step, cond, err, loc, rows)
	}
}

// waitIdle waits until htmx has no request in flight and has settled.
func (b *browser) waitIdle(step string) {
	b.t.Helper()
	b.waitUntil(step+": htmx idle", `window.htmx !== undefined &&
		document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added") === null`)
}

// expectSameDocument fails unless window.__marker, set before the
// interaction, survived it: htmx swapped in place, with no page load.
func (b *browser) expectSameDocument(step string) {
	b.t.Helper()
	m, err := chromedp.Run(b.ctx, chromedp.Evaluate[*int](`window.__marker`))
	if err != nil {
		b.t.Fatalf("%s: read the marker: %v", step, err)
	}
	if m == nil || *m != 1 {
		b.t.Fatalf("%s: the page was reloaded (window.__marker is gone); want an in-place htmx swap", step)
	}
}

// expectQuery fails unless the URL's query has the values in want and none
// of the parameters in absent.
func (b *browser) expectQuery(step string, want map[string]string, absent ...string) {
	b.t.Helper()
	u := b.location(step)
	q := u.Query()
	for k, v := range want {
		if got := q.Get(k); got != v {
			b.t.Fatalf("%s: browser is at %s; want %s=%s in the query", step, u, k, v)
		}
	}
	for _, k := range absent {
		if q.Has(k) && q.Get(k) != "" {
			b.t.Fatalf("%s: browser is at %s; want no %s in the query", step, u, k)
		}
	}
}

// expectFilterForm fails unless the filter form shows the search q and the
// role, so that the next change of a filter keeps what the table shows.
func (b *browser) expectFilterForm(step, q, role string) {
	b.t.Helper()
	b.expectValue(step+": search field", chromedp.ID("q"), q)
	b.expectValue(step+": role field", chromedp.ID("role"), role)
}

func (b *browser) historyLength(step string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`history.length`))
	if err != nil {
		b.t.Fatalf("%s: read history.length: %v", step, err)
	}
	return n
}

// knownBug fails the test for a defect that was once found here, keeping
// the message that explains it.
func (b *browser) knownBug(format string, args ...any) {
	b.t.Helper()
	b.t.Errorf(format, args...)
}

// expectSortedBy fails unless the column label is the one the table is
// sorted by, in the direction dir (aria-sort: ascending or descending).
func (b *browser) expectSortedBy(step, label, dir string) {
	b.t.Helper()
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`Array.from(
		document.querySelectorAll('#users-results th[aria-sort]:not([aria-sort="none"])'),
		th => th.textContent.trim().split(/\s+/)[0] + " " + th.getAttribute("aria-sort"))`))
	if err != nil {
		b.t.Fatalf("%s: read the sort headers: %v", step, err)
	}
	if want := label + " " + dir; len(got) != 1 || got[0] != want {
		b.t.Fatalf("%s: sorted columns are %q; want only %q", step, got, want)
	}
}

const usersListRowsJS = `Array.from(document.querySelectorAll("#users-results tbody tr"), tr => {
	const a = tr.querySelector("td a");
	return a ? a.textContent.trim() : "(" + tr.textContent.trim().replace(/\s+/g, " ") + ")";
})`

// userRows returns the names in the rows of the Users table; a row with no
// user (the empty-list message) is its text in parentheses.
func (b *browser) userRows(step string) []string {
	b.t.Helper()
	rows, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](usersListRowsJS))
	if err != nil {
		b.t.Fatalf("%s: read the rows: %v", step, err)
	}
	if len(rows) == 0 {
		b.t.Fatalf("%s: the Users table has no rows", step)
	}
	return rows
}

// usersListRowsAre is a condition: the Users table lists exactly names.
func usersListRowsAre(names ...string) string {
	var quoted []string
	for _, n := range names {
		quoted = append(quoted, strconv.Quote(n))
	}
	return fmt.Sprintf(`JSON.stringify(%s) === JSON.stringify([%s])`, usersListRowsJS, strings.Join(quoted, ", "))
}
