package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/warden-console/warden/handlers"
	"github.com/warden-console/warden/models"
)

// apiFixture is a server with service users of every role and tokens in
// every state.
type apiFixture struct {
	h                                                 *harness
	admin, manager, member, deactivated               string
	revoked, expired                                  string
	adminUser                                         *models.User
	adminUserID, managerID, memberID, teamID, tokenID int64
}

func newAPIFixture(t *testing.T, mutate ...func(*Config)) *apiFixture {
	t.Helper()
	h := newHarness(t, append([]func(*Config){func(c *Config) { c.APIRateLimit, c.APIAuthFailures = 0, 0 }}, mutate...)...)
	ctx := context.Background()
	st := h.srv.Store()
	human := h.admin("ada@example.com")
	a := models.AsUser(human)
	f := &apiFixture{h: h}
	mk := func(name string, role models.Role) (*models.User, string) {
		u, err := st.CreateServiceUser(ctx, a, models.NewServiceUser{Name: name, Role: role})
		if err != nil {
			t.Fatal(err)
		}
		_, secret, err := st.GenerateToken(ctx, a, u.ID, models.NewToken{Name: "main", Expiry: models.Expiry{Days: 30}})
		if err != nil {
			t.Fatal(err)
		}
		return u, secret
	}
	var u *models.User
	f.adminUser, f.admin = mk("API admin", models.RoleAdmin)
	f.adminUserID = f.adminUser.ID
	u, f.manager = mk("API manager", models.RoleManager)
	f.managerID = u.ID
	u, f.member = mk("API member", models.RoleMember)
	f.memberID = u.ID
	u, f.deactivated = mk("API gone", models.RoleAdmin)
	mustExec(t, h, `UPDATE users SET status = 'deactivated' WHERE id = ?`, u.ID)
	u, f.revoked = mk("API revoked", models.RoleAdmin)
	if _, err := st.RevokeAllTokens(ctx, a, u.ID); err != nil {
		t.Fatal(err)
	}
	u, f.expired = mk("API expired", models.RoleAdmin)
	mustExec(t, h, `UPDATE tokens SET expires_at = ? WHERE user_id = ?`, time.Now().Add(-time.Hour).UTC(), u.ID)
	team, _ := st.CreateTeam(ctx, a, models.TeamInput{Name: "API team"})
	f.teamID = team.ID
	toks, _ := st.TokensOf(ctx, f.memberID)
	f.tokenID = toks[0].ID
	return f
}

func (f *apiFixture) call(t *testing.T, method, path, token, contentType, body string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, testOrigin+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := f.h.srv.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestAPIAuthorizationMatrix walks every registered /api/v1 route for every
// kind of caller. A registered route without a declared policy fails it.
func TestAPIAuthorizationMatrix(t *testing.T) {
	f := newAPIFixture(t)
	policies := map[string]models.Role{}
	for _, r := range (&handlers.Handler{}).APIRoutes() {
		policies[r.Method+" "+r.Path] = r.MinRole
	}
	var routes []string
	for _, r := range f.h.srv.App().GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/v1/") || r.Method == http.MethodHead || r.Method == "USE" {
			continue
		}
		key := r.Method + " " + strings.TrimPrefix(r.Path, "/api/v1")
		if key == "GET /openapi.json" || key == "POST /secret-scanning/report" {
			continue // public or signed by design; TestEveryRouteIsDocumented and the intake tests cover them
		}
		if _, ok := policies[key]; !ok {
			t.Errorf("route %s has no declared policy", key)
			continue
		}
		routes = append(routes, key)
	}
	if len(routes) != len(policies) {
		t.Errorf("%d routes registered, %d policies declared", len(routes), len(policies))
	}
	rank := map[models.Role]int{models.RoleMember: 1, models.RoleManager: 2, models.RoleAdmin: 3}
	callers := []struct {
		name  string
		token string
		role  models.Role // "" for callers that must get 401
		raw   string      // a raw Authorization header
	}{
		{"admin", f.admin, models.RoleAdmin, ""},
		{"manager", f.manager, models.RoleManager, ""},
		{"member", f.member, models.RoleMember, ""},
		{"deactivated user", f.deactivated, "", ""},
		{"revoked token", f.revoked, "", ""},
		{"expired token", f.expired, "", ""},
		{"no token", "", "", ""},
		{"malformed header", "", "", "Token " + f.admin},
	}
	for _, key := range routes {
		method, path, _ := strings.Cut(key, " ")
		concrete := strings.NewReplacer(":id", "999999").Replace(path)
		if strings.HasPrefix(path, "/users/:id") {
			concrete = strings.Replace(path, ":id", fmt.Sprint(f.memberID), 1)
		}
		if strings.HasPrefix(path, "/teams/:id") {
			concrete = strings.Replace(path, ":id", fmt.Sprint(f.teamID), 1)
		}
		body, ct := "", ""
		if method == http.MethodPost || method == http.MethodPatch {
			body, ct = `{}`, "application/json"
		}
		for _, cl := range callers {
			req, _ := http.NewRequest(method, testOrigin+"/api/v1"+concrete, strings.NewReader(body))
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			switch {
			case cl.raw != "":
				req.Header.Set("Authorization", cl.raw)
			case cl.token != "":
				req.Header.Set("Authorization", "Bearer "+cl.token)
			}
			resp, err := f.h.srv.App().Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case cl.role == "":
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s as %s: %d, want 401", key, cl.name, resp.StatusCode)
				}
			case rank[cl.role] < rank[policies[key]]:
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s as %s: %d, want 403", key, cl.name, resp.StatusCode)
				}
			default:
				if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode >= 500 {
					t.Errorf("%s as %s: %d, want it allowed", key, cl.name, resp.StatusCode)
				}
			}
		}
	}
	// Denials are audited with the service user and the token used.
	page, err := f.h.srv.Store().ListAudit(context.Background(), models.AuditQuery{Actions: []string{"auth.denied"}, ActorID: f.memberID, Limit: 1})
	if err != nil || len(page.Events) != 1 || page.Events[0].TokenID == nil || page.Events[0].ActorKind != models.ActorService {
		t.Fatalf("no audited denial for the member: %+v, %v", page.Events, err)
	}
}

func TestAPIErrors(t *testing.T) {
	f := newAPIFixture(t)
	cases := []struct {
		name, method, path, ct, body string
		status                       int
		typ                          string
	}{
		{"wrong content type", "POST", "/api/v1/teams", "text/plain", `{"name":"x"}`, 415, "unsupported-media-type"},
		{"no content type", "POST", "/api/v1/teams", "", `{"name":"x"}`, 415, "unsupported-media-type"},
		{"malformed JSON", "POST", "/api/v1/teams", "application/json", `{"name":`, 400, "malformed-body"},
		{"unknown field", "POST", "/api/v1/users", "application/json", `{"name":"X","is_admin":true}`, 400, "malformed-body"},
		{"wrong type", "POST", "/api/v1/users", "application/json", `{"name":42}`, 400, "malformed-body"},
		{"trailing data", "POST", "/api/v1/teams", "application/json", `{"name":"a"} {"name":"b"}`, 400, "malformed-body"},
		{"null body", "PATCH", fmt.Sprintf("/api/v1/users/%d", f.memberID), "application/json", `null`, 400, "malformed-body"},
		{"array body", "PATCH", fmt.Sprintf("/api/v1/teams/%d", f.teamID), "application/json", ` []`, 400, "malformed-body"},
		{"null rotate body", "POST", fmt.Sprintf("/api/v1/tokens/%d/rotate", f.tokenID), "application/json", `null`, 400, "malformed-body"},
		{"empty overlap", "POST", fmt.Sprintf("/api/v1/tokens/%d/rotate", f.tokenID), "application/json", `{"overlap":""}`, 422, "validation"},
		{"malformed date beside a range", "GET", "/api/v1/audit?range=7d&to=tomorrow", "", "", 400, "invalid-parameters"},
		{"validation", "POST", "/api/v1/users", "application/json", `{"name":"!!!"}`, 422, "validation"},
		{"conflict", "POST", "/api/v1/teams", "application/json", `{"name":"api TEAM"}`, 409, "conflict"},
		{"not found", "GET", "/api/v1/users/424242", "", "", 404, "not-found"},
		{"non-numeric id", "GET", "/api/v1/users/abc", "", "", 404, "not-found"},
		{"method not allowed", "PUT", "/api/v1/users", "", "", 405, "method-not-allowed"},
		{"unknown endpoint", "GET", "/api/v1/nothing", "", "", 404, "not-found"},
		{"bad list parameter", "GET", "/api/v1/users?sort=password_hash", "", "", 400, "invalid-parameters"},
		{"rule refusal", "DELETE", "/api/v1/teams/1", "", "", 400, "rule/builtin_team"},
	}
	for _, tc := range cases {
		resp, body := f.call(t, tc.method, tc.path, f.admin, tc.ct, tc.body)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, resp.StatusCode, tc.status, snippet(body))
			continue
		}
		var p map[string]any
		if err := json.Unmarshal([]byte(body), &p); err != nil || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: not problem+json: %s", tc.name, snippet(body))
			continue
		}
		if typ, _ := p["type"].(string); !strings.HasSuffix(typ, tc.typ) || p["title"] == "" || p["status"] != float64(tc.status) {
			t.Errorf("%s: problem %v", tc.name, p)
		}
	}
	resp, _ := f.call(t, "PUT", "/api/v1/users", f.admin, "", "")
	if allow := resp.Header.Get("Allow"); allow != "GET, POST" {
		t.Errorf("Allow = %q", allow)
	}
	_, body := f.call(t, "POST", "/api/v1/users", f.admin, "application/json", `{"name":"!!!"}`)
	if !strings.Contains(body, `"errors":{"name":`) {
		t.Errorf("validation problem lacks field errors: %s", body)
	}

	// A body over the limit is refused by the server before any handler;
	// app.Test cannot show that, a real listener can.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.h.srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	// Announce a body over the limit and send none of it: the server must
	// answer from the headers alone (writing 2 MiB first only races the
	// server's early close and gives "connection reset").
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/teams HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		ln.Addr().String(), f.admin, 3<<20)
	big, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(big.Body)
	big.Body.Close()
	if big.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "request-entity-too-large") {
		t.Errorf("oversized body: %d %s", big.StatusCode, b)
	}
}

// TestAPIWrongMethodAndEmptySegments: every documented path, the public
// document included, answers another method with 405 and Allow; a path
// with an empty segment names nothing and is a 404, never a 405 (whose
// Allow would even list the method used).
func TestAPIWrongMethodAndEmptySegments(t *testing.T) {
	f := newAPIFixture(t)
	for _, tc := range []struct {
		method, path, token string
		status              int
		allow               string
	}{
		{"POST", "/api/v1/openapi.json", "", 405, "GET"},
		{"DELETE", "/api/v1/openapi.json", "", 405, "GET"},
		{"PUT", "/api/v1/openapi.json", f.admin, 405, "GET"},
		{"GET", "/api/v1/openapi.json/x", f.admin, 404, ""},
		{"POST", "/api/v1/users//reactivate", f.admin, 404, ""},
		{"POST", "/api/v1/users//deactivate", f.admin, 404, ""},
		{"GET", "/api/v1/users//tokens", f.admin, 404, ""},
		{"POST", "/api/v1/tokens//revoke", f.admin, 404, ""},
		{"GET", "/api/v1//users", f.admin, 404, ""},
		{"GET", "/api/v1//me", f.admin, 404, ""},
		{"GET", "/api/v1/users/", f.admin, 404, ""},
		{"PUT", "/api/v1/users/", f.admin, 404, ""},
		{"DELETE", "/api/v1/teams/", f.admin, 404, ""},
		{"GET", "/api/v1/openapi.json/", "", 404, ""},
		{"PUT", "/api/v1/users/7/tokens", f.admin, 405, "GET, POST"},
	} {
		resp, out := f.call(t, tc.method, tc.path, tc.token, "", "")
		if resp.StatusCode != tc.status || resp.Header.Get("Allow") != tc.allow || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: %d Allow %q %s; want %d Allow %q, problem+json", tc.method, tc.path, resp.StatusCode,
				resp.Header.Get("Allow"), snippet(out), tc.status, tc.allow)
		}
	}
}

func TestAPIServiceUserLifecycle(t *testing.T) {
	f := newAPIFixture(t)
	resp, body := f.call(t, "POST", "/api/v1/users", f.admin, "application/json",
		fmt.Sprintf(`{"name":"Nightly ETL","role":"manager","team_ids":[%d],"description":"loads","owner":{"kind":"team","id":%d}}`, f.teamID, f.teamID))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var u handlers.APIUser
	json.Unmarshal([]byte(body), &u)
	if *u.UserID != "nightly_etl@service" || u.Role != "manager" || len(u.Teams) != 2 || u.Owner == nil || u.Owner.Kind != "team" {
		t.Fatalf("created user = %+v", u)
	}
	// PATCH changes only what it names.
	resp, body = f.call(t, "PATCH", fmt.Sprintf("/api/v1/users/%d", u.ID), f.admin, "application/json", `{"description":"loads at night","owner":null}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"description":"loads at night"`) || !strings.Contains(body, `"owner":null`) || !strings.Contains(body, `"role":"manager"`) {
		t.Fatalf("patch: %d %s", resp.StatusCode, body)
	}
	_, body = f.call(t, "PATCH", fmt.Sprintf("/api/v1/users/%d", u.ID), f.admin, "application/json", `{"name":"renamed"}`)
	if !strings.Contains(body, "Unknown field") {
		t.Errorf("renaming through PATCH: %s", body)
	}
	// A token, then the deactivation guard answers 400 with the count.
	resp, body = f.call(t, "POST", fmt.Sprintf("/api/v1/users/%d/tokens", u.ID), f.admin, "application/json", `{"name":"etl-prod","expires_in_days":30}`)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, `"token":"wdn_`) || !strings.Contains(body, `"state":"active"`) {
		t.Fatalf("token create: %d %s", resp.StatusCode, body)
	}
	var tok handlers.APIToken
	json.Unmarshal([]byte(body), &tok)
	resp, body = f.call(t, "POST", fmt.Sprintf("/api/v1/users/%d/deactivate", u.ID), f.admin, "", "")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"count":1`) || !strings.Contains(body, "1 active token") {
		t.Fatalf("guarded deactivate: %d %s", resp.StatusCode, body)
	}
	// The listing never shows the secret.
	_, body = f.call(t, "GET", fmt.Sprintf("/api/v1/users/%d/tokens", u.ID), f.admin, "", "")
	if strings.Contains(body, tok.Token) || strings.Contains(body, `"token":`) {
		t.Fatal("token list leaks the secret")
	}
	// Rotate: a new secret, the old one still works during the overlap.
	resp, body = f.call(t, "POST", fmt.Sprintf("/api/v1/tokens/%d/rotate", tok.ID), f.admin, "application/json", `{"overlap":"1h"}`)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, `"name":"etl-prod-r2"`) {
		t.Fatalf("rotate: %d %s", resp.StatusCode, body)
	}
	var rotated handlers.APIToken
	json.Unmarshal([]byte(body), &rotated)
	for _, s := range []string{tok.Token, rotated.Token} {
		if resp, _ := f.call(t, "GET", "/api/v1/me", s, "", ""); resp.StatusCode != 200 {
			t.Errorf("token unusable after rotation: %d", resp.StatusCode)
		}
	}
	// Revoke both, delete one, then deactivation goes through.
	for _, id := range []int64{tok.ID, rotated.ID} {
		if resp, body := f.call(t, "POST", fmt.Sprintf("/api/v1/tokens/%d/revoke", id), f.admin, "", ""); resp.StatusCode != 200 || !strings.Contains(body, `"state":"revoked"`) {
			t.Fatalf("revoke: %d %s", resp.StatusCode, body)
		}
	}
	if resp, _ := f.call(t, "DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.ID), f.admin, "", ""); resp.StatusCode != http.StatusNoContent {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	if resp, body := f.call(t, "POST", fmt.Sprintf("/api/v1/users/%d/deactivate", u.ID), f.admin, "", ""); resp.StatusCode != 200 || !strings.Contains(body, `"status":"deactivated"`) {
		t.Fatalf("deactivate: %d %s", resp.StatusCode, body)
	}
	if resp, body := f.call(t, "POST", fmt.Sprintf("/api/v1/users/%d/reactivate", u.ID), f.admin, "", ""); resp.StatusCode != 200 || !strings.Contains(body, `"status":"active"`) {
		t.Fatalf("reactivate: %d %s", resp.StatusCode, body)
	}
	// Lists and audit.
	_, body = f.call(t, "GET", "/api/v1/users?type=service&sort=created&dir=desc&per_page=25", f.admin, "", "")
	var list handlers.APIList[handlers.APIUser]
	json.Unmarshal([]byte(body), &list)
	// Six active service users: five from the fixture (one is deactivated) and this one.
	if list.Total != 6 || list.PerPage != 25 || len(list.Items) == 0 || *list.Items[0].UserID != "nightly_etl@service" {
		t.Fatalf("users list = %s", body)
	}
	_, body = f.call(t, "GET", "/api/v1/audit?action=token.rotate", f.admin, "", "")
	var events handlers.APIEventPage
	json.Unmarshal([]byte(body), &events)
	if len(events.Items) != 1 || events.Items[0].ActorID == nil || *events.Items[0].ActorID != f.adminUserID || events.Items[0].TokenID == nil {
		t.Fatalf("rotate event = %+v", events.Items)
	}
	// Cursor paging.
	_, body = f.call(t, "GET", "/api/v1/audit?limit=2", f.admin, "", "")
	json.Unmarshal([]byte(body), &events)
	if len(events.Items) != 2 || events.NextCursor == nil {
		t.Fatalf("first audit page: %s", body)
	}
	first := events.Items[1].ID
	_, body = f.call(t, "GET", "/api/v1/audit?limit=2&cursor="+*events.NextCursor, f.admin, "", "")
	json.Unmarshal([]byte(body), &events)
	if len(events.Items) == 0 || events.Items[0].ID >= first {
		t.Fatalf("second audit page does not continue: %s", body)
	}
}

func TestAPIIntrospection(t *testing.T) {
	f := newAPIFixture(t)
	for _, ct := range []string{"application/x-www-form-urlencoded", "application/json"} {
		body := "token=" + f.member
		if ct == "application/json" {
			body = `{"token":"` + f.member + `"}`
		}
		resp, out := f.call(t, "POST", "/api/v1/introspect", f.manager, ct, body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", ct, resp.StatusCode, out)
		}
		var in handlers.APIIntrospection
		json.Unmarshal([]byte(out), &in)
		if !in.Active || in.Sub != "api_member@service" || in.Role != "member" || in.TokenID != f.tokenID || in.Exp == nil || len(in.Teams) == 0 {
			t.Errorf("%s: %+v", ct, in)
		}
	}
	for name, tok := range map[string]string{"revoked": f.revoked, "expired": f.expired, "deactivated": f.deactivated, "garbage": "nope", "blank": "  ", "malformed": "wdn_!!!"} {
		_, out := f.call(t, "POST", "/api/v1/introspect", f.manager, "application/json", `{"token":"`+tok+`"}`)
		if strings.TrimSpace(out) != `{"active":false}` {
			t.Errorf("%s: %s", name, out)
		}
	}
	// Counts as a use of the introspected token.
	toks, _ := f.h.srv.Store().TokensOf(context.Background(), f.memberID)
	if toks[0].LastUsedAt == nil {
		t.Error("introspection did not count as a use")
	}
}

// TestAPIIntrospectionNeedsAToken: the document requires token, so a
// request without one (absent, null, empty; JSON or form) is a 400 naming
// it, not {"active": false}; a present but useless token stays inactive.
func TestAPIIntrospectionNeedsAToken(t *testing.T) {
	f := newAPIFixture(t)
	const js, form = "application/json", "application/x-www-form-urlencoded"
	for _, tc := range []struct{ ct, body string }{
		{js, `{}`},
		{js, `{"token":null}`},
		{js, `{"token":""}`},
		{js, `{"token_type_hint":"access_token"}`},
		{form, ``},
		{form, `token=`},
		{form, `token_type_hint=access_token`},
	} {
		resp, out := f.call(t, "POST", "/api/v1/introspect", f.manager, tc.ct, tc.body)
		var p handlers.Problem
		_ = json.Unmarshal([]byte(out), &p)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" || p.Errors["token"] == "" {
			t.Errorf("%s %q: %d %s; want 400 problem+json naming token", tc.ct, tc.body, resp.StatusCode, snippet(out))
		}
	}
	for _, tc := range []struct{ ct, body string }{
		{js, `{"token":"wdn_unknown"}`},
		{js, `{"token":"not a token","token_type_hint":null}`},
		{form, `token=garbage&token_type_hint=refresh_token`},
	} {
		resp, out := f.call(t, "POST", "/api/v1/introspect", f.manager, tc.ct, tc.body)
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(out) != `{"active":false}` {
			t.Errorf("%s %q: %d %s; want 200 {\"active\":false}", tc.ct, tc.body, resp.StatusCode, snippet(out))
		}
	}
}

func TestAPIRateLimits(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.APIRateLimit = 1 })
	ctx := context.Background()
	admin := h.admin("ada@example.com")
	u, _ := h.srv.Store().CreateServiceUser(ctx, models.AsUser(admin), models.NewServiceUser{Name: "Chatty", Role: models.RoleMember})
	_, secret, _ := h.srv.Store().GenerateToken(ctx, models.AsUser(admin), u.ID, models.NewToken{Name: "t", Expiry: models.Expiry{Days: 30}})
	limited := false
	for i := 0; i < 5; i++ {
		resp, _ := apiGet(t, h, "/api/v1/me", bearer(secret))
		if resp.StatusCode == http.StatusTooManyRequests {
			limited = resp.Header.Get("Retry-After") != ""
			break
		}
	}
	if !limited {
		t.Fatal("a token over its rate got no 429 with Retry-After")
	}
	// Failed authentication from one address is limited too.
	var last int
	for i := 0; i < 40; i++ {
		resp, _ := apiGet(t, h, "/api/v1/me", bearer("wdn_garbage"))
		last = resp.StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("after 40 failed authentications: %d, want 429", last)
	}
}

// TestAPIRefusesWhatThePageIgnores: a search with a control character is
// refused by the API (400 naming q, in words that say so) and dropped by
// the console page with a notice that says it was ignored. Both read the
// same rule from ParseUserQuery / ParseAuditQuery.
func TestAPIRefusesWhatThePageIgnores(t *testing.T) {
	f := newAPIFixture(t)
	for _, tc := range []struct{ path, param string }{
		{"/api/v1/users?q=%00", "q"},
		{"/api/v1/users?q=a%7Fb", "q"},
		{"/api/v1/users?sort=bogus", "sort"},
		{"/api/v1/audit?actor=%01", "actor"},
		{"/api/v1/audit?range=2w", "range"},
	} {
		resp, out := f.call(t, "GET", tc.path, f.admin, "", "")
		var p handlers.Problem
		_ = json.Unmarshal([]byte(out), &p)
		msg := p.Errors[tc.param]
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(msg, "refused") || strings.Contains(msg, "ignored") ||
			strings.Contains(msg, "instead") || !strings.Contains(p.Detail, "refused") {
			t.Errorf("GET %s: %d %s; want 400 whose words for %s say it was refused", tc.path, resp.StatusCode, snippet(out), tc.param)
		}
	}

	c := f.h.client()
	c.login("ada@example.com", testPassword)
	for _, path := range []string{"/users?q=%00", "/audit?actor=%01"} {
		resp := c.get(path)
		if resp.StatusCode != http.StatusOK || !strings.Contains(c.lastBody, "it was ignored") || strings.Contains(c.lastBody, "request was refused") {
			t.Errorf("GET %s: %d; want the page with a notice that the value was ignored", path, resp.StatusCode)
		}
	}
}
