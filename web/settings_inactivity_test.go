package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/warden-console/warden/models"
)

// The inactivity auto-revoke is set on /settings: only its choices are
// taken (another value re-renders the page with a message on the field and
// changes nothing), a change is audited with its before and after, and once
// on, every working token's row says when it will be revoked.
func TestSettingsInactivity(t *testing.T) {
	h, c, _ := signedIn(t)
	ctx := context.Background()
	st := h.srv.Store()
	expectStatus(t, c.get("/settings"), http.StatusOK)
	if !strings.Contains(c.lastBody, "Inactive tokens") || !strings.Contains(c.lastBody, `<option value="0" selected>`) {
		t.Fatal("the setting is not shown, off")
	}
	for _, bad := range []string{"45", "abc", "", "-30"} {
		expectStatus(t, c.post("/settings/inactivity", url.Values{"inactive_days": {bad}}), http.StatusUnprocessableEntity)
		if !strings.Contains(c.lastBody, "Choose Off, or 30, 60, 90, 180 or 365 days.") ||
			!strings.Contains(c.lastBody, `aria-invalid="true"`) {
			t.Fatalf("%q: no message on the field: %s", bad, snippet(visibleText(c.lastBody)))
		}
	}
	if days, err := st.InactivityDays(ctx); err != nil || days != 0 {
		t.Fatalf("setting %d after bad input (%v)", days, err)
	}
	svc := createService(t, c, url.Values{"name": {"Nightly ETL"}})
	secret := generate(t, c, svc, url.Values{"name": {"ci-30"}, "expiry": {"365"}})
	expectStatus(t, c.get(fmt.Sprintf("/users/%d", svc)), http.StatusOK)
	if strings.Contains(c.lastBody, "revoked for inactivity") {
		t.Fatal("a row speaks of inactivity while the setting is off")
	}

	expectRedirect(t, c.post("/settings/inactivity", url.Values{"inactive_days": {"90"}}), "/settings")
	if days, err := st.InactivityDays(ctx); err != nil || days != 90 {
		t.Fatalf("setting %d (%v); want 90", days, err)
	}
	expectStatus(t, c.get("/settings"), http.StatusOK)
	if !strings.Contains(c.lastBody, `<option value="90" selected>`) || !strings.Contains(c.lastBody, "Tokens unused for 90 days will be revoked") {
		t.Fatalf("saved setting or flash not shown: %s", snippet(visibleText(c.lastBody)))
	}
	page, err := st.ListAudit(ctx, models.AuditQuery{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	e := page.Events[0]
	ch := e.ParsedChanges()["token.revoke_inactive_days"]
	if e.Action != "settings.update" || e.ActorKind != models.ActorHuman || ch.Before != 0.0 || ch.After != 90.0 {
		t.Fatalf("audit %+v %+v", e, ch)
	}
	expectStatus(t, c.get("/audit"), http.StatusOK)
	if !strings.Contains(visibleText(c.lastBody), "changed the inactivity auto-revoke: off → after 90 days unused") {
		t.Error("the audit log does not word the change")
	}

	// Never used: it counts from its creation, 90 days on.
	want := "will be revoked for inactivity on " + h.clock.Now().Add(90*24*time.Hour).UTC().Format("2 Jan")
	if h.clock.Now().Add(90*24*time.Hour).Year() != h.clock.Now().Year() {
		want = "will be revoked for inactivity on " + h.clock.Now().Add(90*24*time.Hour).UTC().Format("2 Jan 2006")
	}
	for _, path := range []string{fmt.Sprintf("/users/%d", svc), "/tokens"} {
		expectStatus(t, c.get(path), http.StatusOK)
		if !strings.Contains(visibleText(c.lastBody), want) {
			t.Errorf("%s: no %q", path, want)
		}
	}
	c.get("/tokens/lookup")
	expectStatus(t, c.post("/tokens/lookup", url.Values{"token": {secret}}), http.StatusOK)
	if !strings.Contains(visibleText(c.lastBody), want) {
		t.Errorf("lookup: no %q", want)
	}
	// 84 days on, the overview counts it among those about to go.
	expectStatus(t, c.get("/users"), http.StatusOK)
	if strings.Contains(c.lastBody, "to be revoked for inactivity") {
		t.Error("the overview counts a fresh token")
	}
	h.clock.Advance(84 * 24 * time.Hour)
	c.login("ada@example.com", testPassword) // the session ended long ago
	expectStatus(t, c.get("/users"), http.StatusOK)
	if !strings.Contains(visibleText(c.lastBody), "1 to be revoked for inactivity within 7 days") {
		t.Error("the overview does not count the token about to be revoked")
	}
	expectRedirect(t, c.post("/settings/inactivity", url.Values{"inactive_days": {"0"}}), "/settings")
	expectStatus(t, c.get("/tokens"), http.StatusOK)
	if strings.Contains(c.lastBody, "revoked for inactivity") {
		t.Error("rows still speak of inactivity once it is off")
	}
}
