package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/warden-console/warden/models"
)

func TestTokenLookup(t *testing.T) {
	h, c, _ := signedIn(t)
	svc := createService(t, c, url.Values{"name": {"Leaked bot"}})
	secret := generate(t, c, svc, url.Values{"name": {"leaked"}})

	expectStatus(t, c.get("/tokens/lookup"), http.StatusOK)
	typo := []byte(secret)
	typo[12] ^= 1
	expectStatus(t, c.post("/tokens/lookup", url.Values{"token": {string(typo)}}), http.StatusOK)
	if !strings.Contains(c.lastBody, "This is not a Warden token") {
		t.Error("a typo is not reported as malformed")
	}
	unknown, _ := models.NewTokenSecret()
	c.post("/tokens/lookup", url.Values{"token": {unknown}})
	if !strings.Contains(c.lastBody, "did not issue it") {
		t.Error("an unknown token is not reported")
	}
	resp := c.post("/tokens/lookup", url.Values{"token": {" " + secret + "\n"}})
	expectStatus(t, resp, http.StatusOK)
	for _, want := range []string{"leaked", "Leaked bot", "leaked_bot@service", "Revoke this token now", "generated token <a href="} {
		if !strings.Contains(c.lastBody, want) {
			t.Errorf("lookup result lacks %q", want)
		}
	}
	if strings.Contains(c.lastBody, secret) {
		t.Error("the result page echoes the secret")
	}
	tokens, _ := h.srv.Store().TokensOf(context.Background(), svc)
	expectRedirect(t, c.post(fmt.Sprintf("/tokens/%d/revoke", tokens[0].ID), nil), fmt.Sprintf("/users/%d", svc))
	if resp, _ := apiGet(t, h, "/api/v1/me", bearer(secret)); resp.StatusCode != http.StatusUnauthorized {
		t.Error("one-click revoke did not revoke")
	}
	page, _ := h.srv.Store().ListAudit(context.Background(), models.AuditQuery{Actions: []string{"token.lookup"}})
	if len(page.Events) != 3 || page.Events[0].Outcome != models.OutcomeSuccess || page.Events[2].Reason != "malformed" {
		t.Errorf("lookups audited as %+v", page.Events)
	}
	if strings.Contains(h.logs.String(), secret) {
		t.Error("the looked-up token reached the log")
	}
}

func TestAuditShowsControlCharactersEscaped(t *testing.T) {
	h, c, _ := signedIn(t)
	other := h.client()
	other.get("/login")
	other.post("/login", url.Values{"email": {"evil\r\nInjected: yes\u202Egnp.exe"}, "password": {"not the password at all"}})
	c.get("/audit?action=auth.login_failed")
	if !strings.Contains(c.lastBody, `evil\r\nInjected: yes\u202egnp.exe`) {
		t.Fatalf("the typed email is not shown escaped on one line: %s", snippet(c.lastBody))
	}
	if strings.Contains(c.lastBody, "\u202E") || strings.Contains(c.lastBody, "evil\r\n") {
		t.Error("raw control or bidi characters reached the page")
	}
}
