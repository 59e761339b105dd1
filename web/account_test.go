package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAccountPasswordChange(t *testing.T) {
	h := newHarness(t)
	h.admin("ada@example.com")
	c := h.client()
	c.login("ada@example.com", testPassword)
	laptop := h.client()
	laptop.login("ada@example.com", testPassword)

	c.get("/account")
	next := "a completely new passphrase for ada"
	resp := c.post("/account/password", url.Values{"current_password": {"wrong current password"}, "new_password": {next}, "confirm": {next}})
	expectStatus(t, resp, http.StatusUnprocessableEntity)
	if !strings.Contains(c.lastBody, "The current password is not correct.") {
		t.Error("wrong current password not explained")
	}
	resp = c.post("/account/password", url.Values{"current_password": {testPassword}, "new_password": {"too short"}, "confirm": {"too short"}})
	expectStatus(t, resp, http.StatusUnprocessableEntity)
	if !strings.Contains(c.lastBody, "Use at least 15 characters") {
		t.Error("weak new password not explained")
	}

	before := c.cookie("warden_session").Value
	resp = c.post("/account/password", url.Values{"current_password": {testPassword}, "new_password": {next}, "confirm": {next}})
	expectRedirect(t, resp, "/account")
	if c.cookie("warden_session").Value == before {
		t.Error("the session id did not change with the password")
	}
	expectStatus(t, c.get("/account"), http.StatusOK)
	if !strings.Contains(c.lastBody, "Password changed") {
		t.Error("no confirmation")
	}
	expectRedirect(t, laptop.get("/"), "/login")

	fresh := h.client()
	fresh.get("/login")
	expectStatus(t, fresh.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}}), http.StatusUnauthorized)
	fresh.login("ada@example.com", next)
	if strings.Contains(h.logs.String(), next) || strings.Contains(h.logs.String(), testPassword) {
		t.Error("a password reached the log")
	}
}

func TestAccountSessions(t *testing.T) {
	h := newHarness(t)
	ada := h.admin("ada@example.com")
	bob := h.admin("bob@example.com")
	c := h.client()
	c.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
	c.login("ada@example.com", testPassword)
	phone := h.client()
	phone.login("ada@example.com", testPassword)
	tablet := h.client()
	tablet.login("ada@example.com", testPassword)
	bobs := h.client()
	bobs.login("bob@example.com", testPassword)

	expectStatus(t, c.get("/account"), http.StatusOK)
	if !strings.Contains(c.lastBody, "This session") || !strings.Contains(c.lastBody, "Firefox on Linux") {
		t.Error("account page does not mark the current session or describe its device")
	}
	ctx := context.Background()
	list, _ := h.srv.Store().Sessions(ctx, ada.ID)
	if len(list) != 3 {
		t.Fatalf("%d sessions, want 3", len(list))
	}
	// End the phone's session by id.
	phoneSess := list[1].ID
	for _, s := range list {
		if s.ID != list[0].ID {
			phoneSess = s.ID
			break
		}
	}
	expectRedirect(t, c.post(fmt.Sprintf("/account/sessions/%d/end", phoneSess), nil), "/account")

	// Another admin's session cannot be ended from here, and ids are parsed.
	bobList, _ := h.srv.Store().Sessions(ctx, bob.ID)
	c.get("/account")
	expectStatus(t, c.post(fmt.Sprintf("/account/sessions/%d/end", bobList[0].ID), nil), http.StatusNotFound)
	c.get("/account")
	expectStatus(t, c.post("/account/sessions/1%20OR%201=1/end", nil), http.StatusNotFound)
	expectStatus(t, bobs.get("/users"), http.StatusOK)

	c.get("/account")
	expectRedirect(t, c.post("/account/sessions/end-others", nil), "/account")
	expectRedirect(t, phone.get("/"), "/login")
	expectRedirect(t, tablet.get("/"), "/login")
	expectStatus(t, c.get("/account"), http.StatusOK)
	if list, _ := h.srv.Store().Sessions(ctx, ada.ID); len(list) != 1 {
		t.Fatalf("%d sessions after ending the others, want 1", len(list))
	}
}
