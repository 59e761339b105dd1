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

// TestUsersListImpliesPublic: every user is in Public, so the Users rows
// print no Public chip; the user's page and the team filter still show it.
func TestUsersListImpliesPublic(t *testing.T) {
	h, c, admin := signedIn(t)
	team, err := h.srv.Store().CreateTeam(context.Background(), models.AsUser(admin), models.TeamInput{Name: "Data"})
	if err != nil {
		t.Fatal(err)
	}
	svc := createService(t, c, url.Values{"name": {"Loader"}, "team": {fmt.Sprint(team.ID)}})
	createService(t, c, url.Values{"name": {"Loner"}})
	publicChip := `href="/users?team=1" title="Public"`
	expectStatus(t, c.get("/users"), http.StatusOK)
	if strings.Contains(c.lastBody, publicChip) {
		t.Error("a Users row prints the Public chip")
	}
	if !strings.Contains(c.lastBody, fmt.Sprintf(`href="/users?team=%d" title="Data"`, team.ID)) {
		t.Error("a named team's chip is missing")
	}
	if !regexp.MustCompile(`<input type="checkbox" name="team" value="1"[^>]*>\s*<span class="truncate">Public</span>`).MatchString(c.lastBody) {
		t.Error("Public is no longer offered in the team filter")
	}
	expectStatus(t, c.get(fmt.Sprintf("/users/%d", svc)), http.StatusOK)
	if !strings.Contains(c.lastBody, publicChip) {
		t.Error("the user's page no longer shows Public")
	}
}

// TestTokenLookupFieldShowsWhatWasPasted: the token field is a monospace
// text field, not a password one, and marks a failed lookup.
func TestTokenLookupFieldShowsWhatWasPasted(t *testing.T) {
	_, c, _ := signedIn(t)
	expectStatus(t, c.get("/tokens/lookup"), http.StatusOK)
	field := regexp.MustCompile(`<input id="token" name="token"[^>]*>`).FindString(c.lastBody)
	if !strings.Contains(field, `type="text"`) || !strings.Contains(field, "lookup-input") || strings.Contains(field, "aria-invalid") {
		t.Errorf("the lookup field is %s", field)
	}
	expectStatus(t, c.post("/tokens/lookup", url.Values{"token": {" wdn_typo<b>\n"}}), http.StatusOK)
	field = regexp.MustCompile(`<input id="token" name="token"[^>]*>`).FindString(c.lastBody)
	if !strings.Contains(field, `aria-invalid="true"`) || !strings.Contains(field, `aria-describedby="lookup-problem"`) ||
		!strings.Contains(c.lastBody, `<div id="lookup-problem">`) {
		t.Errorf("a failed lookup does not mark the field: %s", field)
	}
	// What was pasted comes back, to be looked at; a long paste does not.
	if !strings.Contains(field, `value="wdn_typo&lt;b&gt;"`) {
		t.Errorf("a failed lookup does not show what was pasted: %s", field)
	}
	c.post("/tokens/lookup", url.Values{"token": {strings.Repeat("x", 300)}})
	if strings.Contains(c.lastBody, strings.Repeat("x", 300)) {
		t.Error("a 300-character paste is shown again")
	}
}
