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

var (
	controlTag = regexp.MustCompile(`<(?:input|textarea|select)\b[^>]*>`)
	tagAttr    = regexp.MustCompile(`\s(id|name|value|type)="([^"]*)"`)
)

// focused describes the one control of the page that carries autofocus
// ("email", or "role=member" for a radio or checkbox), and the first
// control marked aria-invalid. It fails the test unless exactly one
// control has autofocus.
func focused(t *testing.T, body string) (autofocus, firstInvalid string) {
	t.Helper()
	var auto []string
	for _, tag := range controlTag.FindAllString(body, -1) {
		attrs := map[string]string{}
		for _, m := range tagAttr.FindAllStringSubmatch(tag, -1) {
			attrs[m[1]] = m[2]
		}
		name := attrs["id"]
		if attrs["type"] == "radio" || attrs["type"] == "checkbox" {
			name = attrs["name"] + "=" + attrs["value"]
		}
		if regexp.MustCompile(`\sautofocus[\s/>]`).MatchString(tag) {
			auto = append(auto, name)
		}
		if firstInvalid == "" && strings.Contains(tag, `aria-invalid="true"`) {
			firstInvalid = name
		}
	}
	if len(auto) != 1 {
		t.Fatalf("%d controls with autofocus (%q), want one", len(auto), auto)
	}
	return auto[0], firstInvalid
}

// TestFormErrorFocusesFirstInvalidField: after a form error on any console
// form, the page starts on the first field to fix, by autofocus, so it
// works without JavaScript.
func TestFormErrorFocusesFirstInvalidField(t *testing.T) {
	h, c, admin := signedIn(t)
	ctx := context.Background()
	svc := createService(t, c, url.Values{"name": {"Focus bot"}})
	team, err := h.srv.Store().CreateTeam(ctx, models.AsUser(admin), models.TeamInput{Name: "Focus team"})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 1001)
	cases := []struct {
		name, page, post string
		form             url.Values
		status           int
		want             string // the control that gets the focus
		message          string
	}{
		{"new service user: bad name", "/users/new?kind=service", "/users",
			url.Values{"kind": {"service"}, "name": {"!!!"}, "role": {"member"}}, 422, "name", ""},
		{"new service user: no role", "/users/new?kind=service", "/users",
			url.Values{"kind": {"service"}, "name": {"Roleless"}}, 422, "role=member", "Choose a role"},
		{"new service user: long purpose", "/users/new?kind=service", "/users",
			url.Values{"kind": {"service"}, "name": {"Wordy"}, "role": {"member"}, "description": {long}}, 422, "description", ""},
		{"new person: bad email", "/users/new?kind=human", "/users",
			url.Values{"kind": {"human"}, "name": {"Bob"}, "email": {"bob@"}, "role": {"member"}}, 422, "email", ""},
		{"edit: long purpose", fmt.Sprintf("/users/%d/edit", svc), fmt.Sprintf("/users/%d/edit", svc),
			url.Values{"role": {"member"}, "description": {long}}, 422, "description", ""},
		{"edit: no role", fmt.Sprintf("/users/%d/edit", svc), fmt.Sprintf("/users/%d/edit", svc),
			url.Values{"description": {"ok"}}, 422, "role=member", ""},
		{"token: no name", fmt.Sprintf("/users/%d/tokens/new", svc), fmt.Sprintf("/users/%d/tokens", svc),
			url.Values{"expiry": {"30"}}, 422, "name", ""},
		{"token: bad custom date", fmt.Sprintf("/users/%d/tokens/new", svc), fmt.Sprintf("/users/%d/tokens", svc),
			url.Values{"name": {"ci"}, "expiry": {"custom"}, "custom_date": {"2001-01-01"}}, 422, "custom_date", ""},
		{"token: unknown expiry", fmt.Sprintf("/users/%d/tokens/new", svc), fmt.Sprintf("/users/%d/tokens", svc),
			url.Values{"name": {"ci"}, "expiry": {"17"}}, 422, "expiry=30", ""},
		{"new team: no name", "/teams", "/teams",
			url.Values{"description": {"d"}}, 422, "name", "Enter a team name."},
		{"new team: long description", "/teams", "/teams",
			url.Values{"name": {"Wordy team"}, "description": {long}}, 422, "description", ""},
		{"team: no name", fmt.Sprintf("/teams/%d", team.ID), fmt.Sprintf("/teams/%d", team.ID),
			url.Values{"description": {"d"}}, 422, "name", ""},
		{"team: delete unconfirmed", fmt.Sprintf("/teams/%d", team.ID), fmt.Sprintf("/teams/%d/delete", team.ID),
			url.Values{}, 422, "confirm=yes", "Tick the box"},
		{"settings: default not a number", "/settings", "/settings",
			url.Values{"default_days": {"soon"}, "max_days": {"365"}}, 422, "default_days", ""},
		{"settings: maximum not a number", "/settings", "/settings",
			url.Values{"default_days": {"30"}, "max_days": {"lots"}}, 422, "max_days", ""},
		{"account: wrong current password", "/account", "/account/password",
			url.Values{"current_password": {"not it at all, sorry"}, "new_password": {"a brand new passphrase here"}, "confirm": {"a brand new passphrase here"}}, 422, "current_password", ""},
		{"account: short new password", "/account", "/account/password",
			url.Values{"current_password": {testPassword}, "new_password": {"short"}, "confirm": {"short"}}, 422, "new_password", ""},
		{"account: mismatch", "/account", "/account/password",
			url.Values{"current_password": {testPassword}, "new_password": {"a brand new passphrase here"}, "confirm": {"a brand new passphrase her"}}, 422, "confirm", "The two passwords do not match."},
		{"token lookup: malformed", "/tokens/lookup", "/tokens/lookup",
			url.Values{"token": {"wdn_nope"}}, 200, "token", "This is not a Warden token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.get(tc.page)
			resp := c.post(tc.post, tc.form)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, snippet(c.lastBody))
			}
			if tc.message != "" && !strings.Contains(c.lastBody, tc.message) {
				t.Errorf("the page lacks %q", tc.message)
			}
			auto, invalid := focused(t, c.lastBody)
			if auto != tc.want {
				t.Errorf("autofocus on %q, want %q", auto, tc.want)
			}
			// Where the fields mark their errors, the focus is on the first.
			if invalid != "" && invalid != auto {
				t.Errorf("autofocus on %q, but the first invalid field is %q", auto, invalid)
			}
		})
	}
}

// TestSetupFormErrors: setup names every field to fix, a mismatched
// "Password again" included even when the password itself is refused,
// and starts on the first of them.
func TestSetupFormErrors(t *testing.T) {
	h := newHarness(t)
	token, err := h.srv.Store().NewSetupToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := h.client()
	expectStatus(t, c.get("/setup?token="+token), http.StatusOK)
	if auto, _ := focused(t, c.lastBody); auto != "name" {
		t.Errorf("a fresh setup form starts on %q, want the name", auto)
	}
	cases := []struct {
		form     url.Values
		want     string
		messages []string
	}{
		{url.Values{"name": {"Ada"}, "email": {"ada@"}, "password": {"short"}, "confirm": {"shirt"}}, "email",
			[]string{"Enter a valid email address", "Use at least 15 characters", "The two passwords do not match."}},
		{url.Values{"name": {"Ada"}, "email": {"ada@example.com"}, "password": {"short"}, "confirm": {"shirt"}}, "password",
			[]string{"Use at least 15 characters", "The two passwords do not match."}},
		{url.Values{"name": {"Ada"}, "email": {"ada@example.com"}, "password": {testPassword}, "confirm": {testPassword + "!"}}, "confirm",
			[]string{"The two passwords do not match."}},
		{url.Values{"name": {"Ada"}, "email": {"ada@example.com"}, "password": {testPassword}}, "confirm",
			[]string{"Type the password again."}},
	}
	for _, tc := range cases {
		tc.form.Set("token", token)
		expectStatus(t, c.post("/setup", tc.form), http.StatusUnprocessableEntity)
		for _, m := range tc.messages {
			if !strings.Contains(c.lastBody, m) {
				t.Errorf("%v: the page lacks %q", tc.form, m)
			}
		}
		// The mismatch is the confirm field's own message.
		if slicesContain(tc.messages, "The two passwords do not match.") &&
			!regexp.MustCompile(`<p id="confirm-error" class="field-error">The two passwords do not match.</p>`).MatchString(c.lastBody) {
			t.Errorf("%v: the mismatch is not reported on the Password again field", tc.form)
		}
		auto, invalid := focused(t, c.lastBody)
		if auto != tc.want || invalid != tc.want {
			t.Errorf("%v: autofocus on %q, first invalid %q; want %q", tc.form, auto, invalid, tc.want)
		}
	}
}

// TestSetPasswordFormErrors: the one-time link's form reports a mismatch
// with a weak password too, and starts on the first field to fix.
func TestSetPasswordFormErrors(t *testing.T) {
	_, c, _ := signedIn(t)
	resp := c.post("/users", url.Values{"kind": {"human"}, "name": {"Bob Builder"}, "email": {"bob@example.com"}, "role": {"member"}})
	expectStatus(t, resp, http.StatusCreated)
	m := regexp.MustCompile(`http://warden\.test(/set-password/[A-Za-z0-9_-]+)`).FindStringSubmatch(c.lastBody)
	if m == nil {
		t.Fatal("no set-password link")
	}
	bob := c.h.client()
	expectStatus(t, bob.get(m[1]), http.StatusOK)
	expectStatus(t, bob.post(m[1], url.Values{"password": {"short"}, "confirm": {"other"}}), http.StatusUnprocessableEntity)
	for _, want := range []string{"Use at least 15 characters", "The two passwords do not match."} {
		if !strings.Contains(bob.lastBody, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if auto, _ := focused(t, bob.lastBody); auto != "password" {
		t.Errorf("autofocus on %q, want the password", auto)
	}
	expectStatus(t, bob.post(m[1], url.Values{"password": {testPassword}, "confirm": {"other"}}), http.StatusUnprocessableEntity)
	if auto, invalid := focused(t, bob.lastBody); auto != "confirm" || invalid != "confirm" {
		t.Errorf("autofocus on %q, first invalid %q; want confirm", auto, invalid)
	}
}

func slicesContain(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
