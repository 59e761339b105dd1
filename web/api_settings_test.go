package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/warden-console/warden/handlers"
	"github.com/warden-console/warden/models"
)

// TestAPISettings: GET answers what the console's settings page shows;
// PATCH changes only the fields it sends, checks the result as a whole
// (a refusal names the field and changes nothing), audits each changed part
// as settings.update, and the policy applies to the next token; Managers,
// Members and a token without settings:write are refused.
func TestAPISettings(t *testing.T) {
	f := newAPIFixture(t)
	st := f.h.srv.Store()
	ctx := context.Background()
	get := func() handlers.APISettings {
		t.Helper()
		resp, out := f.call(t, "GET", "/api/v1/settings", f.admin, "", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /settings: %d %s", resp.StatusCode, out)
		}
		var s handlers.APISettings
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got, want := get(), (handlers.APISettings{DefaultDays: 90, MaxDays: 365}); got != want {
		t.Fatalf("defaults: %+v, want %+v", got, want)
	}
	settingsEvents := func() int {
		t.Helper()
		page, err := st.ListAudit(ctx, models.AuditQuery{Actions: []string{"settings.update"}, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Events)
	}

	resp, out := f.call(t, "PATCH", "/api/v1/settings", f.admin, jsonCT, `{"max_days": 180, "inactive_days": 90}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH: %d %s", resp.StatusCode, out)
	}
	want := handlers.APISettings{DefaultDays: 90, MaxDays: 180, InactiveDays: 90}
	if got := get(); got != want {
		t.Fatalf("after PATCH: %+v, want %+v", got, want)
	}
	if n := settingsEvents(); n != 2 {
		t.Errorf("%d settings.update events, want 2 (the policy and the inactivity)", n)
	}
	if days, err := st.InactivityDays(ctx); err != nil || days != 90 {
		t.Errorf("the store's inactivity setting: %d %v", days, err)
	}
	// The new maximum applies to the next token.
	resp, out = f.call(t, "POST", "/api/v1/users/"+itoa(f.memberID)+"/tokens", f.admin, jsonCT, `{"name": "too-long", "expires_in_days": 200}`)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a 200-day token under a 180-day maximum: %d %s", resp.StatusCode, out)
	}

	// The same values again change and audit nothing.
	f.call(t, "PATCH", "/api/v1/settings", f.admin, jsonCT, `{"max_days": 180, "inactive_days": 90}`)
	if n := settingsEvents(); n != 2 {
		t.Errorf("the same settings again: %d events, want 2", n)
	}

	for _, c := range []struct{ body, field string }{
		{`{"default_days": 200}`, "default_days"},                 // longer than the maximum
		{`{"default_days": 0}`, "default_days"},                   // never, not allowed
		{`{"allow_never": true}`, "allow_never"},                  // with a maximum
		{`{"inactive_days": 45}`, "inactive_days"},                // not a choice
		{`{"max_days": 90, "inactive_days": 7}`, "inactive_days"}, // one bad part refuses both
		{`{"max_days": -1}`, "max_days"},
	} {
		resp, out := f.call(t, "PATCH", "/api/v1/settings", f.admin, jsonCT, c.body)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(out, `"`+c.field+`"`) {
			t.Errorf("PATCH %s: %d %s; want 422 naming %s", c.body, resp.StatusCode, out, c.field)
		}
	}
	if got := get(); got != want {
		t.Fatalf("after refusals: %+v, want %+v (nothing changed)", got, want)
	}
	for _, body := range []string{`{}`, `{"max_days": null}`} {
		resp, out := f.call(t, "PATCH", "/api/v1/settings", f.admin, jsonCT, body)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("PATCH %s: %d %s; want 422", body, resp.StatusCode, out)
		}
	}
	for _, body := range []string{`{"max_days": "180"}`, `{"max_day": 180}`, `[1]`} {
		resp, out := f.call(t, "PATCH", "/api/v1/settings", f.admin, jsonCT, body)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("PATCH %s: %d %s; want 400", body, resp.StatusCode, out)
		}
	}

	// Allowing tokens that never expire needs the maximum removed in the
	// same PATCH; then a default of never is allowed too.
	resp, out = f.call(t, "PATCH", "/api/v1/settings", f.admin, jsonCT, `{"max_days": 0, "allow_never": true, "default_days": 0, "inactive_days": 0}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("allow never: %d %s", resp.StatusCode, out)
	}
	if got := get(); got != (handlers.APISettings{AllowNever: true}) {
		t.Errorf("after allowing never: %+v", got)
	}

	for name, tok := range map[string]string{"manager": f.manager, "member": f.member} {
		for _, m := range []string{"GET", "PATCH"} {
			resp, _ := f.call(t, m, "/api/v1/settings", tok, jsonCT, `{"inactive_days": 30}`)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s /settings: %d, want 403", name, m, resp.StatusCode)
			}
		}
	}
	_, reader, err := st.GenerateToken(ctx, models.System, f.adminUserID,
		models.NewToken{Name: "reader", Expiry: models.Expiry{Days: 30}, Scopes: []string{"settings:read"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := f.call(t, "GET", "/api/v1/settings", reader, "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("settings:read GET: %d", resp.StatusCode)
	}
	if resp, out := f.call(t, "PATCH", "/api/v1/settings", reader, jsonCT, `{"inactive_days": 30}`); resp.StatusCode != http.StatusForbidden || !strings.Contains(out, "settings:write") {
		t.Errorf("settings:read PATCH: %d %s; want 403 naming settings:write", resp.StatusCode, out)
	}
}

// TestAPISettingsConcurrentPatchesKeepEachOther: two PATCHes of different
// fields at once both apply, because each merges with the settings as they
// are inside its own transaction, not as read before it.
func TestAPISettingsConcurrentPatchesKeepEachOther(t *testing.T) {
	f := newAPIFixture(t)
	st := f.h.srv.Store()
	ctx := context.Background()
	for round := range 20 {
		thirty, ninety := 30, 90
		if _, err := st.UpdateSettings(ctx, models.System, models.SettingsPatch{MaxDays: &ninety, InactiveDays: new(int)}); err != nil {
			t.Fatal(err)
		}
		done := make(chan string, 2)
		for _, body := range []string{`{"max_days": 180}`, `{"inactive_days": 30}`} {
			go func() {
				resp, out := f.call(t, "PATCH", "/api/v1/settings", f.admin, jsonCT, body)
				if resp.StatusCode != http.StatusOK {
					done <- body + ": " + out
					return
				}
				done <- ""
			}()
		}
		for range 2 {
			if msg := <-done; msg != "" {
				t.Fatal(msg)
			}
		}
		got, err := st.InstanceSettings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.Policy.MaxDays != 180 || got.InactiveDays != thirty {
			t.Fatalf("round %d: max_days %d, inactive_days %d; want 180 and 30 (one PATCH undid the other)", round, got.Policy.MaxDays, got.InactiveDays)
		}
	}
}
