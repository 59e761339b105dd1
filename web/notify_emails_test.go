package web

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The notification addresses on the service-user form: kept, shown on the
// page, and a bad one is a 422 that keeps what was typed and names it.
func TestServiceUserNotifyEmailsForm(t *testing.T) {
	_, c, _ := signedIn(t)
	expectStatus(t, c.get("/users/new?kind=service"), http.StatusOK)
	if !strings.Contains(c.lastBody, `name="notify_emails"`) {
		t.Fatal("the create form has no notification address field")
	}
	typed := "ops@example.com\nnot an address\nlead@example.com"
	resp := c.post("/users", url.Values{"kind": {"service"}, "role": {"member"}, "name": {"Billing bot"}, "notify_emails": {typed}})
	expectStatus(t, resp, http.StatusUnprocessableEntity)
	body := html.UnescapeString(c.lastBody)
	if !strings.Contains(body, `"not an address" is not a valid email address.`) {
		t.Fatalf("the message does not name the bad address: %s", snippet(c.lastBody))
	}
	if !strings.Contains(body, "Billing bot") || !strings.Contains(body, typed) {
		t.Fatal("the form did not keep the input")
	}

	id := createService(t, c, url.Values{"name": {"Billing bot"}, "notify_emails": {"ops@example.com, lead@example.com\nOPS@example.com"}})
	expectStatus(t, c.get(fmt.Sprintf("/users/%d", id)), http.StatusOK)
	if !strings.Contains(c.lastBody, "Also notified") || !strings.Contains(c.lastBody, "ops@example.com") || !strings.Contains(c.lastBody, "lead@example.com") {
		t.Fatalf("the user page does not show the addresses")
	}
	if strings.Contains(c.lastBody, "OPS@example.com") {
		t.Fatal("a duplicate address was kept")
	}

	// The edit form shows the list one a line and saves a new one.
	expectStatus(t, c.get(fmt.Sprintf("/users/%d/edit", id)), http.StatusOK)
	if !strings.Contains(c.lastBody, "ops@example.com\nlead@example.com</textarea>") {
		t.Fatalf("the edit form lacks the list: %s", snippet(c.lastBody))
	}
	resp = c.post(fmt.Sprintf("/users/%d/edit", id), url.Values{"role": {"member"}, "notify_emails": {"oncall@example.com"}})
	expectRedirect(t, resp, fmt.Sprintf("/users/%d", id))
	expectStatus(t, c.get(fmt.Sprintf("/users/%d", id)), http.StatusOK)
	if !strings.Contains(c.lastBody, "oncall@example.com") || strings.Contains(c.lastBody, "lead@example.com") {
		t.Fatal("the edit did not replace the list")
	}
	// The edit is audited with the field named.
	expectStatus(t, c.get(fmt.Sprintf("/audit?user=%d", id)), http.StatusOK)
	if !strings.Contains(c.lastBody, "notification addresses") {
		t.Fatalf("the audit log does not name the change: %s", snippet(c.lastBody))
	}
	resp = c.post(fmt.Sprintf("/users/%d/edit", id), url.Values{"role": {"member"}, "notify_emails": {"x@@example"}})
	expectStatus(t, resp, http.StatusUnprocessableEntity)
	if !strings.Contains(html.UnescapeString(c.lastBody), `"x@@example" is not a valid email address.`) {
		t.Fatalf("edit: no message naming the address: %s", snippet(c.lastBody))
	}
}

func TestAPIServiceUserNotifyEmails(t *testing.T) {
	f := newAPIFixture(t)
	resp, body := f.call(t, "POST", "/api/v1/users", f.admin, "application/json",
		`{"name":"Billing bot","notify_emails":["ops@example.com","Ops@example.com","lead@example.com"]}`)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, `"notify_emails":["ops@example.com","lead@example.com"]`) {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	loc := resp.Header.Get("Location")
	resp, body = f.call(t, "POST", "/api/v1/users", f.admin, "application/json", `{"name":"Other bot","notify_emails":["ops@example.com","nope"]}`)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `"notify_emails":`) || !strings.Contains(body, "nope") {
		t.Fatalf("bad address: %d %s", resp.StatusCode, body)
	}
	// PATCH without the field keeps it; with it, replaces it.
	resp, body = f.call(t, "PATCH", loc, f.admin, "application/json", `{"description":"bills"}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"notify_emails":["ops@example.com","lead@example.com"]`) {
		t.Fatalf("patch without the list: %d %s", resp.StatusCode, body)
	}
	resp, body = f.call(t, "PATCH", loc, f.admin, "application/json", `{"notify_emails":[]}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"notify_emails":[]`) {
		t.Fatalf("patch to empty: %d %s", resp.StatusCode, body)
	}
	many := `"a1@example.com","a2@example.com","a3@example.com","a4@example.com","a5@example.com","a6@example.com","a7@example.com","a8@example.com","a9@example.com","a10@example.com","a11@example.com"`
	resp, body = f.call(t, "PATCH", loc, f.admin, "application/json", `{"notify_emails":[`+many+`]}`)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `"notify_emails":"Use at most 10 addresses."`) {
		t.Fatalf("11 addresses: %d %s", resp.StatusCode, body)
	}
	// People answer [] too.
	_, body = f.call(t, "GET", fmt.Sprintf("/api/v1/users/%d", f.memberID), f.admin, "", "")
	if !strings.Contains(body, `"notify_emails":[]`) {
		t.Fatalf("get: %s", body)
	}
}
