package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/warden-console/warden/models"
)

// signedIn returns a harness with one administrator and a client signed in as them.
func signedIn(t *testing.T) (*harness, *client, *models.User) {
	t.Helper()
	h := newHarness(t)
	admin := h.admin("ada@example.com")
	c := h.client()
	c.login("ada@example.com", testPassword)
	c.get("/users") // picks up the session's CSRF token
	return h, c, admin
}

var userLocation = regexp.MustCompile(`^/users/(\d+)$`)

// createService creates a service user through the form and returns its id.
func createService(t *testing.T, c *client, form url.Values) int64 {
	t.Helper()
	form.Set("kind", "service")
	if form.Get("role") == "" {
		form.Set("role", "member")
	}
	resp := c.post("/users", form)
	m := userLocation.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("create service user: status %d location %q body %s", resp.StatusCode, resp.Header.Get("Location"), snippet(c.lastBody))
	}
	var id int64
	fmt.Sscan(m[1], &id)
	return id
}

func TestCreateServiceUser(t *testing.T) {
	h, c, admin := signedIn(t)
	expectStatus(t, c.get("/users/new?kind=service"), http.StatusOK)
	if !strings.Contains(c.lastBody, `value="member" checked`) {
		t.Error("Member is not preselected")
	}
	team, _ := h.srv.Store().CreateTeam(context.Background(), models.AsUser(admin), models.TeamInput{Name: "Data"})
	id := createService(t, c, url.Values{
		"name": {"Airflow Service User"}, "role": {"manager"}, "team": {fmt.Sprint(team.ID), "1"},
		"description": {"Loads the warehouse."}, "owner": {fmt.Sprintf("user:%d", admin.ID)},
	})
	expectStatus(t, c.get(fmt.Sprintf("/users/%d", id)), http.StatusOK)
	for _, want := range []string{"airflow_service_user@service", "Loads the warehouse.", "Data", "Ada Admin", "created as airflow_service_user@service"} {
		if !strings.Contains(c.lastBody, want) {
			t.Errorf("detail page lacks %q", want)
		}
	}

	// The live preview uses the same rule.
	expectStatus(t, c.get("/users/preview-id?name="+url.QueryEscape("Café Sync")), http.StatusOK)
	if !strings.Contains(c.lastBody, "cafe_sync@service") {
		t.Errorf("preview = %s", c.lastBody)
	}

	// Errors re-render the form with what was typed.
	cases := []struct {
		form url.Values
		want string
	}{
		{url.Values{"name": {"!!!"}, "description": {"keep me"}}, "The name needs at least one letter or digit."},
		{url.Values{"name": {"airflow service user"}, "description": {"keep me"}}, "airflow_service_user@service is already taken"},
		{url.Values{"name": {"Bell\x07"}, "description": {"keep me"}}, "must not contain control"},
		{url.Values{"name": {"Evil \u202Egnp.exe"}, "description": {"keep me"}}, "must not contain control"},
		{url.Values{"name": {"Fine name"}, "description": {"keep me"}, "role": {"root"}}, "Choose a role."},
		{url.Values{"name": {"Fine name"}, "description": {"keep me"}, "team": {"999"}}, "no longer exists"},
		{url.Values{"name": {"Fine name"}, "description": {"keep me"}, "owner": {"user:999"}}, "no longer exists or is deactivated"},
		{url.Values{"name": {"Fine name"}, "description": {"keep me"}, "owner": {"robot:1"}}, "Choose an owner from the list."},
	}
	for _, tc := range cases {
		form := tc.form
		form.Set("kind", "service")
		if form.Get("role") == "" {
			form.Set("role", "member")
		}
		resp := c.post("/users", form)
		expectStatus(t, resp, http.StatusUnprocessableEntity)
		if !strings.Contains(c.lastBody, tc.want) {
			t.Errorf("name %q: the form does not say %q", form.Get("name"), tc.want)
		}
		if !strings.Contains(c.lastBody, ">keep me</textarea>") {
			t.Errorf("name %q: the purpose typed was lost", form.Get("name"))
		}
	}
	// A deactivated user still holds its user_id.
	if _, err := h.srv.Store().DeactivateUser(context.Background(), models.AsUser(admin), id); err != nil {
		t.Fatal(err)
	}
	expectStatus(t, c.post("/users", url.Values{"kind": {"service"}, "role": {"member"}, "name": {"Airflow  Service User"}}), http.StatusUnprocessableEntity)
}

func TestCreateHumanAndSetPassword(t *testing.T) {
	h, c, _ := signedIn(t)
	expectStatus(t, c.get("/users/new?kind=human"), http.StatusOK)
	resp := c.post("/users", url.Values{"kind": {"human"}, "name": {"Bob Builder"}, "email": {"Bob@Example.com"}, "role": {"admin"}})
	expectStatus(t, resp, http.StatusCreated)
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q on the page showing a one-time link", cc)
	}
	m := regexp.MustCompile(`http://warden\.test/set-password/([A-Za-z0-9_-]+)`).FindStringSubmatch(c.lastBody)
	if m == nil {
		t.Fatalf("no set-password link on the page: %s", snippet(c.lastBody))
	}
	token := m[1]
	if resp.Header.Get("Location") != "" || strings.Contains(fmt.Sprint(resp.Header), token) {
		t.Error("the link leaked into a header")
	}
	// Reloading the user page does not show it again.
	uid := regexp.MustCompile(`/users/(\d+)/edit`).FindStringSubmatch(c.lastBody)[1]
	c.get("/users/" + uid)
	if strings.Contains(c.lastBody, token) {
		t.Fatal("the link is shown again on a later page")
	}
	if !strings.Contains(c.lastBody, "A set-password link is waiting to be used.") {
		t.Error("pending link not indicated")
	}
	// Duplicate email, case-insensitively, keeps the input.
	expectStatus(t, c.post("/users", url.Values{"kind": {"human"}, "name": {"Bob Two"}, "email": {"bob@EXAMPLE.com"}, "role": {"member"}}), http.StatusUnprocessableEntity)
	if !strings.Contains(c.lastBody, "already exists") || !strings.Contains(c.lastBody, `value="Bob Two"`) {
		t.Error("duplicate email not explained with the input kept")
	}

	bob := h.client()
	expectStatus(t, bob.get("/set-password/"+token), http.StatusOK)
	if !strings.Contains(bob.lastBody, "Bob Builder") {
		t.Error("set-password page does not greet the person")
	}
	expectStatus(t, bob.post("/set-password/"+token, url.Values{"password": {"short"}, "confirm": {"short"}}), http.StatusUnprocessableEntity)
	pw := "bob builds strong passphrases"
	expectRedirect(t, bob.post("/set-password/"+token, url.Values{"password": {pw}, "confirm": {pw}}), "/login")
	expectStatus(t, bob.get("/set-password/"+token), http.StatusNotFound)
	bob.login("bob@example.com", pw)
	expectStatus(t, bob.get("/users"), http.StatusOK)

	if strings.Contains(h.logs.String(), token) || strings.Contains(h.logs.String(), pw) {
		t.Error("the set-password token or the password reached the log")
	}
	if !strings.Contains(h.logs.String(), "/set-password/[redacted]") {
		t.Error("set-password requests are not logged with a redacted path")
	}

	// A reset link replaces the old one; sign out everywhere ends Bob's session.
	c.get("/users/" + uid)
	expectStatus(t, c.post("/users/"+uid+"/password-link", nil), http.StatusOK)
	if !regexp.MustCompile(`/set-password/[A-Za-z0-9_-]{20,}`).MatchString(c.lastBody) {
		t.Error("reset link not shown")
	}
	expectRedirect(t, c.post("/users/"+uid+"/sign-out", nil), "/users/"+uid)
	expectRedirect(t, bob.get("/users"), "/login?next=%2Fusers")
}

func TestUsersListParametersNeverFail(t *testing.T) {
	h, c, admin := signedIn(t)
	ctx := context.Background()
	for _, n := range []string{"Alpha", "Bravo", "Charlie", "50% off", "under_score"} {
		if _, err := h.srv.Store().CreateServiceUser(ctx, models.AsUser(admin), models.NewServiceUser{Name: n, Role: models.RoleMember}); err != nil {
			t.Fatal(err)
		}
	}
	hostile := []string{
		"sort=name;DROP%20TABLE%20users", "sort=password_hash", "dir=asc;--", "role=admin'--", "team=1%20OR%201=1",
		"team=-5", "type=robot", "status=gone", "page=-1", "page=99999999999", "per_page=1000", "q=%00", "q=" + strings.Repeat("x", 500),
		"sort=name&sort=created", "q=%25", "q=_",
	}
	for _, qs := range hostile {
		resp := c.get("/users?" + qs)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("/users?%s: status %d", qs, resp.StatusCode)
		}
		// Random tokens on the page can spell "sql"; look for what a leaked
		// database error would say.
		for _, leak := range []string{"sqlite", "syntax error", "SELECT ", "no such column"} {
			if strings.Contains(c.lastBody, leak) {
				t.Errorf("/users?%s leaks %q", qs, leak)
			}
		}
	}
	c.get("/users?sort=bogus&per_page=7")
	if !strings.Contains(c.lastBody, "Unknown sort") || !strings.Contains(c.lastBody, "rows per page is not offered") {
		t.Error("invalid parameters are not reported in a notice")
	}
	// The search matches words: "50%" is the word 50, and "%" alone none.
	c.get("/users?q=" + url.QueryEscape("50%"))
	if !strings.Contains(c.lastBody, "50% off") || strings.Contains(c.lastBody, "Bravo") {
		t.Error("a search for 50% must find the user named 50% off only")
	}
	c.get("/users?q=" + url.QueryEscape("%"))
	if strings.Contains(c.lastBody, "50% off") || strings.Contains(c.lastBody, "Bravo") {
		t.Error("a search for % alone must find nobody")
	}
	// The table still exists after the users table would have been dropped.
	c.get("/users")
	if !strings.Contains(c.lastBody, "Charlie") {
		t.Fatal("users vanished")
	}
	// A page past the end shows the last page rather than nothing.
	c.get("/users?page=40")
	if !strings.Contains(c.lastBody, "Alpha") {
		t.Error("a page past the end shows no rows")
	}
}

func TestUsersListSortFilterAndPaging(t *testing.T) {
	h, c, admin := signedIn(t)
	ctx := context.Background()
	team, _ := h.srv.Store().CreateTeam(ctx, models.AsUser(admin), models.TeamInput{Name: "Payments"})
	for i := 0; i < 30; i++ {
		in := models.NewServiceUser{Name: fmt.Sprintf("bot %02d", i), Role: models.RoleMember}
		if i%3 == 0 {
			in.Role = models.RoleManager
			in.TeamIDs = []int64{team.ID}
		}
		if _, err := h.srv.Store().CreateServiceUser(ctx, models.AsUser(admin), in); err != nil {
			t.Fatal(err)
		}
	}
	c.get("/users?type=service")
	if !strings.Contains(c.lastBody, "Showing <span class=\"font-medium text-slate-900\">1–25</span> of <span class=\"font-medium text-slate-900\">30</span>") {
		t.Error("paging summary missing")
	}
	if !strings.Contains(c.lastBody, `href="/users?page=2&amp;type=service"`) {
		t.Error("the next-page link does not keep the filters")
	}
	c.get("/users?type=service&page=2")
	if !strings.Contains(c.lastBody, "bot 29") || strings.Contains(c.lastBody, "bot 00") {
		t.Error("page 2 is wrong")
	}
	c.get("/users?type=service&sort=name&dir=desc")
	if i29, i00 := strings.Index(c.lastBody, "bot 29"), strings.Index(c.lastBody, "bot 05"); i29 < 0 || i00 < 0 || i29 > i00 {
		t.Error("descending name sort is wrong")
	}
	if !strings.Contains(c.lastBody, `aria-sort="descending"`) {
		t.Error("the sorted column has no aria-sort")
	}
	c.get(fmt.Sprintf("/users?team=%d&role=manager", team.ID))
	if !strings.Contains(c.lastBody, "bot 03") || strings.Contains(c.lastBody, "bot 01") || !strings.Contains(c.lastBody, "2 filters active") {
		t.Error("team and role filters are wrong")
	}
	// htmx asks with a header; the response carries the results region.
	req, _ := http.NewRequest(http.MethodGet, testOrigin+"/users?q=bot+07", nil)
	req.Header.Set("HX-Request", "true")
	resp := c.do(req)
	expectStatus(t, resp, http.StatusOK)
	if !strings.Contains(c.lastBody, `id="users-results"`) || !strings.Contains(c.lastBody, "bot 07") || strings.Contains(c.lastBody, "bot 08") {
		t.Error("htmx request did not get the filtered results region")
	}
	if !strings.Contains(resp.Header.Get("Vary"), "HX-Request") {
		t.Error("htmx responses are not marked Vary: HX-Request")
	}
}

func TestEditAllowsOnlyListedFields(t *testing.T) {
	h, c, _ := signedIn(t)
	id := createService(t, c, url.Values{"name": {"Sync bot"}, "description": {"old"}})
	path := fmt.Sprintf("/users/%d/edit", id)
	expectStatus(t, c.get(path), http.StatusOK)
	resp := c.post(path, url.Values{
		"role": {"admin"}, "description": {"new purpose"}, "owner": {""},
		"name": {"Renamed"}, "user_id": {"evil@service"}, "status": {"deactivated"}, "kind": {"human"}, "email": {"x@example.com"},
	})
	expectRedirect(t, resp, fmt.Sprintf("/users/%d", id))
	u, err := h.srv.Store().UserByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "Sync bot" || u.Handle() != "sync_bot@service" || u.Status != models.StatusActive || u.Kind != models.KindService || u.Email != nil {
		t.Fatalf("mass assignment: %+v", u)
	}
	if u.Role != models.RoleAdmin || u.Description != "new purpose" {
		t.Fatalf("allowed fields not saved: %+v", u)
	}
	expectStatus(t, c.get("/users/999999/edit"), http.StatusNotFound)
	expectStatus(t, c.get("/users/abc"), http.StatusNotFound)
}

func TestLastAdminIsProtected(t *testing.T) {
	h, c, admin := signedIn(t)
	path := fmt.Sprintf("/users/%d", admin.ID)
	c.get(path + "/edit")
	resp := c.post(path+"/edit", url.Values{"role": {"member"}})
	expectStatus(t, resp, http.StatusConflict)
	if !strings.Contains(c.lastBody, "Warden needs at least one active human administrator") {
		t.Error("the refusal is not explained")
	}
	c.get(path + "/deactivate")
	expectStatus(t, c.post(path+"/deactivate", url.Values{"confirm": {"deactivate"}}), http.StatusConflict)
	if u, _ := h.srv.Store().UserByID(context.Background(), admin.ID); !u.IsConsoleAdmin() {
		t.Fatal("the last admin lost access")
	}
	expectStatus(t, c.get("/users"), http.StatusOK)
}

func TestDeactivateAndRestore(t *testing.T) {
	h, c, _ := signedIn(t)
	bobID := h.admin("bob@example.com").ID
	bob := h.client()
	bob.login("bob@example.com", testPassword)
	svc := createService(t, c, url.Values{"name": {"Old pipeline"}})

	path := fmt.Sprintf("/users/%d", svc)
	expectStatus(t, c.get(path+"/deactivate"), http.StatusOK)
	expectStatus(t, c.post(path+"/deactivate", url.Values{"confirm": {"yes please"}}), http.StatusUnprocessableEntity)
	if !strings.Contains(c.lastBody, "Type deactivate") {
		t.Error("wrong confirmation not explained")
	}
	expectRedirect(t, c.post(path+"/deactivate", url.Values{"confirm": {" Deactivate "}}), path)
	c.get(path) // shows, and so consumes, the flash that names the user
	c.get("/users")
	if strings.Contains(c.lastBody, "Old pipeline") {
		t.Error("a deactivated user is in the default list")
	}
	c.get("/users?status=all")
	if !strings.Contains(c.lastBody, "Old pipeline") || !strings.Contains(c.lastBody, "Deactivated") {
		t.Error("Show deactivated does not bring it back")
	}
	expectRedirect(t, c.post(path+"/reactivate", nil), path)
	c.get(path)
	c.get("/users")
	if !strings.Contains(c.lastBody, "Old pipeline") {
		t.Error("restore did not bring the user back")
	}

	// Deactivating a person ends their session at once.
	bpath := fmt.Sprintf("/users/%d", bobID)
	c.get(bpath + "/deactivate")
	expectRedirect(t, c.post(bpath+"/deactivate", url.Values{"confirm": {"deactivate"}}), bpath)
	expectRedirect(t, bob.get("/users"), "/login?next=%2Fusers")
}

func TestDemotedAdminLosesAccess(t *testing.T) {
	h, c, _ := signedIn(t)
	bobID := h.admin("bob@example.com").ID
	bob := h.client()
	bob.login("bob@example.com", testPassword)
	expectStatus(t, bob.get("/users"), http.StatusOK)
	path := fmt.Sprintf("/users/%d/edit", bobID)
	c.get(path)
	expectRedirect(t, c.post(path, url.Values{"role": {"manager"}}), fmt.Sprintf("/users/%d", bobID))
	expectRedirect(t, bob.get("/users"), "/login?next=%2Fusers")
	// And cannot sign back in.
	bob.get("/login")
	expectStatus(t, bob.post("/login", url.Values{"email": {"bob@example.com"}, "password": {testPassword}}), http.StatusForbidden)
}

func TestTeamsPages(t *testing.T) {
	h, c, admin := signedIn(t)
	expectStatus(t, c.get("/teams"), http.StatusOK)
	expectRedirect(t, c.post("/teams", url.Values{"name": {"Payments"}, "description": {"Money in, money out"}}), "/teams")
	expectStatus(t, c.post("/teams", url.Values{"name": {"payments"}, "description": {"dup"}}), http.StatusUnprocessableEntity)
	if !strings.Contains(c.lastBody, "already exists") || !strings.Contains(c.lastBody, ">dup</textarea>") {
		t.Error("duplicate team name not explained with input kept")
	}
	teams, _ := h.srv.Store().Teams(context.Background())
	var pay models.TeamRow
	for _, tm := range teams {
		if tm.Name == "Payments" {
			pay = tm
		}
	}
	svc := createService(t, c, url.Values{"name": {"Stripe relay"}, "team": {fmt.Sprint(pay.ID)}})
	tp := fmt.Sprintf("/teams/%d", pay.ID)
	expectStatus(t, c.get(tp), http.StatusOK)
	if !strings.Contains(c.lastBody, fmt.Sprintf(`/users?team=%d`, pay.ID)) {
		t.Error("team page does not link to its members")
	}
	expectRedirect(t, c.post(tp, url.Values{"name": {"Payments EU"}, "description": {"Euro zone"}}), tp)
	expectStatus(t, c.post(tp+"/delete", nil), http.StatusUnprocessableEntity)
	expectRedirect(t, c.post(tp+"/delete", url.Values{"confirm": {"yes"}}), "/teams")
	if u, err := h.srv.Store().UserByID(context.Background(), svc); err != nil || u.TeamCount != 1 {
		t.Errorf("after deleting the team the member is %+v, %v", u, err)
	}

	// Public: describable, not renamable, not deletable.
	expectStatus(t, c.get("/teams/1"), http.StatusOK)
	expectRedirect(t, c.post("/teams/1", url.Values{"name": {"Public"}, "description": {"Everyone"}}), "/teams/1")
	expectStatus(t, c.post("/teams/1", url.Values{"name": {"Everyone"}, "description": {"x"}}), http.StatusUnprocessableEntity)
	expectRedirect(t, c.post("/teams/1/delete", url.Values{"confirm": {"yes"}}), "/teams/1")
	c.get("/teams/1")
	if !strings.Contains(c.lastBody, "cannot be renamed or deleted") {
		t.Error("Public deletion refusal not explained")
	}
	expectStatus(t, c.get("/teams/424242"), http.StatusNotFound)
	_ = admin
}

// TestMarkupRendersAsText puts markup, quotes and bidi text in every field a
// person can type and checks the pages show it as text.
func TestMarkupRendersAsText(t *testing.T) {
	h, c, admin := signedIn(t)
	evil := `<img src=x onerror=alert(1)>"'`
	team, err := h.srv.Store().CreateTeam(context.Background(), models.AsUser(admin), models.TeamInput{Name: evil + " team", Description: evil})
	if err != nil {
		t.Fatal(err)
	}
	id := createService(t, c, url.Values{"name": {evil}, "description": {evil + "\nsecond line"}, "team": {fmt.Sprint(team.ID)}})
	pages := []string{fmt.Sprintf("/users/%d", id), "/users", fmt.Sprintf("/users/%d/edit", id), fmt.Sprintf("/users/%d/deactivate", id), "/teams", fmt.Sprintf("/teams/%d", team.ID)}
	for _, p := range pages {
		expectStatus(t, c.get(p), http.StatusOK)
		if strings.Contains(c.lastBody, "<img src=x") {
			t.Errorf("%s renders markup from user input", p)
		}
		if !strings.Contains(c.lastBody, "&lt;img src=x onerror=alert(1)&gt;") {
			t.Errorf("%s does not show the escaped text", p)
		}
	}
	// The flash after creation carries the name too.
	resp := c.post("/users", url.Values{"kind": {"service"}, "role": {"member"}, "name": {"<b>bold</b> bot"}})
	c.get(resp.Header.Get("Location"))
	if strings.Contains(c.lastBody, "<b>bold</b>") || !strings.Contains(c.lastBody, "&lt;b&gt;bold&lt;/b&gt; bot") {
		t.Error("the flash renders markup")
	}
}
