package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/warden-console/warden/handlers"
	"github.com/warden-console/warden/models"
)

// scopedToken generates a token for userID with the given scopes.
func (f *apiFixture) scopedToken(t *testing.T, userID int64, name string, scopes []string) string {
	t.Helper()
	_, secret, err := f.h.srv.Store().GenerateToken(context.Background(), models.System, userID,
		models.NewToken{Name: name, Expiry: models.Expiry{Days: 30}, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// routeRequest is a request to r that passes authorization: ids of things
// that exist where it matters, an empty JSON object as the body.
func (f *apiFixture) routeRequest(r handlers.APIRoute) (path, ct, body string) {
	path = strings.NewReplacer(":id", "999999").Replace(r.Path)
	if strings.HasPrefix(r.Path, "/users/:id") {
		path = strings.Replace(r.Path, ":id", fmt.Sprint(f.memberID), 1)
	}
	if strings.HasPrefix(r.Path, "/teams/:id") {
		path = strings.Replace(r.Path, ":id", fmt.Sprint(f.teamID), 1)
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		ct, body = "application/json", `{}`
	}
	return "/api/v1" + path, ct, body
}

// TestAPIEveryRouteNeedsItsScope calls every route with an Admin's token
// holding every Warden scope but the route's: 403 naming the scope, and an
// auth.denied event saying so. The same token with only the route's scope
// gets through.
func TestAPIEveryRouteNeedsItsScope(t *testing.T) {
	f := newAPIFixture(t)
	ctx := context.Background()
	routes := (&handlers.Handler{}).APIRoutes()
	without, only := map[string]string{}, map[string]string{}
	for _, s := range models.WardenScopes {
		var rest []string
		for _, o := range models.WardenScopes {
			if o.Name != s.Name {
				rest = append(rest, o.Name)
			}
		}
		without[s.Name] = f.scopedToken(t, f.adminUserID, "without "+s.Name, append(rest, "deploy.run"))
		only[s.Name] = f.scopedToken(t, f.adminUserID, "only "+s.Name, []string{s.Name})
	}
	downstream := f.scopedToken(t, f.adminUserID, "downstream only", []string{"deploy.run"})

	for _, r := range routes {
		key := r.Method + " " + r.Path
		path, ct, body := f.routeRequest(r)
		if r.Scope == "" {
			if resp, out := f.call(t, r.Method, path, downstream, ct, body); resp.StatusCode != http.StatusOK {
				t.Errorf("%s with only a downstream scope: %d %s, want 200", key, resp.StatusCode, snippet(out))
			}
			continue
		}
		resp, out := f.call(t, r.Method, path, without[r.Scope], ct, body)
		var p handlers.Problem
		_ = json.Unmarshal([]byte(out), &p)
		if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") ||
			p.Errors["scope"] == "" || !strings.Contains(p.Errors["scope"], r.Scope) || !strings.Contains(p.Detail, r.Scope) {
			t.Errorf("%s without %s: %d %s; want 403 problem+json naming the scope", key, r.Scope, resp.StatusCode, snippet(out))
		}
		if resp, out := f.call(t, r.Method, path, downstream, ct, body); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s with only a downstream scope: %d %s, want 403", key, resp.StatusCode, snippet(out))
		}
		if resp, out := f.call(t, r.Method, path, only[r.Scope], ct, body); resp.StatusCode == http.StatusUnauthorized ||
			resp.StatusCode == http.StatusForbidden || resp.StatusCode >= 500 {
			t.Errorf("%s with only %s: %d %s, want it allowed", key, r.Scope, resp.StatusCode, snippet(out))
		}
	}

	// Each refusal is audited: the service user, the token, the route and
	// the scope it lacked.
	page, err := f.h.srv.Store().ListAudit(ctx, models.AuditQuery{Actions: []string{"auth.denied"}, ActorID: f.adminUserID, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	denied := map[string]bool{}
	for _, e := range page.Events {
		if e.Outcome != models.OutcomeDenied || e.TokenID == nil || e.ActorKind != models.ActorService {
			t.Errorf("denial %+v is not a service user's refused call with its token", e)
		}
		denied[e.Reason+" "+e.TargetLabel] = true
	}
	for _, r := range routes {
		if r.Scope == "" {
			continue
		}
		if want := "needs_scope:" + r.Scope + " " + r.Method + " /api/v1" + r.Path; !denied[want] {
			t.Errorf("no audited denial %q", want)
		}
	}
}

// TestAPITokenScopes creates, rotates and introspects scoped tokens through
// the API, and refuses bad scopes with 422 naming the field and the value.
func TestAPITokenScopes(t *testing.T) {
	f := newAPIFixture(t)
	k := newContract(t, f.h)
	create := func(userID int64) string { return fmt.Sprintf("/api/v1/users/%d/tokens", userID) }

	_, out := k.do(f, requestValid, http.StatusCreated, "POST", create(f.managerID), f.admin, "application/json",
		`{"name":"checker","expires_in_days":30,"scopes":["orders.read","introspect","orders.read"]}`)
	var tok handlers.APIToken
	if err := json.Unmarshal([]byte(out), &tok); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tok.Scopes, []string{"introspect", "orders.read"}) {
		t.Errorf("created with scopes %v, want [introspect orders.read]", tok.Scopes)
	}
	_, out = k.do(f, requestValid, http.StatusCreated, "POST", create(f.managerID), f.admin, "application/json", `{"name":"plain","expires_in_days":30}`)
	var plain handlers.APIToken
	_ = json.Unmarshal([]byte(out), &plain)
	if plain.Scopes == nil || len(plain.Scopes) != 0 || !strings.Contains(out, `"scopes":[]`) {
		t.Errorf("an unscoped token's scopes: %s; want []", snippet(out))
	}

	bad := []struct{ name, body, value string }{
		{"unknown Warden scope", `{"name":"b1","scopes":["users:delete"]}`, "users:delete"},
		{"malformed", `{"name":"b2","scopes":["Orders Read"]}`, "Orders Read"},
		{"wider than the role", `{"name":"b3","scopes":["tokens:write"]}`, "tokens:write"},
		{"33 scopes", `{"name":"b4","scopes":[` + manyScopes(33) + `]}`, "32"},
	}
	for _, c := range bad {
		_, out := k.do(f, requestAny, http.StatusUnprocessableEntity, "POST", create(f.managerID), f.admin, "application/json", c.body)
		var p handlers.Problem
		_ = json.Unmarshal([]byte(out), &p)
		if !strings.Contains(p.Errors["scopes"], c.value) {
			t.Errorf("%s: %s; want errors.scopes naming %q", c.name, snippet(out), c.value)
		}
	}

	// Rotation keeps the scopes unless given others.
	_, out = k.do(f, requestValid, http.StatusCreated, "POST", fmt.Sprintf("/api/v1/tokens/%d/rotate", tok.ID), f.admin, "application/json", `{"overlap":"none"}`)
	var rotated handlers.APIToken
	_ = json.Unmarshal([]byte(out), &rotated)
	if !slices.Equal(rotated.Scopes, tok.Scopes) {
		t.Errorf("rotation kept %v, want %v", rotated.Scopes, tok.Scopes)
	}
	_, out = k.do(f, requestValid, http.StatusCreated, "POST", fmt.Sprintf("/api/v1/tokens/%d/rotate", rotated.ID), f.admin, "application/json", `{"overlap":"none","scopes":["deploy.run"]}`)
	var narrowed handlers.APIToken
	_ = json.Unmarshal([]byte(out), &narrowed)
	if !slices.Equal(narrowed.Scopes, []string{"deploy.run"}) {
		t.Errorf("rotation with scopes gave %v, want [deploy.run]", narrowed.Scopes)
	}
	_, out = k.do(f, requestAny, http.StatusUnprocessableEntity, "POST", fmt.Sprintf("/api/v1/tokens/%d/rotate", narrowed.ID), f.admin, "application/json", `{"scopes":["audit:read"]}`)
	if !strings.Contains(out, "audit:read") {
		t.Errorf("rotation of a Manager's token to audit:read: %s; want 422 naming it", snippet(out))
	}

	// Introspection: scope is a space-separated string.
	secret := f.scopedToken(t, f.managerID, "introspected", []string{"introspect", "orders.read", "orders.write"})
	introspect := func(token string) string {
		t.Helper()
		_, out := k.do(f, requestValid, http.StatusOK, "POST", "/api/v1/introspect", f.manager, "application/json", `{"token":"`+token+`"}`)
		var in struct {
			Active bool    `json:"active"`
			Scope  *string `json:"scope"`
		}
		if err := json.Unmarshal([]byte(out), &in); err != nil || !in.Active || in.Scope == nil {
			t.Fatalf("introspection: %s", snippet(out))
		}
		return *in.Scope
	}
	if got := introspect(secret); got != "introspect orders.read orders.write" {
		t.Errorf("scoped token's scope %q", got)
	}
	if got := introspect(f.admin); got != strings.Join(models.RoleScopes(models.RoleAdmin), " ") {
		t.Errorf("unscoped Admin token's scope %q", got)
	}
	if got := introspect(f.manager); got != "introspect" {
		t.Errorf("unscoped Manager token's scope %q", got)
	}
	if got := introspect(f.member); got != "" {
		t.Errorf("unscoped Member token's scope %q", got)
	}
	// A Manager's token scoped without introspect cannot introspect.
	narrow := f.scopedToken(t, f.managerID, "no introspect", []string{"orders.read"})
	if resp, out := f.call(t, "POST", "/api/v1/introspect", narrow, "application/json", `{"token":"`+secret+`"}`); resp.StatusCode != http.StatusForbidden || !strings.Contains(out, "introspect") {
		t.Errorf("introspection without the scope: %d %s", resp.StatusCode, snippet(out))
	}
}

func manyScopes(n int) string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf(`"svc.s%02d"`, i))
	}
	return strings.Join(out, ",")
}
