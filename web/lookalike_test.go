package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestLookalikeNamesAskForConfirmation: creating a service user whose name
// mixes scripts or whose user_id differs from an existing one only by "-"
// and "_" shows the form again with a warning naming the lookalike and the
// input kept, creates nothing, and creates it once that name is confirmed.
func TestLookalikeNamesAskForConfirmation(t *testing.T) {
	h, c, _ := signedIn(t)
	createService(t, c, url.Values{"name": {"Admin bot"}})
	createService(t, c, url.Values{"name": {"Deploy_bot"}})

	for _, tc := range []struct{ name, says string }{
		{"\u0430dmin bot", "It reads like Admin bot (admin_bot@service), which exists."},
		{"Deploy-bot", "differs from Deploy_bot’s deploy_bot@service only by"},
	} {
		form := url.Values{"kind": {"service"}, "role": {"member"}, "name": {tc.name}, "description": {"kept"}}
		resp := c.post("/users", form)
		body := html.UnescapeString(c.lastBody)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(body, strings.ReplaceAll(tc.says, "’", "'")) ||
			!strings.Contains(body, `value="`+tc.name+`"`) || !strings.Contains(body, ">kept</textarea>") {
			t.Fatalf("%q: %d; want 409 with the warning %q and the input kept: %s", tc.name, resp.StatusCode, tc.says, snippet(body))
		}
		if !strings.Contains(c.lastBody, `name="lookalike_ok"`) || !strings.Contains(c.lastBody, `autofocus`) {
			t.Errorf("%q: no confirmation to tick, or it is not focused", tc.name)
		}
		// A confirmation of another name does not carry over.
		form.Set("lookalike_ok", "something else")
		if resp := c.post("/users", form); resp.StatusCode != http.StatusConflict {
			t.Errorf("%q confirmed as another name: %d; want the warning again", tc.name, resp.StatusCode)
		}
		form.Set("lookalike_ok", tc.name)
		if resp := c.post("/users", form); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%q confirmed: %d %s; want it created (303)", tc.name, resp.StatusCode, snippet(c.lastBody))
		}
	}
	for _, handle := range []string{"deploy-bot@service", "dmin_bot@service"} {
		if u, err := h.srv.Store().UserByHandle(context.Background(), handle); err != nil || u == nil {
			t.Errorf("%s was not created once confirmed: %v", handle, err)
		}
	}
	// A plain name goes straight through.
	createService(t, c, url.Values{"name": {"Billing sync"}})
}
