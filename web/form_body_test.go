package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/warden-console/warden/handlers"
	"github.com/warden-console/warden/models"
)

// postRaw submits body as a same-origin form to path, which may carry a
// query string. Unlike client.post it adds no _csrf field of its own.
func (c *client) postRaw(path string, body url.Values, headers map[string]string) *http.Response {
	c.h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, testOrigin+path, strings.NewReader(body.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", testOrigin)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return c.do(req)
}

// teamNamed reports whether a team of that name exists.
func teamNamed(t *testing.T, h *harness, name string) bool {
	t.Helper()
	teams, err := h.srv.Store().AllTeams(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range teams {
		if tm.Name == name {
			return true
		}
	}
	return false
}

// csrfRejections lists the reasons of the audited CSRF rejections.
func csrfRejections(t *testing.T, h *harness) []string {
	t.Helper()
	page, err := h.srv.Store().ListAudit(context.Background(), models.AuditQuery{Actions: []string{"security.csrf_rejected"}})
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, e := range page.Events {
		reasons = append(reasons, e.Reason)
	}
	return reasons
}

func TestCSRFTokenInQueryOnlyIsRefused(t *testing.T) {
	h, c, _ := signedIn(t)
	token := c.csrf
	resp := c.postRaw("/teams?_csrf="+url.QueryEscape(token), url.Values{"name": {"Query token"}}, nil)
	expectStatus(t, resp, http.StatusForbidden)
	if teamNamed(t, h, "Query token") {
		t.Fatal("a CSRF token in the query string created a team")
	}
	if got := csrfRejections(t, h); len(got) != 1 || got[0] != "token_in_query" {
		t.Fatalf("audited CSRF rejections %q, want one token_in_query", got)
	}
}

func TestCSRFTokenInQueryIsRefusedEvenWithOneInTheBody(t *testing.T) {
	h, c, _ := signedIn(t)
	token := c.csrf
	resp := c.postRaw("/teams?_csrf="+url.QueryEscape(token), url.Values{"_csrf": {token}, "name": {"Both tokens"}}, nil)
	expectStatus(t, resp, http.StatusForbidden)
	if teamNamed(t, h, "Both tokens") {
		t.Fatal("a form with a CSRF token in the query string created a team")
	}
	if got := csrfRejections(t, h); len(got) != 1 || got[0] != "token_in_query" {
		t.Fatalf("audited CSRF rejections %q, want one token_in_query", got)
	}
	// The same form without the query string still works.
	expectRedirect(t, c.postRaw("/teams", url.Values{"_csrf": {token}, "name": {"Both tokens"}}, nil), "/teams")
}

func TestUserEditRoleComesFromTheBody(t *testing.T) {
	h, c, _ := signedIn(t)
	id := createService(t, c, url.Values{"name": {"Query bot"}, "role": {"member"}})
	path := fmt.Sprintf("/users/%d/edit", id)
	c.get(path)
	resp := c.postRaw(path+"?role=admin", url.Values{
		"_csrf": {c.csrf}, "role": {"member"}, "description": {"still a member"}, "owner": {""},
	}, nil)
	expectRedirect(t, resp, fmt.Sprintf("/users/%d", id))
	u, err := h.srv.Store().UserByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != models.RoleMember {
		t.Fatalf("stored role %q, want member: the query string overrode the body", u.Role)
	}
}

func TestQueryFieldNeverFillsABodyField(t *testing.T) {
	h, c, _ := signedIn(t)
	c.get("/teams")
	resp := c.postRaw("/teams?name=Evil", url.Values{"_csrf": {c.csrf}, "description": {"from the body"}}, nil)
	expectStatus(t, resp, http.StatusUnprocessableEntity)
	if !strings.Contains(c.lastBody, ">from the body</textarea>") {
		t.Error("the re-rendered form lost the body's description")
	}
	if teamNamed(t, h, "Evil") {
		t.Fatal("a name in the query string created a team")
	}
}

func TestIntrospectionReadsTheTokenFromTheBody(t *testing.T) {
	f := newAPIFixture(t)
	resp, out := f.call(t, http.MethodPost, "/api/v1/introspect?token="+url.QueryEscape(f.member), f.manager,
		"application/x-www-form-urlencoded", "")
	// The body has no token, so the request has none: 400 naming it.
	var p handlers.Problem
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if resp.StatusCode != http.StatusBadRequest || p.Errors["token"] == "" {
		t.Fatalf("a token in the query string only: status %d: %s; want 400 naming token", resp.StatusCode, out)
	}
	toks, _ := f.h.srv.Store().TokensOf(context.Background(), f.memberID)
	if toks[0].LastUsedAt != nil {
		t.Error("a token in the query string counted as a use")
	}
}

func TestLoginCredentialsInQueryDoNotSignIn(t *testing.T) {
	h := newHarness(t)
	h.admin("ada@example.com")
	c := h.client()
	c.get("/login")
	q := url.Values{"email": {"ada@example.com"}, "password": {testPassword}}
	// The htmx header carries the CSRF token, so the body is empty.
	resp := c.postRaw("/login?"+q.Encode(), url.Values{}, map[string]string{"X-CSRF-Token": c.csrf})
	expectStatus(t, resp, http.StatusUnauthorized)
	if c.cookie("warden_session") != nil {
		t.Fatal("credentials in the query string started a session")
	}
}
