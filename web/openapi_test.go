package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/warden-console/warden/handlers"
	"github.com/warden-console/warden/models"
)

// servedOpenAPI fetches /api/v1/openapi.json from the app without a token
// and loads it with kin-openapi.
func servedOpenAPI(t *testing.T, h *harness) *openapi3.T {
	t.Helper()
	resp, body := apiGet(t, h, "/api/v1/openapi.json", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json without a token: %d %s", resp.StatusCode, snippet(body))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("document Content-Type = %q", ct)
	}
	if !bytes.Equal([]byte(body), handlers.OpenAPIDocument()) {
		t.Error("the served document is not the embedded one")
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(body))
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	h := newHarness(t)
	doc := servedOpenAPI(t, h)
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/api/v1" {
		t.Errorf("servers = %v, want the one /api/v1", doc.Servers)
	}
	if s := doc.Components.SecuritySchemes["bearerAuth"]; s == nil || s.Value.Type != "http" || s.Value.Scheme != "bearer" {
		t.Error("no http bearer security scheme named bearerAuth")
	}
}

// TestEveryRouteIsDocumented compares the running app's /api/v1 routes with
// the document's operations, both ways, and the documented x-min-role and
// x-scope with the route's policy.
func TestEveryRouteIsDocumented(t *testing.T) {
	h := newHarness(t)
	doc := servedOpenAPI(t, h)

	registered := map[string]bool{}
	for _, r := range h.srv.App().GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/v1/") || r.Method == http.MethodHead || r.Method == "USE" {
			continue
		}
		path := strings.TrimPrefix(r.Path, "/api/v1")
		var parts []string
		for _, p := range strings.Split(path, "/") {
			if name, ok := strings.CutPrefix(p, ":"); ok {
				p = "{" + name + "}"
			}
			parts = append(parts, p)
		}
		registered[r.Method+" "+strings.Join(parts, "/")] = true
	}
	if len(registered) < len((&handlers.Handler{}).APIRoutes()) {
		t.Fatalf("only %d API routes found in the app", len(registered))
	}

	documented := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented[method+" "+path] = op
		}
	}
	for key := range registered {
		if documented[key] == nil {
			t.Errorf("route %s is not documented", key)
		}
	}
	for key := range documented {
		if !registered[key] {
			t.Errorf("the document describes %s, which the app does not serve", key)
		}
	}

	// Each route's policy is the documented minimum role.
	for _, r := range (&handlers.Handler{}).APIRoutes() {
		key := r.Method + " " + strings.NewReplacer(":id", "{id}").Replace(r.Path)
		op := documented[key]
		if op == nil {
			continue
		}
		if role, _ := op.Extensions["x-min-role"].(string); role != string(r.MinRole) {
			t.Errorf("%s: x-min-role %q, policy %q", key, role, r.MinRole)
		}
		// Absent for /me, which needs no scope.
		if scope, _ := op.Extensions["x-scope"].(string); scope != r.Scope {
			t.Errorf("%s: x-scope %q, policy %q", key, scope, r.Scope)
		}
		if r.Scope != "" && !strings.Contains(op.Description, "`"+r.Scope+"`") {
			t.Errorf("%s: the description does not name its scope %s", key, r.Scope)
		}
		if op.Security != nil && len(*op.Security) == 0 {
			t.Errorf("%s needs a token but is documented as public", key)
		}
	}
	if op := documented["GET /openapi.json"]; op == nil || op.Security == nil || len(*op.Security) != 0 {
		t.Error("GET /openapi.json is not documented as public (security: [])")
	}
}

// contract validates request/response pairs against the served document
// with kin-openapi, and records which operation answered with which status.
type contract struct {
	t      *testing.T
	doc    *openapi3.T
	router routers.Router
	seen   map[string]map[int]bool // operationId → statuses validated
}

func newContract(t *testing.T, h *harness) *contract {
	t.Helper()
	doc := servedOpenAPI(t, h)
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &contract{t: t, doc: doc, router: router, seen: map[string]map[int]bool{}}
}

// What the document must say about a request.
type requestCheck int

const (
	requestValid   requestCheck = iota // the document accepts the request
	requestInvalid                     // the document refuses it too
	requestAny                         // not checked (a request the server refuses for its content)
)

func contractOptions() *openapi3filter.Options {
	return &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc, // the server checked the token
		IncludeResponseStatus: true,                                  // an undocumented status fails
		MultiError:            true,
	}
}

// request builds the http.Request that f.call sends.
func contractRequest(method, path, token, ct, body string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, testOrigin+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	return req
}

// do sends one request through the fixture, checks the status, and
// validates the response (and the request, as rc says) against the document.
func (k *contract) do(f *apiFixture, rc requestCheck, want int, method, path, token, ct, body string) (*http.Response, string) {
	t := k.t
	t.Helper()
	resp, out := f.call(t, method, path, token, ct, body)
	k.validate(rc, want, method, path, token, ct, body, resp, out)
	return resp, out
}

func (k *contract) validate(rc requestCheck, want int, method, path, token, ct, body string, resp *http.Response, out string) {
	t := k.t
	t.Helper()
	name := method + " " + path
	if resp.StatusCode != want {
		t.Errorf("%s: status %d, want %d: %s", name, resp.StatusCode, want, snippet(out))
		return
	}
	ctx := context.Background()
	req := contractRequest(method, path, token, ct, body)
	route, params, err := k.router.FindRoute(req)
	var opID string
	switch {
	case errors.Is(err, routers.ErrMethodNotAllowed):
		route, opID = k.componentRoute("MethodNotAllowed", resp.StatusCode), "(method not allowed)"
	case errors.Is(err, routers.ErrPathNotFound):
		route, opID = k.componentRoute("NotFound", resp.StatusCode), "(unknown path)"
	case err != nil:
		t.Errorf("%s: no route in the document: %v", name, err)
		return
	default:
		opID = route.Operation.OperationID
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: contractOptions()}
	if route.Operation.OperationID != "" {
		rerr := openapi3filter.ValidateRequest(ctx, in)
		switch {
		case rc == requestValid && rerr != nil:
			t.Errorf("%s (%s): the document refuses the request the server accepted: %v", name, opID, rerr)
		case rc == requestInvalid && rerr == nil:
			t.Errorf("%s (%s): the document accepts the request the server refused with %d", name, opID, resp.StatusCode)
		}
	}
	rin := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: contractOptions(),
	}
	rin.SetBodyBytes([]byte(out))
	if err := openapi3filter.ValidateResponse(ctx, rin); err != nil {
		t.Errorf("%s (%s) answered %d, which does not match the document: %v\nbody: %s", name, opID, resp.StatusCode, err, snippet(out))
	}
	if k.seen[opID] == nil {
		k.seen[opID] = map[int]bool{}
	}
	k.seen[opID][resp.StatusCode] = true
}

// componentRoute is a stand-in operation answering status with one of the
// document's shared responses, for requests no operation matches.
func (k *contract) componentRoute(name string, status int) *routers.Route {
	ref := k.doc.Components.Responses[name]
	if ref == nil {
		k.t.Fatalf("components.responses.%s is not documented", name)
	}
	op := &openapi3.Operation{Responses: openapi3.NewResponses(openapi3.WithStatus(status, ref))}
	return &routers.Route{Spec: k.doc, Method: http.MethodGet, Operation: op}
}

// report fails for operations whose success responses were never
// validated, and logs the statuses covered.
func (k *contract) report() {
	t := k.t
	t.Helper()
	var lines []string
	for path, item := range k.doc.Paths.Map() {
		for method, op := range item.Operations() {
			var covered, missing []string
			for code := range op.Responses.Map() {
				n, _ := strconv.Atoi(code)
				switch {
				case k.seen[op.OperationID][n]:
					covered = append(covered, code)
				case n < 400:
					t.Errorf("%s %s (%s): no %s response was validated", method, path, op.OperationID, code)
				default:
					missing = append(missing, code)
				}
			}
			sort.Strings(covered)
			sort.Strings(missing)
			lines = append(lines, fmt.Sprintf("%-7s %-24s validated %v, not exercised %v", method, path, covered, missing))
		}
	}
	sort.Strings(lines)
	for _, id := range []string{"(method not allowed)", "(unknown path)"} {
		lines = append(lines, fmt.Sprintf("%s: validated %v", id, k.seen[id]))
	}
	t.Log("statuses validated against the document:\n" + strings.Join(lines, "\n"))
}

func decodeInto(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("decode %s: %v", snippet(body), err)
	}
}

// TestAPIResponsesMatchTheDocument drives a realistic session through the
// real app and validates every request/response pair against the document.
func TestAPIResponsesMatchTheDocument(t *testing.T) {
	f := newAPIFixture(t)
	k := newContract(t, f.h)
	const js, form = "application/json", "application/x-www-form-urlencoded"
	ok, bad, na := requestValid, requestInvalid, requestAny
	// Tokens without expiry are allowed, so expires_at can be null.
	if err := f.h.srv.Store().SetTokenPolicy(context.Background(), models.AsUser(f.adminUser),
		models.TokenPolicy{DefaultDays: 90, AllowNever: true}); err != nil {
		t.Fatal(err)
	}

	// The document itself, and who is calling.
	k.do(f, ok, 200, "GET", "/api/v1/openapi.json", "", "", "")
	k.do(f, ok, 200, "GET", "/api/v1/me", f.member, "", "")
	k.do(f, ok, 200, "GET", "/api/v1/me", f.admin, "", "")

	// Users: the list with every parameter, and a person to own things.
	k.do(f, ok, 200, "GET", "/api/v1/users", f.admin, "", "")
	k.do(f, ok, 200, "GET", fmt.Sprintf("/api/v1/users?q=API&sort=created&dir=desc&role=admin&team=1&team=%d&type=service&status=all&page=1&per_page=50", f.teamID), f.admin, "", "")
	k.do(f, ok, 200, "GET", "/api/v1/users?sort=last_active&status=deactivated&per_page=100&page=2", f.admin, "", "")
	k.do(f, ok, 200, "GET", "/api/v1/users?q=&sort=&dir=&role=&team=&type=&status=&page=&per_page=", f.admin, "", "") // empty is left out
	_, body := k.do(f, ok, 200, "GET", "/api/v1/users?type=human&sort=role", f.admin, "", "")
	var people handlers.APIList[handlers.APIUser]
	decodeInto(t, body, &people)
	if len(people.Items) == 0 {
		t.Fatalf("no person in %s", body)
	}
	person := people.Items[0].ID

	// A service user: create, read, change.
	_, body = k.do(f, ok, 201, "POST", "/api/v1/users", f.admin, js,
		fmt.Sprintf(`{"name":"Nightly ETL","role":"manager","team_ids":[%d],"description":"loads","owner":{"kind":"team","id":%d}}`, f.teamID, f.teamID))
	var svc handlers.APIUser
	decodeInto(t, body, &svc)
	users := fmt.Sprintf("/api/v1/users/%d", svc.ID)
	k.do(f, ok, 201, "POST", "/api/v1/users", f.admin, js, fmt.Sprintf(`{"name":"Report bot","role":null,"team_ids":null,"owner":{"kind":"user","id":%d}}`, person))
	k.do(f, ok, 201, "POST", "/api/v1/users", f.admin, js, `{"name":"Plain bot","owner":null}`)
	// An optional field sent as null is left out; a required one is refused.
	k.do(f, ok, 201, "POST", "/api/v1/users", f.admin, js, `{"name":"Null bot","description":null,"role":null,"team_ids":null,"owner":null}`)
	for _, b := range []string{`{"name":null}`, `{"name":null,"description":"x"}`} {
		_, out := k.do(f, bad, 422, "POST", "/api/v1/users", f.admin, js, b)
		if !strings.Contains(out, `"errors":{"name":`) {
			t.Errorf("POST /users %s: the problem does not name name: %s", b, out)
		}
	}
	k.do(f, bad, 422, "POST", "/api/v1/users", f.admin, js, `{"name":"Kindless","owner":{"kind":null,"id":1}}`)
	k.do(f, bad, 422, "POST", "/api/v1/users", f.admin, js, `{"name":"Idless","owner":{"kind":"team","id":null}}`)
	for _, b := range []string{`{"name":"Null team","team_ids":[null]}`, `{"name":"Zero team","team_ids":[0]}`} {
		_, out := k.do(f, bad, 422, "POST", "/api/v1/users", f.admin, js, b)
		if !strings.Contains(out, `"errors":{"team_ids":`) {
			t.Errorf("POST /users %s: the problem does not name team_ids: %s", b, out)
		}
	}
	k.do(f, ok, 200, "GET", users, f.admin, "", "")
	k.do(f, ok, 200, "GET", fmt.Sprintf("/api/v1/users/%d", person), f.admin, "", "")
	k.do(f, ok, 200, "PATCH", users, f.admin, js, `{"description":"loads at night","owner":null}`)
	k.do(f, ok, 200, "PATCH", users, f.admin, js, fmt.Sprintf(`{"role":"member","team_ids":[],"owner":{"kind":"user","id":%d}}`, person))
	k.do(f, ok, 200, "PATCH", users, f.admin, js, `{}`)

	// Tokens: three expiries, the list, rotation with and without a body.
	_, body = k.do(f, ok, 201, "POST", users+"/tokens", f.admin, js, `{"name":"etl-prod","description":"prod","expires_in_days":30}`)
	var tok handlers.APIToken
	decodeInto(t, body, &tok)
	_, body = k.do(f, ok, 201, "POST", users+"/tokens", f.admin, js,
		fmt.Sprintf(`{"name":"etl-dated","expires_at":%q}`, time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339)))
	var dated handlers.APIToken
	decodeInto(t, body, &dated)
	_, body = k.do(f, ok, 201, "POST", users+"/tokens", f.admin, js, `{"name":"etl-forever","description":null,"expires_in_days":null,"expires_at":null}`)
	var forever handlers.APIToken
	decodeInto(t, body, &forever)
	if forever.ExpiresAt != nil {
		t.Errorf("a token without expiry has expires_at %v", forever.ExpiresAt)
	}
	k.do(f, ok, 200, "GET", users+"/tokens", f.admin, "", "")
	_, body = k.do(f, ok, 201, "POST", fmt.Sprintf("/api/v1/tokens/%d/rotate", tok.ID), f.admin, js, `{"overlap":"1h"}`)
	var rotated handlers.APIToken
	decodeInto(t, body, &rotated)
	_, body = k.do(f, ok, 201, "POST", fmt.Sprintf("/api/v1/tokens/%d/rotate", rotated.ID), f.admin, "", "")
	var rotated2 handlers.APIToken
	decodeInto(t, body, &rotated2)
	_, body = k.do(f, ok, 201, "POST", fmt.Sprintf("/api/v1/tokens/%d/rotate", rotated2.ID), f.admin, js, `{"overlap":null}`)
	var rotated3 handlers.APIToken
	decodeInto(t, body, &rotated3)
	_, out := k.do(f, bad, 422, "POST", users+"/tokens", f.admin, js, `{"name":null,"expires_in_days":1}`)
	if !strings.Contains(out, `"errors":{"name":`) {
		t.Errorf("a token named null: the problem does not name name: %s", out)
	}
	// A use fills last_used_at and last_used_ip.
	k.do(f, ok, 200, "GET", "/api/v1/me", rotated2.Token, "", "")
	k.do(f, ok, 200, "GET", users+"/tokens", f.admin, "", "")
	// The allowlist suggested from that use, applied, then cleared.
	k.do(f, ok, 200, "GET", fmt.Sprintf("/api/v1/tokens/%d/ip-suggestions", rotated2.ID), f.admin, "", "")
	k.do(f, ok, 200, "PATCH", fmt.Sprintf("/api/v1/tokens/%d", rotated2.ID), f.admin, js, `{"allowed_cidrs":["0.0.0.0/32","2001:db8::/64"]}`)
	k.do(f, ok, 200, "PATCH", fmt.Sprintf("/api/v1/tokens/%d", rotated2.ID), f.admin, js, `{"allowed_cidrs":null}`)
	k.do(f, na, 422, "PATCH", fmt.Sprintf("/api/v1/tokens/%d", rotated2.ID), f.admin, js, `{"allowed_cidrs":["10.0.0.1/8"]}`)
	k.do(f, bad, 422, "PATCH", fmt.Sprintf("/api/v1/tokens/%d", rotated2.ID), f.admin, js, `{}`)
	// The inventory, and bulk revocation.
	_, body = k.do(f, ok, 200, "GET", "/api/v1/tokens?state=all&sort=last_used&dir=desc", f.admin, "", "")
	k.do(f, bad, 400, "GET", "/api/v1/tokens?expires_within=3", f.admin, "", "")
	_, body = k.do(f, ok, 201, "POST", users+"/tokens", f.admin, js, `{"name":"etl-bulk","expires_in_days":7}`)
	var bulk handlers.APIToken
	decodeInto(t, body, &bulk)
	k.do(f, ok, 200, "POST", "/api/v1/tokens/revoke", f.admin, js, fmt.Sprintf(`{"ids":[%d, 999999, "x"]}`, bulk.ID))
	k.do(f, bad, 422, "POST", "/api/v1/tokens/revoke", f.admin, js, `{"ids":[]}`)
	k.do(f, bad, 400, "POST", "/api/v1/tokens/revoke", f.admin, js, `{"ids":`)
	k.do(f, bad, 415, "POST", "/api/v1/tokens/revoke", f.admin, "text/plain", `{"ids":[1]}`)

	// Deactivation is refused while tokens are active: 400 with the count.
	_, body = k.do(f, na, 400, "POST", users+"/deactivate", f.admin, "", "")
	if !strings.Contains(body, `"count":`) {
		t.Errorf("guarded deactivation without a count: %s", body)
	}

	// Revoke, restore, revoke, delete; rule refusals on the way.
	tokenPath := func(id int64, action string) string {
		if action == "" {
			return fmt.Sprintf("/api/v1/tokens/%d", id)
		}
		return fmt.Sprintf("/api/v1/tokens/%d/%s", id, action)
	}
	k.do(f, na, 400, "DELETE", tokenPath(dated.ID, ""), f.admin, "", "")      // active
	k.do(f, na, 400, "POST", tokenPath(dated.ID, "restore"), f.admin, "", "") // not revoked
	k.do(f, ok, 200, "POST", tokenPath(dated.ID, "revoke"), f.admin, "", "")
	k.do(f, ok, 200, "POST", tokenPath(dated.ID, "restore"), f.admin, "", "")
	for _, id := range []int64{tok.ID, rotated.ID, rotated2.ID, rotated3.ID, dated.ID, forever.ID} {
		k.do(f, ok, 200, "POST", tokenPath(id, "revoke"), f.admin, "", "")
	}
	k.do(f, na, 400, "POST", tokenPath(tok.ID, "rotate"), f.admin, js, `{}`) // revoked
	k.do(f, ok, 204, "DELETE", tokenPath(dated.ID, ""), f.admin, "", "")
	k.do(f, na, 404, "DELETE", tokenPath(dated.ID, ""), f.admin, "", "")
	k.do(f, na, 404, "POST", tokenPath(999999, "revoke"), f.admin, "", "")
	k.do(f, ok, 200, "POST", users+"/deactivate", f.admin, "", "")
	k.do(f, na, 400, "POST", tokenPath(forever.ID, "restore"), f.admin, "", "") // the owner is deactivated
	k.do(f, ok, 200, "POST", users+"/reactivate", f.admin, "", "")

	// Teams.
	k.do(f, ok, 200, "GET", "/api/v1/teams", f.admin, "", "")
	_, body = k.do(f, ok, 201, "POST", "/api/v1/teams", f.admin, js, `{"name":"Data platform","description":"pipelines"}`)
	var team handlers.APITeamFull
	decodeInto(t, body, &team)
	teamPath := fmt.Sprintf("/api/v1/teams/%d", team.ID)
	k.do(f, ok, 200, "PATCH", teamPath, f.admin, js, `{"description":"all pipelines"}`)
	k.do(f, ok, 200, "PATCH", teamPath, f.admin, js, `{"name":"Data platforms","description":null}`)
	k.do(f, na, 409, "PATCH", teamPath, f.admin, js, `{"name":"api TEAM"}`)
	_, out = k.do(f, bad, 422, "POST", "/api/v1/teams", f.admin, js, `{"name":null,"description":null}`)
	if !strings.Contains(out, `"errors":{"name":`) {
		t.Errorf("a team named null: the problem does not name name: %s", out)
	}
	k.do(f, na, 422, "PATCH", "/api/v1/teams/1", f.admin, js, `{"name":"Everyone"}`)
	k.do(f, ok, 204, "DELETE", teamPath, f.admin, "", "")
	k.do(f, na, 404, "PATCH", teamPath, f.admin, js, `{"description":"gone"}`)
	k.do(f, na, 400, "DELETE", "/api/v1/teams/1", f.admin, "", "")

	// Webhooks: create, read, change, test, rotate, deliveries, delete. The
	// URLs never resolve (.invalid); the endpoints are gone before the
	// server below runs its worker.
	_, body = k.do(f, ok, 201, "POST", "/api/v1/webhooks", f.admin, js,
		`{"url":"https://hooks.example.invalid/warden","description":"SIEM","events":["token.revoked","token.created"],"enabled":true}`)
	var hook handlers.APIWebhookWithSecret
	decodeInto(t, body, &hook)
	hookPath := fmt.Sprintf("/api/v1/webhooks/%d", hook.ID)
	_, body = k.do(f, ok, 201, "POST", "/api/v1/webhooks", f.admin, js, `{"url":"https://all.example.invalid/","description":null,"events":null,"enabled":null}`)
	var hookAll handlers.APIWebhookWithSecret
	decodeInto(t, body, &hookAll)
	k.do(f, ok, 200, "GET", "/api/v1/webhooks", f.admin, "", "")
	k.do(f, ok, 200, "GET", hookPath, f.admin, "", "")
	k.do(f, ok, 200, "PATCH", hookPath, f.admin, js, `{"description":null,"events":[],"enabled":false}`)
	k.do(f, na, 400, "POST", hookPath+"/test", f.admin, "", "") // disabled
	k.do(f, ok, 200, "PATCH", hookPath, f.admin, js, `{"url":"https://hooks2.example.invalid/w","enabled":true}`)
	k.do(f, ok, 202, "POST", hookPath+"/test", f.admin, "", "")
	k.do(f, ok, 200, "POST", hookPath+"/rotate-secret", f.admin, "", "")
	k.do(f, ok, 200, "GET", hookPath, f.admin, "", "") // previous_secret_until set
	k.do(f, ok, 200, "GET", hookPath+"/deliveries", f.admin, "", "")
	k.do(f, ok, 200, "GET", hookPath+"/deliveries?limit=1", f.admin, "", "")
	k.do(f, ok, 200, "GET", hookPath+"/deliveries?limit=", f.admin, "", "")
	k.do(f, bad, 400, "GET", hookPath+"/deliveries?limit=0", f.admin, "", "")
	k.do(f, bad, 400, "GET", hookPath+"/deliveries?limit=x", f.admin, "", "")
	k.do(f, bad, 422, "POST", "/api/v1/webhooks", f.admin, js, `{"url":"https://h.example.invalid/","events":["token.exploded"]}`)
	k.do(f, bad, 422, "POST", "/api/v1/webhooks", f.admin, js, `{"description":"no url"}`)
	k.do(f, na, 422, "POST", "/api/v1/webhooks", f.admin, js, `{"url":"https://user:pw@h.example.invalid/"}`)
	k.do(f, na, 422, "POST", "/api/v1/webhooks", f.admin, js, `{"url":"not a url"}`)
	k.do(f, na, 422, "PATCH", hookPath, f.admin, js, `{"description":"`+strings.Repeat("d", 1001)+`"}`)
	k.do(f, bad, 400, "PATCH", hookPath, f.admin, js, `{"events":"token.revoked"}`)
	k.do(f, bad, 400, "POST", "/api/v1/webhooks", f.admin, js, `{"url":"https://h.example.invalid/","secret":"whsec_mine"}`)
	k.do(f, bad, 415, "POST", "/api/v1/webhooks", f.admin, "text/plain", `{"url":"https://h.example.invalid/"}`)
	k.do(f, na, 403, "GET", "/api/v1/webhooks", f.manager, "", "")
	k.do(f, na, 403, "POST", hookPath+"/rotate-secret", f.member, "", "")
	for _, p := range []string{"", "/deliveries"} {
		k.do(f, na, 404, "GET", "/api/v1/webhooks/999999"+p, f.admin, "", "")
	}
	for _, p := range []string{"/test", "/rotate-secret"} {
		k.do(f, na, 404, "POST", "/api/v1/webhooks/999999"+p, f.admin, "", "")
	}
	k.do(f, na, 404, "PATCH", "/api/v1/webhooks/999999", f.admin, js, `{}`)
	k.do(f, ok, 204, "DELETE", hookPath, f.admin, "", "")
	k.do(f, ok, 204, "DELETE", fmt.Sprintf("/api/v1/webhooks/%d", hookAll.ID), f.admin, "", "")
	k.do(f, na, 404, "DELETE", hookPath, f.admin, "", "")

	// Audit: filters, and cursor paging to the last page.
	_, body = k.do(f, ok, 200, "GET", "/api/v1/audit?limit=2", f.admin, "", "")
	var events handlers.APIEventPage
	decodeInto(t, body, &events)
	if events.NextCursor == nil {
		t.Fatalf("no next_cursor on a first page of 2: %s", body)
	}
	k.do(f, ok, 200, "GET", "/api/v1/audit?limit=2&cursor="+url.QueryEscape(*events.NextCursor), f.admin, "", "")
	_, body = k.do(f, ok, 200, "GET", "/api/v1/audit?limit=500", f.admin, "", "")
	decodeInto(t, body, &events)
	if events.NextCursor != nil {
		t.Errorf("next_cursor on the last page: %v", *events.NextCursor)
	}
	k.do(f, ok, 200, "GET", "/api/v1/audit?action=token.rotate&action=token.create&outcome=success&target_kind=token&range=7d", f.admin, "", "")
	k.do(f, ok, 200, "GET", fmt.Sprintf("/api/v1/audit?actor=API&actor_id=%d&user=%d&target_kind=user&target_id=%d&from=2020-01-01&to=2999-12-31&outcome=denied",
		f.adminUserID, svc.ID, svc.ID), f.admin, "", "")

	// Introspection: form and JSON, active and not.
	k.do(f, ok, 200, "POST", "/api/v1/introspect", f.manager, form, "token="+url.QueryEscape(f.member))
	k.do(f, ok, 200, "POST", "/api/v1/introspect", f.admin, js, `{"token":"`+f.member+`","token_type_hint":"access_token"}`)
	k.do(f, ok, 200, "POST", "/api/v1/introspect", f.admin, js, `{"token":"`+f.member+`","token_type_hint":null}`)
	_, body = k.do(f, ok, 200, "POST", "/api/v1/introspect", f.manager, js, `{"token":"wdn_nope"}`)
	if strings.TrimSpace(body) != `{"active":false}` {
		t.Errorf("inactive introspection: %s", body)
	}
	k.do(f, ok, 200, "POST", "/api/v1/introspect", f.manager, form, "token="+url.QueryEscape(f.revoked))

	// Errors.
	k.do(f, na, 401, "GET", "/api/v1/me", "", "", "")
	k.do(f, na, 401, "GET", "/api/v1/users", "wdn_made_up", "", "")
	k.do(f, na, 401, "POST", "/api/v1/introspect", f.revoked, js, `{"token":"x"}`)
	k.do(f, na, 403, "GET", "/api/v1/users", f.member, "", "")
	k.do(f, na, 403, "POST", "/api/v1/introspect", f.member, js, `{"token":"x"}`)
	k.do(f, na, 403, "DELETE", tokenPath(f.tokenID, ""), f.manager, "", "")
	k.do(f, na, 404, "GET", "/api/v1/users/424242", f.admin, "", "")
	k.do(f, bad, 404, "GET", "/api/v1/users/abc", f.admin, "", "")
	k.do(f, na, 404, "GET", "/api/v1/users/424242/tokens", f.admin, "", "")
	k.do(f, na, 404, "POST", "/api/v1/users/424242/tokens", f.admin, js, `{"name":"x","expires_in_days":1}`)
	k.do(f, na, 404, "POST", "/api/v1/users/424242/deactivate", f.admin, "", "")
	k.do(f, na, 404, "POST", "/api/v1/users/424242/reactivate", f.admin, "", "")
	k.do(f, na, 404, "PATCH", "/api/v1/users/424242", f.admin, js, `{}`)
	k.do(f, na, 404, "GET", "/api/v1/nothing", f.admin, "", "")
	resp, _ := k.do(f, na, 405, "PUT", "/api/v1/users", f.admin, "", "")
	if resp.Header.Get("Allow") != "GET, POST" {
		t.Errorf("Allow = %q", resp.Header.Get("Allow"))
	}
	k.do(f, na, 405, "DELETE", "/api/v1/me", f.admin, "", "")
	k.do(f, na, 405, "POST", "/api/v1/openapi.json", "", js, `{}`)
	k.do(f, na, 404, "POST", "/api/v1/users//reactivate", f.admin, "", "")
	k.do(f, na, 404, "GET", "/api/v1/users//tokens", f.admin, "", "")
	k.do(f, bad, 415, "POST", "/api/v1/teams", f.admin, "text/plain", `{"name":"x"}`)
	k.do(f, bad, 415, "POST", "/api/v1/introspect", f.manager, "text/plain", "token=x")
	k.do(f, bad, 415, "PATCH", users, f.admin, form, "role=admin")
	k.do(f, na, 422, "POST", "/api/v1/users", f.admin, js, `{"name":"!!!"}`)
	k.do(f, bad, 422, "POST", "/api/v1/users", f.admin, js, `{"name":"Owned","owner":{"kind":"robot","id":1}}`)
	k.do(f, bad, 422, "POST", users+"/tokens", f.admin, js, `{"name":"x","expires_in_days":0}`)
	k.do(f, bad, 422, "POST", tokenPath(rotated2.ID, "rotate"), f.admin, js, `{"overlap":"2d"}`)
	k.do(f, na, 422, "PATCH", users, f.admin, js, `{"team_ids":[987654]}`)
	k.do(f, bad, 422, "PATCH", users, f.admin, js, `{"team_ids":[1,null]}`)
	k.do(f, na, 409, "POST", "/api/v1/teams", f.admin, js, `{"name":"api TEAM"}`)
	k.do(f, na, 409, "POST", "/api/v1/users", f.admin, js, `{"name":"Nightly ETL"}`)
	k.do(f, na, 409, "POST", users+"/tokens", f.admin, js, `{"name":"etl-prod","expires_in_days":1}`)
	k.do(f, bad, 400, "POST", "/api/v1/users", f.admin, js, `{"name":"X","is_admin":true}`)
	k.do(f, bad, 400, "PATCH", users, f.admin, js, `{"name":"renamed"}`)
	k.do(f, bad, 400, "POST", "/api/v1/teams", f.admin, js, `{"name":`)
	k.do(f, bad, 400, "POST", "/api/v1/introspect", f.manager, js, `{"token":42}`)
	k.do(f, bad, 400, "POST", "/api/v1/introspect", f.manager, js, `{"token":null}`)
	k.do(f, bad, 400, "POST", "/api/v1/introspect", f.manager, js, `{"token":""}`)
	k.do(f, bad, 400, "POST", "/api/v1/introspect", f.manager, form, "token_type_hint=access_token")
	k.do(f, bad, 400, "GET", "/api/v1/users?sort=password_hash", f.admin, "", "")
	k.do(f, bad, 400, "GET", "/api/v1/users?q=%00", f.admin, "", "")
	k.do(f, bad, 400, "GET", "/api/v1/audit?actor=a%1Fb", f.admin, "", "")
	k.do(f, bad, 400, "GET", "/api/v1/users?per_page=30&team=x", f.admin, "", "")
	k.do(f, bad, 400, "GET", "/api/v1/audit?limit=0", f.admin, "", "")
	k.do(f, bad, 400, "GET", "/api/v1/audit?action=user.explode&range=2w", f.admin, "", "")

	// 413 needs a real listener: the server refuses a body over the limit
	// from its Content-Length, before any handler runs. The body is not
	// sent, so the server's close cannot reset the connection mid-write.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.h.srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST /api/v1/teams HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		ln.Addr(), f.admin, js, 2<<20)
	resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("oversized body: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	k.validate(na, 413, "POST", "/api/v1/teams", f.admin, js, "", resp, string(b))

	// Settings: read, change one part and both, refusals, and back.
	k.do(f, ok, 200, "GET", "/api/v1/settings", f.admin, "", "")
	k.do(f, ok, 200, "PATCH", "/api/v1/settings", f.admin, js, `{"inactive_days":30}`)
	k.do(f, ok, 200, "PATCH", "/api/v1/settings", f.admin, js, `{"default_days":30,"max_days":null,"inactive_days":0}`)
	k.do(f, bad, 422, "PATCH", "/api/v1/settings", f.admin, js, `{"inactive_days":45}`)
	k.do(f, ok, 422, "PATCH", "/api/v1/settings", f.admin, js, `{"allow_never":false,"default_days":0}`)
	k.do(f, ok, 422, "PATCH", "/api/v1/settings", f.admin, js, `{}`)
	k.do(f, bad, 400, "PATCH", "/api/v1/settings", f.admin, js, `{"max_days":"1"}`)
	k.do(f, ok, 200, "PATCH", "/api/v1/settings", f.admin, js, `{"default_days":90,"allow_never":true}`)
	k.do(f, ok, 403, "GET", "/api/v1/settings", f.manager, "", "")

	// 429 needs a rate limit, which the fixture turns off.
	limited := newHarness(t, func(c *Config) { c.APIRateLimit = 1 })
	lk := &apiFixture{h: limited}
	admin := limited.admin("ada@example.com")
	u, _ := limited.srv.Store().CreateServiceUser(context.Background(), models.AsUser(admin), models.NewServiceUser{Name: "Chatty", Role: models.RoleMember})
	_, secret, _ := limited.srv.Store().GenerateToken(context.Background(), models.AsUser(admin), u.ID, models.NewToken{Name: "t", Expiry: models.Expiry{Days: 30}})
	for i := 0; ; i++ {
		resp, out := lk.call(t, "GET", "/api/v1/me", secret, "", "")
		if resp.StatusCode == http.StatusTooManyRequests {
			k.validate(na, 429, "GET", "/api/v1/me", secret, "", "", resp, out)
			break
		}
		if i == 10 {
			t.Fatal("no 429 from a token over its rate")
		}
		k.validate(ok, 200, "GET", "/api/v1/me", secret, "", "", resp, out)
	}

	// A partner's signed report, which needs keys the fixture has not.
	partner, pub := newScanPartner(t, "partner-doc")
	keys := filepath.Join(t.TempDir(), "scanning-keys.pem")
	if err := os.WriteFile(keys, []byte(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	signed := newHarness(t, func(c *Config) { c.SecretScanningKeys = keys })
	unknown, _ := models.NewTokenSecret()
	report := []byte(`[{"token":"` + unknown + `","type":"warden_token","url":"https://example.com/leak","source":"content"}]`)
	resp, out = postScanReport(t, signed, partner.id, partner.sign(t, report), report)
	k.validate(na, 200, "POST", "/api/v1/secret-scanning/report", "", js, string(report), resp, out)

	k.report()
}
