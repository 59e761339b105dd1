package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestSetupPage(t *testing.T) {
	h := newHarness(t)
	token, err := h.srv.Store().NewSetupToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := h.client()
	expectStatus(t, c.get("/setup"), http.StatusForbidden)
	expectStatus(t, c.get("/setup?token=wrong"), http.StatusForbidden)
	if !strings.Contains(c.lastBody, "no longer valid") {
		t.Error("a wrong token is not explained")
	}
	expectStatus(t, c.get("/setup?token="+token), http.StatusOK)

	// Bad input re-renders the form with what was typed and a message per field.
	resp := c.post("/setup", url.Values{"token": {token}, "name": {"Ada <Admin>"}, "email": {"ada@example"}, "password": {"short"}, "confirm": {"short"}})
	expectStatus(t, resp, http.StatusUnprocessableEntity)
	for _, want := range []string{`value="Ada &lt;Admin&gt;"`, `value="ada@example"`, "Enter a valid email address", "Use at least 15 characters"} {
		if !strings.Contains(c.lastBody, want) {
			t.Errorf("re-rendered setup form lacks %q", want)
		}
	}
	if strings.Contains(c.lastBody, `value="short"`) {
		t.Error("the password was echoed back into the form")
	}
	resp = c.post("/setup", url.Values{"token": {token}, "name": {"Ada"}, "email": {"ada@example.com"}, "password": {testPassword}, "confirm": {testPassword + "!"}})
	expectStatus(t, resp, http.StatusUnprocessableEntity)
	if !strings.Contains(c.lastBody, "The two passwords do not match.") {
		t.Error("mismatched passwords not explained")
	}

	// A wrong token cannot create an admin even with good input.
	expectStatus(t, c.post("/setup", url.Values{"token": {"wrong"}, "name": {"Eve"}, "email": {"eve@example.com"}, "password": {testPassword}, "confirm": {testPassword}}), http.StatusForbidden)

	resp = c.post("/setup", url.Values{"token": {token}, "name": {"Ada"}, "email": {"ada@example.com"}, "password": {testPassword}, "confirm": {testPassword}})
	expectRedirect(t, resp, "/login")
	c.get("/login")
	if !strings.Contains(c.lastBody, "Your administrator account is ready") {
		t.Error("no confirmation after setup")
	}
	c.login("ada@example.com", testPassword)

	// Afterwards the page is gone, with or without the token.
	anon := h.client()
	expectStatus(t, anon.get("/setup?token="+token), http.StatusNotFound)
	anon.get("/login")
	expectStatus(t, anon.post("/setup", url.Values{"token": {token}, "name": {"Eve"}, "email": {"eve@example.com"}, "password": {testPassword}, "confirm": {testPassword}}), http.StatusNotFound)
	if strings.Contains(h.logs.String(), token) {
		t.Error("the setup token reached the request log")
	}
}

func TestSetupURLLoggedOnFirstStart(t *testing.T) {
	h := newHarness(t)
	// Serve itself is exercised by the browser test; this checks the announcement.
	if err := h.srv.announceSetup(context.Background(), fakeAddr("127.0.0.1:8080")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.logs.String(), `setup_url="http://127.0.0.1:8080/setup?token=`) {
		t.Fatalf("no setup URL logged: %s", h.logs.String())
	}
	// With an administrator, nothing is announced.
	h.admin("ada@example.com")
	before := h.logs.String()
	if err := h.srv.announceSetup(context.Background(), fakeAddr("127.0.0.1:8080")); err != nil {
		t.Fatal(err)
	}
	if h.logs.String() != before {
		t.Fatal("setup URL announced although an administrator exists")
	}
}

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }
