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

// TestTokenRowActionsConfirmFirst: a token row's menu links to a
// confirmation naming the token and its owner; nothing changes until its
// form is posted.
func TestTokenRowActionsConfirmFirst(t *testing.T) {
	h, c, _ := signedIn(t)
	svc := createService(t, c, url.Values{"name": {"Nightly ETL"}})
	generate(t, c, svc, url.Values{"name": {"ci-30"}})
	tokens, _ := h.srv.Store().TokensOf(context.Background(), svc)
	tok := tokens[0]
	base := fmt.Sprintf("/tokens/%d", tok.ID)

	c.get(fmt.Sprintf("/users/%d", svc))
	for _, item := range []string{"/rotate", "/revoke"} {
		if !strings.Contains(c.lastBody, `href="`+base+item+`" data-dialog`) {
			t.Errorf("the active token's menu lacks %s", item)
		}
	}
	if strings.Contains(c.lastBody, `action="`+base+`/revoke"`) || strings.Contains(c.lastBody, `name="overlap"`) {
		t.Error("the user page still acts on one click: a revoke form or an overlap select in the row")
	}

	// The confirmations name the token and its owner, and change nothing.
	for action, want := range map[string]string{
		"revoke": "Revoke the token “ci-30” of Nightly ETL?",
		"rotate": "Rotate the token “ci-30” of Nightly ETL?",
	} {
		expectStatus(t, c.get(base+"/"+action), http.StatusOK)
		if !strings.Contains(c.lastBody, want) || !strings.Contains(c.lastBody, `action="`+base+"/"+action+`"`) {
			t.Errorf("%s confirmation: %s", action, snippet(c.lastBody))
		}
	}
	if n, _ := h.srv.Store().ActiveTokenCount(context.Background(), svc); n != 1 {
		t.Fatalf("opening confirmations changed the tokens: %d active", n)
	}
	// Delete does not apply to an active token: back to the user with a notice.
	expectRedirect(t, c.get(base+"/delete"), fmt.Sprintf("/users/%d", svc))

	// Confirmed, it revokes; then Restore… and Delete… are offered.
	expectRedirect(t, c.post(base+"/revoke", nil), fmt.Sprintf("/users/%d", svc))
	c.get(fmt.Sprintf("/users/%d", svc))
	for _, item := range []string{"/restore", "/delete"} {
		if !strings.Contains(c.lastBody, `href="`+base+item+`"`) {
			t.Errorf("the revoked token's menu lacks %s", item)
		}
	}
	expectRedirect(t, c.get(base+"/revoke"), fmt.Sprintf("/users/%d", svc))
	expectStatus(t, c.get(base+"/delete"), http.StatusOK)
	if !strings.Contains(c.lastBody, "Delete the token “ci-30” of Nightly ETL?") {
		t.Errorf("delete confirmation: %s", snippet(c.lastBody))
	}
	expectStatus(t, c.get(base+"/restore"), http.StatusOK)
	if !strings.Contains(c.lastBody, "Restore the token “ci-30” of Nightly ETL?") || strings.Contains(c.lastBody, "aria-disabled") {
		t.Errorf("restore confirmation: %s", snippet(c.lastBody))
	}
}

// TestRevokeAllConfirmsWithTheCount: "Revoke all N tokens" opens a
// confirmation with the count and the names before anything is revoked.
func TestRevokeAllConfirmsWithTheCount(t *testing.T) {
	h, c, _ := signedIn(t)
	svc := createService(t, c, url.Values{"name": {"Nightly ETL"}})
	for _, n := range []string{"ci-1", "ci-2", "ci-3"} {
		generate(t, c, svc, url.Values{"name": {n}})
	}
	path := fmt.Sprintf("/users/%d/tokens/revoke-all", svc)
	c.get(fmt.Sprintf("/users/%d/deactivate", svc))
	if !strings.Contains(c.lastBody, `href="`+path+`"`) || strings.Contains(c.lastBody, `action="`+path+`"`) {
		t.Fatalf("the deactivation page does not link to the revoke-all confirmation: %s", snippet(c.lastBody))
	}
	expectStatus(t, c.get(path), http.StatusOK)
	for _, want := range []string{"Revoke all 3 tokens of Nightly ETL?", "<li>ci-2</li>", ">Revoke 3 tokens<"} {
		if !strings.Contains(c.lastBody, want) {
			t.Errorf("revoke-all confirmation lacks %q: %s", want, snippet(c.lastBody))
		}
	}
	if n, _ := h.srv.Store().ActiveTokenCount(context.Background(), svc); n != 3 {
		t.Fatalf("the confirmation revoked tokens: %d active", n)
	}
	c.post(path, nil)
	if n, _ := h.srv.Store().ActiveTokenCount(context.Background(), svc); n != 0 {
		t.Fatalf("after confirming, %d tokens still work", n)
	}
}

// TestRefusalsUpFront: a page says when a rule will refuse its action,
// before any typing, with the button disabled; the server still refuses.
func TestRefusalsUpFront(t *testing.T) {
	h, c, admin := signedIn(t)
	ctx := context.Background()
	st := h.srv.Store()

	// Active tokens block a deactivation.
	svc := createService(t, c, url.Values{"name": {"Nightly ETL"}})
	generate(t, c, svc, url.Values{"name": {"ci-30"}})
	generate(t, c, svc, url.Values{"name": {"ci-31"}})
	path := fmt.Sprintf("/users/%d/deactivate", svc)
	expectStatus(t, c.get(path), http.StatusOK)
	for _, want := range []string{"Deactivation of Nightly ETL will be refused.", "Nightly ETL has 2 active tokens.", "Revoke all 2 tokens…", `id="confirm" name="confirm" type="text" autocomplete="off" disabled`} {
		if !strings.Contains(c.lastBody, want) {
			t.Errorf("deactivation page lacks %q", want)
		}
	}
	if !strings.Contains(c.lastBody, `aria-disabled="true" disabled`) {
		t.Error("the Deactivate button is not disabled")
	}
	expectStatus(t, c.post(path, url.Values{"confirm": {"deactivate"}}), http.StatusConflict)

	// Without them the confirmation is open.
	if _, err := st.RevokeAllTokens(ctx, models.AsUser(admin), svc); err != nil {
		t.Fatal(err)
	}
	c.get(path)
	if strings.Contains(c.lastBody, "will be refused") || strings.Contains(c.lastBody, "aria-disabled") {
		t.Errorf("a deactivation that will go through is shown as refused: %s", snippet(c.lastBody))
	}

	// The last active human Admin: deactivation and the role are locked.
	self := fmt.Sprintf("/users/%d", admin.ID)
	c.get(self + "/deactivate")
	if !strings.Contains(c.lastBody, "will be refused") || !strings.Contains(c.lastBody, "Make another person an administrator") {
		t.Errorf("the last admin's deactivation page does not say it will be refused: %s", snippet(c.lastBody))
	}
	c.get(self + "/edit")
	if !strings.Contains(c.lastBody, `value="member" aria-describedby="role-locked" disabled`) || !strings.Contains(c.lastBody, "Warden needs at least one active human administrator") {
		t.Errorf("the last admin's role can be changed on the form: %s", snippet(c.lastBody))
	}
	expectStatus(t, c.post(self+"/edit", url.Values{"role": {"member"}}), http.StatusConflict)

	// A token of a deactivated user cannot be restored: said on the page.
	generate(t, c, svc, url.Values{"name": {"ci-32"}})
	tokens, _ := st.TokensOf(ctx, svc)
	var tok int64
	for _, tk := range tokens {
		if tk.Name == "ci-32" {
			tok = tk.ID
		}
	}
	if _, err := st.RevokeToken(ctx, models.AsUser(admin), tok); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DeactivateUser(ctx, models.AsUser(admin), svc); err != nil {
		t.Fatal(err)
	}
	restore := fmt.Sprintf("/tokens/%d/restore", tok)
	expectStatus(t, c.get(restore), http.StatusOK)
	if !strings.Contains(c.lastBody, "The user is deactivated") || !strings.Contains(c.lastBody, `aria-disabled="true" disabled`) {
		t.Errorf("restoring a deactivated user's token is not refused up front: %s", snippet(c.lastBody))
	}
	c.post(restore, nil)
	if n, _ := st.ActiveTokenCount(ctx, svc); n != 0 {
		t.Error("the server restored a deactivated user's token")
	}
}

// TestInventoryRowActionsReturnToTheList: the inventory's rows have the
// same menu; a confirmation opened there returns to the list, and only to a
// local path.
func TestInventoryRowActionsReturnToTheList(t *testing.T) {
	h, c, _ := signedIn(t)
	svc := createService(t, c, url.Values{"name": {"Nightly ETL"}})
	generate(t, c, svc, url.Values{"name": {"ci-30"}})
	generate(t, c, svc, url.Values{"name": {"ci-31"}})
	tokens, _ := h.srv.Store().TokensOf(context.Background(), svc)
	id := map[string]int64{}
	for _, tk := range tokens {
		id[tk.Name] = tk.ID
	}
	list := "/tokens?sort=name"
	c.get(list)
	revoke := fmt.Sprintf("/tokens/%d/revoke?next=%s", id["ci-30"], url.QueryEscape(list))
	if !strings.Contains(c.lastBody, `href="`+strings.ReplaceAll(revoke, "&", "&amp;")+`"`) {
		t.Fatalf("the inventory row's menu lacks %s: %s", revoke, snippet(c.lastBody))
	}
	expectStatus(t, c.get(revoke), http.StatusOK)
	if !strings.Contains(c.lastBody, `name="next" value="`+strings.ReplaceAll(list, "&", "&amp;")+`"`) {
		t.Errorf("the confirmation does not carry the list back: %s", snippet(c.lastBody))
	}
	expectRedirect(t, c.post(fmt.Sprintf("/tokens/%d/revoke", id["ci-30"]), url.Values{"next": {list}}), list)
	// Anything but a local path returns to the user's page.
	expectRedirect(t, c.post(fmt.Sprintf("/tokens/%d/revoke", id["ci-31"]), url.Values{"next": {"//evil.example/x"}}), fmt.Sprintf("/users/%d", svc))
	if n, _ := h.srv.Store().ActiveTokenCount(context.Background(), svc); n != 0 {
		t.Errorf("%d tokens still work", n)
	}
}
