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

// TestConsoleTokenAddresses: a token generated with allowed addresses keeps
// them; a bad range re-renders the form with the input and a message naming
// it; the addresses page saves a typed list and applies the proposal, each
// audited; a post without the CSRF token changes nothing.
func TestConsoleTokenAddresses(t *testing.T) {
	h := newHarness(t)
	ada := h.admin("ada@example.com")
	st := h.srv.Store()
	ctx := context.Background()
	svc, err := st.CreateServiceUser(ctx, models.AsUser(ada), models.NewServiceUser{Name: "Pinned bot", Role: models.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	c := h.client()
	c.login("ada@example.com", testPassword)

	// Generate: a bad range is refused with the input kept.
	c.get(fmt.Sprintf("/users/%d/tokens/new", svc.ID))
	resp := c.post(fmt.Sprintf("/users/%d/tokens", svc.ID), url.Values{"name": {"edge"}, "expiry": {"30"}, "allowed_cidrs": {"203.0.113.0/24\n10.0.0.9/8"}})
	expectStatus(t, resp, http.StatusUnprocessableEntity)
	if !strings.Contains(c.lastBody, "“10.0.0.9/8” has bits set past /8") || !strings.Contains(c.lastBody, "203.0.113.0/24\n10.0.0.9/8</textarea>") {
		t.Fatalf("refused form: %s", snippet(c.lastBody))
	}
	secret := generate(t, c, svc.ID, url.Values{"name": {"edge"}, "allowed_cidrs": {"203.0.113.0/24, 2001:db8::/64"}})
	auth, err := st.AuthenticateToken(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	tok := auth.Token
	if !slices.Equal(tok.CIDRList(), []string{"203.0.113.0/24", "2001:db8::/64"}) {
		t.Fatalf("generated with %v", tok.CIDRList())
	}
	page := fmt.Sprintf("/tokens/%d/addresses", tok.ID)

	// The user page shows the ranges on the row and links the page.
	c.get(fmt.Sprintf("/users/%d", svc.ID))
	if !strings.Contains(c.lastBody, `<span class="chip">203.0.113.0/24</span>`) || !strings.Contains(c.lastBody, `href="`+page+`"`) {
		t.Errorf("user page does not show the allowlist or link its page: %s", snippet(c.lastBody))
	}

	// A typed list: a bad one is shown again with the message.
	c.get(page)
	expectStatus(t, c.post(page, url.Values{"allowed_cidrs": {"198.51.100.0/24\nnot-a-range"}}), http.StatusUnprocessableEntity)
	if !strings.Contains(c.lastBody, "“not-a-range” is not an address range") || !strings.Contains(c.lastBody, "198.51.100.0/24\nnot-a-range</textarea>") {
		t.Fatalf("refused list: %s", snippet(c.lastBody))
	}
	expectStatus(t, c.post(page, url.Values{"allowed_cidrs": {"198.51.100.0/24\n192.0.2.1"}}), http.StatusSeeOther)
	if got, _ := st.TokenByID(ctx, tok.ID); !slices.Equal(got.CIDRList(), []string{"198.51.100.0/24", "192.0.2.1/32"}) {
		t.Fatalf("saved %v", got.CIDRList())
	}

	// Without the CSRF token nothing changes.
	c.get(page)
	expectStatus(t, c.post(page, url.Values{"_csrf": {""}, "allowed_cidrs": {""}}), http.StatusForbidden)
	if got, _ := st.TokenByID(ctx, tok.ID); got.AllowedCIDRs == nil {
		t.Fatal("a post without the CSRF token cleared the list")
	}

	// The proposal, from uses inside the list, applied.
	for _, ip := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.3", "192.0.2.1"} {
		a, err := st.AuthenticateTokenFrom(ctx, secret, ip)
		if err != nil {
			t.Fatal(err)
		}
		st.RecordTokenUse(a, ip, "test")
	}
	c.get(page)
	if !strings.Contains(c.lastBody, "Apply 2 ranges") || !strings.Contains(c.lastBody, `name="cidr" value="198.51.100.0/24"`) {
		t.Fatalf("proposal: %s", snippet(c.lastBody))
	}
	expectStatus(t, c.post(page, url.Values{"cidr": {"192.0.2.1/32", "198.51.100.0/24"}}), http.StatusSeeOther)
	if got, _ := st.TokenByID(ctx, tok.ID); !slices.Equal(got.CIDRList(), []string{"192.0.2.1/32", "198.51.100.0/24"}) {
		t.Fatalf("applied %v", got.CIDRList())
	}
	// An empty list is any address.
	c.get(page)
	expectStatus(t, c.post(page, url.Values{"allowed_cidrs": {"  "}}), http.StatusSeeOther)
	if got, _ := st.TokenByID(ctx, tok.ID); got.AllowedCIDRs != nil {
		t.Fatalf("cleared to %v", *got.AllowedCIDRs)
	}
	events, err := st.ListAudit(ctx, models.AuditQuery{Actions: []string{"token.allowlist"}})
	if err != nil || len(events.Events) != 3 {
		t.Fatalf("%d token.allowlist events (%v); want 3 (typed, applied, cleared)", len(events.Events), err)
	}
	if e := events.Events[0]; e.ActorID == nil || *e.ActorID != ada.ID {
		t.Errorf("the change is not Ada's: %+v", e)
	}
	expectStatus(t, c.get("/tokens/999999/addresses"), http.StatusNotFound)
}
