package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/warden-console/warden/models"
)

// TestTokenScopesThroughTheConsole chooses scopes in the generate form,
// sees them on the token's row, and gets bad ones back with the input kept.
func TestTokenScopesThroughTheConsole(t *testing.T) {
	h, c, _ := signedIn(t)
	mgr := createService(t, c, url.Values{"name": {"Gateway"}, "role": {"manager"}})
	path := fmt.Sprintf("/users/%d", mgr)

	// A Manager's form offers only what the role allows, and says what none
	// checked means.
	expectStatus(t, c.get(path+"/tokens/new"), http.StatusOK)
	if !strings.Contains(c.lastBody, `name="scopes" value="introspect"`) || strings.Contains(c.lastBody, `value="tokens:write"`) {
		t.Error("a Manager's form should offer introspect and nothing wider")
	}
	if !strings.Contains(c.lastBody, "With none checked, the token has all that the Manager role allows") {
		t.Error("the form does not say what no scopes means")
	}

	// Bad input: 422, the message names the value, the input is kept.
	form := url.Values{"name": {"edge"}, "expiry": {"30"}, "scopes": {"introspect"}, "downstream_scopes": {"orders:read users:delete"}}
	expectStatus(t, c.post(path+"/tokens", form), http.StatusUnprocessableEntity)
	body := c.lastBody
	if !strings.Contains(body, "“users:delete” is not one of Warden") || !strings.Contains(body, `value="orders:read users:delete"`) ||
		!strings.Contains(body, `value="introspect" checked`) || !strings.Contains(body, `value="edge"`) {
		t.Errorf("refused scopes not explained with the input kept: %s", snippet(body))
	}
	form.Set("downstream_scopes", "Orders")
	expectStatus(t, c.post(path+"/tokens", form), http.StatusUnprocessableEntity)
	if !strings.Contains(c.lastBody, "“Orders” is not a scope") {
		t.Error("a malformed downstream scope is not named")
	}
	// Wider than the role, as a tampered form would send.
	form.Set("downstream_scopes", "")
	form["scopes"] = []string{"tokens:write"}
	expectStatus(t, c.post(path+"/tokens", form), http.StatusUnprocessableEntity)
	if !strings.Contains(c.lastBody, "“tokens:write” needs the Admin role") {
		t.Error("a scope wider than the role is not refused by name")
	}

	// Chosen scopes are stored and shown on the row, compactly.
	form = url.Values{"name": {"edge"}, "scopes": {"introspect"}, "downstream_scopes": {"orders:read, orders:write billing.read shipping.read"}}
	secret := generate(t, c, mgr, form)
	generate(t, c, mgr, url.Values{"name": {"everything"}})
	toks, err := h.srv.Store().TokensOf(context.Background(), mgr)
	if err != nil {
		t.Fatal(err)
	}
	var edge *models.Token
	for i := range toks {
		if toks[i].Name == "edge" {
			edge = &toks[i]
		}
	}
	want := []string{"introspect", "billing.read", "orders:read", "orders:write", "shipping.read"}
	if edge == nil || !slices.Equal(edge.ScopeList(), want) {
		t.Fatalf("stored scopes %v, want %v", edge, want)
	}
	expectStatus(t, c.get(path), http.StatusOK)
	row := c.lastBody[strings.Index(c.lastBody, fmt.Sprintf(`id="token-%d"`, edge.ID)):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, `<span class="chip" title="introspect">introspect</span>`) || !strings.Contains(row, ">+2<") ||
		!strings.Contains(row, "orders:write, shipping.read") || strings.Contains(row, `title="shipping.read">`) {
		t.Errorf("the row does not show three scopes and +2: %s", row)
	}
	if !strings.Contains(c.lastBody, "All of Manager’s") {
		t.Error("the unscoped token's row does not say it has all of Manager's")
	}
	expectStatus(t, c.get("/tokens"), http.StatusOK)
	if !strings.Contains(c.lastBody, `<span class="chip" title="introspect">introspect</span>`) {
		t.Error("/tokens does not show the token's scopes")
	}
	c.get("/tokens/lookup")
	expectStatus(t, c.post("/tokens/lookup", url.Values{"token": {secret}}), http.StatusOK)
	if !strings.Contains(c.lastBody, `<span class="chip" title="introspect">introspect</span>`) {
		t.Error("the token lookup does not show the token's scopes")
	}

	// The token works.
	resp, _ := apiGet(t, h, "/api/v1/me", bearer(secret))
	expectStatus(t, resp, http.StatusOK)
}
