package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/warden-console/warden/models"
)

// inventoryFixture is an administrator signed in, and tokens of two service
// users: two expiring within a week, one within a month, one revoked.
type inventoryFixture struct {
	h      *harness
	c      *client
	ids    map[string]int64
	admin  *models.User
	owners map[string]int64
}

func newInventoryFixture(t *testing.T) *inventoryFixture {
	t.Helper()
	h := newHarness(t, func(c *Config) { c.APIRateLimit, c.APIAuthFailures = 0, 0 })
	ctx := context.Background()
	st := h.srv.Store()
	admin := h.admin("ada@example.com")
	a := models.AsUser(admin)
	f := &inventoryFixture{h: h, c: h.client(), ids: map[string]int64{}, admin: admin, owners: map[string]int64{}}
	for _, o := range []struct {
		owner string
		role  models.Role
		toks  map[string]int
	}{
		{"Airflow", models.RoleMember, map[string]int{"air-prod": 5, "air-stage": 20}},
		{"Billing Bot", models.RoleAdmin, map[string]int{"bill-nightly": 3, "bill-old": 60}},
	} {
		u, err := st.CreateServiceUser(ctx, a, models.NewServiceUser{Name: o.owner, Role: o.role})
		if err != nil {
			t.Fatal(err)
		}
		f.owners[o.owner] = u.ID
		for name, days := range o.toks {
			tok, _, err := st.GenerateToken(ctx, a, u.ID, models.NewToken{Name: name, Expiry: models.Expiry{Days: days}})
			if err != nil {
				t.Fatal(err)
			}
			f.ids[name] = tok.ID
		}
	}
	if _, err := st.RevokeToken(ctx, a, f.ids["bill-old"]); err != nil {
		t.Fatal(err)
	}
	f.c.login("ada@example.com", testPassword)
	return f
}

func (f *inventoryFixture) page(t *testing.T, path string) string {
	t.Helper()
	resp := f.c.get(path)
	expectStatus(t, resp, http.StatusOK)
	return f.c.lastBody
}

func TestTokensPageListsFiltersAndSorts(t *testing.T) {
	f := newInventoryFixture(t)
	body := f.page(t, "/tokens")
	for _, want := range []string{"air-prod", "air-stage", "bill-nightly", "Airflow", "airflow@service", `href="/tokens"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/tokens lacks %q", want)
		}
	}
	if strings.Contains(body, "bill-old") {
		t.Error("/tokens lists a revoked token by default")
	}
	// Soonest expiry first.
	if i, j := strings.Index(body, "bill-nightly"), strings.Index(body, "air-prod"); i < 0 || j < 0 || i > j {
		t.Error("the default order is not the soonest expiry first")
	}
	body = f.page(t, "/tokens?expires_within=7")
	if !strings.Contains(body, "air-prod") || !strings.Contains(body, "bill-nightly") || strings.Contains(body, "air-stage") {
		t.Errorf("expires_within=7 shows the wrong tokens")
	}
	body = f.page(t, "/tokens?state=revoked")
	if !strings.Contains(body, "bill-old") || strings.Contains(body, "air-prod") {
		t.Error("state=revoked shows the wrong tokens")
	}
	body = f.page(t, "/tokens?role=admin&q=bill")
	if !strings.Contains(body, "bill-nightly") || strings.Contains(body, "air-prod") {
		t.Error("role=admin&q=bill shows the wrong tokens")
	}
	body = f.page(t, "/tokens?state=zombie&sort=colour&expires_within=14")
	for _, want := range []string{"Unknown state", "Unknown sort", "not offered", "air-prod"} {
		if !strings.Contains(body, want) {
			t.Errorf("invalid parameters: page lacks %q", want)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, testOrigin+"/tokens?expires_within=7&page=1", nil)
	req.Header.Set("HX-Request", "true")
	resp := f.c.do(req)
	expectStatus(t, resp, http.StatusOK)
	if got := resp.Header.Get("HX-Push-Url"); got != "/tokens?expires_within=7" {
		t.Errorf("HX-Push-Url = %q", got)
	}
}

func TestOverviewCountsTokens(t *testing.T) {
	f := newInventoryFixture(t)
	body := f.page(t, "/users")
	for _, want := range []string{`href="/tokens?expires_within=7"`, "Expiring in 7 days", `href="/tokens?health=never_used"`, "Idle 90+ days"} {
		if !strings.Contains(body, want) {
			t.Errorf("/users lacks %q", want)
		}
	}
	st := f.h.srv.Store()
	o, err := st.TokenOverview(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if o.Active != 3 || o.Expiring7 != 2 || o.Expiring30 != 3 || o.NeverUsed != 3 {
		t.Errorf("overview = %+v", o)
	}
	if _, err := st.RevokeToken(context.Background(), models.AsUser(f.admin), f.ids["air-prod"]); err != nil {
		t.Fatal(err)
	}
	if o, _ = st.TokenOverview(context.Background()); o.Active != 2 || o.Expiring7 != 1 {
		t.Errorf("after a revocation the overview is %+v", o)
	}
	// The Users list: Billing Bot has one working token, expiring in 3 days.
	body = f.page(t, "/users?type=service")
	if !strings.Contains(body, "in 3 days") {
		t.Errorf("/users does not show the next expiry")
	}
}

func TestTokensBulkRevokeConfirmsThenRevokes(t *testing.T) {
	f := newInventoryFixture(t)
	f.page(t, "/tokens")
	ids := url.Values{"scope": {"selected"}, "f_expires_within": {"30"}}
	for _, n := range []string{"air-prod", "bill-nightly", "bill-old"} {
		ids.Add("ids", strconv.FormatInt(f.ids[n], 10))
	}
	resp := f.c.post("/tokens/revoke", ids)
	expectStatus(t, resp, http.StatusOK)
	body := f.c.lastBody
	for _, want := range []string{"Revoke 2 tokens?", "of <strong>2 service users</strong>", "air-prod", "bill-nightly", "1 selected token is already revoked or expired"} {
		if !strings.Contains(body, want) {
			t.Errorf("confirmation lacks %q:\n%s", want, snippet(body))
		}
	}
	// Nothing is revoked until confirmed.
	if f.page(t, "/tokens?q=air-prod"); !strings.Contains(f.c.lastBody, "air-prod") {
		t.Fatal("a token was revoked before the confirmation")
	}
	f.c.post("/tokens/revoke", ids) // the confirmation again, for its CSRF token
	confirm := url.Values{"scope": {"confirmed"}, "confirm": {"yes"}, "ids": ids["ids"], "f_expires_within": {"30"}}
	resp = f.c.post("/tokens/revoke", confirm)
	expectRedirect(t, resp, "/tokens?expires_within=30")
	body = f.page(t, "/tokens?expires_within=30")
	if !strings.Contains(body, "Revoked 2 tokens; 1 was already inactive.") {
		t.Errorf("no result message:\n%s", snippet(body))
	}
	if strings.Contains(body, "air-prod") || !strings.Contains(body, "air-stage") {
		t.Error("the list after revoking is wrong")
	}
	events := readAuditEvents(t, f.h)
	var reqIDs []string
	for _, e := range events {
		if e.Action == "token.revoke" && (e.TargetID == f.ids["air-prod"] || e.TargetID == f.ids["bill-nightly"]) {
			reqIDs = append(reqIDs, e.RequestID)
		}
	}
	if len(reqIDs) != 2 || reqIDs[0] != reqIDs[1] || reqIDs[0] == "" {
		t.Errorf("revocation events' request ids = %q, want two sharing one", reqIDs)
	}
}

func TestTokensBulkRevokeAllMatching(t *testing.T) {
	f := newInventoryFixture(t)
	f.page(t, "/tokens?expires_within=7")
	resp := f.c.post("/tokens/revoke", url.Values{"scope": {"matching"}, "f_expires_within": {"7"}})
	expectStatus(t, resp, http.StatusOK)
	if !strings.Contains(f.c.lastBody, "Revoke 2 tokens?") || strings.Contains(f.c.lastBody, "air-stage") {
		t.Fatalf("matching confirmation:\n%s", snippet(f.c.lastBody))
	}
	form := url.Values{"scope": {"confirmed"}, "confirm": {"yes"}, "f_expires_within": {"7"}}
	for _, m := range strings.Split(f.c.lastBody, `name="ids" value="`)[1:] {
		form.Add("ids", m[:strings.IndexByte(m, '"')])
	}
	expectRedirect(t, f.c.post("/tokens/revoke", form), "/tokens?expires_within=7")
	if body := f.page(t, "/tokens?expires_within=7"); !strings.Contains(body, "Revoked 2 tokens.") || strings.Contains(body, "air-prod") {
		t.Errorf("after revoking all matching:\n%s", snippet(body))
	}
	// Nothing selected is a message, not an error.
	expectRedirect(t, f.c.post("/tokens/revoke", url.Values{"scope": {"selected"}}), "/tokens")
	if body := f.page(t, "/tokens"); !strings.Contains(body, "Select at least one token") {
		t.Error("an empty selection says nothing")
	}
}

func TestAPITokensInventory(t *testing.T) {
	f := newAPIFixture(t)
	h := f.h
	st := h.srv.Store()
	ctx := context.Background()
	for i := range 5 {
		if _, _, err := st.GenerateToken(ctx, models.System, f.memberID, models.NewToken{Name: "bulk-" + strconv.Itoa(i), Expiry: models.Expiry{Days: 10 + i}}); err != nil {
			t.Fatal(err)
		}
	}
	// Walk the whole list by cursor, two at a time.
	seen := map[int64]bool{}
	path := "/api/v1/tokens?state=all&per_page=25"
	cursor := ""
	for range 20 {
		p := path
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		resp, body := f.call(t, http.MethodGet, p, f.admin, "", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, resp.StatusCode, body)
		}
		var page struct {
			Items []struct {
				ID   int64 `json:"id"`
				User struct {
					ID   int64  `json:"id"`
					Role string `json:"role"`
				} `json:"user"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			if seen[it.ID] {
				t.Fatalf("token %d twice", it.ID)
			}
			if it.User.ID == 0 || it.User.Role == "" {
				t.Errorf("item without its user: %+v", it)
			}
			seen[it.ID] = true
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	var n int64
	if err := st.SQLDB().QueryRow("SELECT COUNT(*) FROM tokens").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if int64(len(seen)) != n {
		t.Errorf("walked %d tokens of %d", len(seen), n)
	}
	for _, bad := range []string{"state=zombie", "sort=x", "expires_within=8", "cursor=abc", "page=2"} {
		resp, body := f.call(t, http.MethodGet, "/api/v1/tokens?"+bad, f.admin, "", "")
		name := strings.SplitN(bad, "=", 2)[0]
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"`+name+`"`) {
			t.Errorf("?%s: %d %s, want 400 naming %s", bad, resp.StatusCode, body, name)
		}
	}
	for _, caller := range []string{f.manager, f.member} {
		if resp, _ := f.call(t, http.MethodGet, "/api/v1/tokens", caller, "", ""); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a non-admin caller got %d", resp.StatusCode)
		}
	}
}

func TestAPITokensBulkRevokeAnswersPerID(t *testing.T) {
	f := newAPIFixture(t)
	id := strconv.FormatInt(f.tokenID, 10)
	body := `{"ids": [` + id + `, "abc", 1.5, -3, null, ` + id + `, 999999]}`
	resp, out := f.call(t, http.MethodPost, "/api/v1/tokens/revoke", f.admin, "application/json", body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("bulk revoke: %d %s", resp.StatusCode, out)
	}
	var ans struct {
		Results []struct {
			Outcome string `json:"outcome"`
		} `json:"results"`
		Revoked  int `json:"revoked"`
		NotFound int `json:"not_found"`
		Invalid  int `json:"invalid"`
	}
	if err := json.Unmarshal([]byte(out), &ans); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range ans.Results {
		got = append(got, r.Outcome)
	}
	want := "revoked invalid_id invalid_id invalid_id invalid_id duplicate not_found"
	if strings.Join(got, " ") != want || ans.Revoked != 1 || ans.Invalid != 4 || ans.NotFound != 1 {
		t.Errorf("answer = %s, want outcomes %s", out, want)
	}
	many := make([]string, models.MaxAPIBulkRevoke+1)
	for i := range many {
		many[i] = strconv.Itoa(i + 1)
	}
	resp, out = f.call(t, http.MethodPost, "/api/v1/tokens/revoke", f.admin, "application/json", `{"ids": [`+strings.Join(many, ",")+`]}`)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(out, `"ids"`) {
		t.Errorf("%d ids: %d %s, want 422 naming ids", len(many), resp.StatusCode, out)
	}
}
