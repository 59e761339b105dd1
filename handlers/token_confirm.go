package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

// TokenRotateConfirm asks before rotating, with the old token's overlap.
func (h *Handler) TokenRotateConfirm(c *fiber.Ctx) error { return h.tokenConfirm(c, "rotate") }

// TokenRevokeConfirm asks before revoking.
func (h *Handler) TokenRevokeConfirm(c *fiber.Ctx) error { return h.tokenConfirm(c, "revoke") }

// TokenRestoreConfirm asks before restoring, or says why it will be refused.
func (h *Handler) TokenRestoreConfirm(c *fiber.Ctx) error { return h.tokenConfirm(c, "restore") }

// TokenDeleteConfirm asks before deleting for good.
func (h *Handler) TokenDeleteConfirm(c *fiber.Ctx) error { return h.tokenConfirm(c, "delete") }

// tokenActionNotice says why action does not apply to a token in this
// state, or "" when it does; restore's refusals are shown on its page.
func tokenActionNotice(action string, state models.TokenState, replaced bool) string {
	switch {
	case action == "rotate" && (state != models.TokenActive || replaced):
		return "Only an active token that has not been replaced can be rotated."
	case action == "revoke" && state != models.TokenActive:
		return "This token no longer works: there is nothing to revoke."
	case action == "delete" && state == models.TokenActive:
		return "An active token cannot be deleted. Revoke it first."
	}
	return ""
}

// tokenConfirm renders the confirmation of action on the token in the URL:
// a page, which app.js shows as a dialog over the user's page.
func (h *Handler) tokenConfirm(c *fiber.Ctx, action string) error {
	t, err := h.loadToken(c)
	if err != nil {
		return err
	}
	u, err := h.Store.UserByID(c.UserContext(), t.UserID)
	if err != nil {
		return err
	}
	now := h.Store.Now()
	state := t.State(now)
	if notice := tokenActionNotice(action, state, t.Replaced(now)); notice != "" {
		h.Sessions.AddFlash(c, "info", "Token “"+t.Name+"”: "+notice)
		return c.Redirect(userPath(u.ID), fiber.StatusSeeOther)
	}
	d := views.TokenConfirmData{
		Action: action, ID: t.ID, Name: t.Name, Hint: t.Hint, State: string(state), ExpiresAt: t.ExpiresAt,
		UserID: u.ID, UserName: u.Name, Now: now, Next: tokenNext(c.Query("next")),
	}
	if t.Replaced(now) {
		d.State = "replaced"
	}
	if action == "restore" {
		refusal, err := h.Store.RestoreRefusal(c.UserContext(), t)
		if err != nil {
			return err
		}
		if refusal != nil {
			d.Refusal = refusal.Message
		}
	}
	p, err := h.page(c, tokenConfirmTitle[action]+" token "+t.Name, "users")
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.TokenConfirm(p, d))
}

// tokenConfirmTitle names each confirmation page.
var tokenConfirmTitle = map[string]string{"rotate": "Rotate", "revoke": "Revoke", "restore": "Restore", "delete": "Delete"}

// TokensRevokeAllConfirm asks before revoking every working token of a
// service user, with the count and the first names.
func (h *Handler) TokensRevokeAllConfirm(c *fiber.Ctx) error {
	u, err := h.loadUser(c)
	if err != nil {
		return err
	}
	rows, err := h.tokenRows(c, u.ID)
	if err != nil {
		return err
	}
	d := views.RevokeAllData{UserID: u.ID, UserName: u.Name}
	for _, r := range rows {
		if r.State == "active" || r.State == "replaced" {
			if d.Count < 10 {
				d.Names = append(d.Names, r.Name)
			}
			d.Count++
		}
	}
	p, err := h.page(c, "Revoke all tokens of "+u.Name, "users")
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.RevokeAllConfirm(p, d))
}

// tokenNext is where a token action returns to when it was opened from a
// list: a local path only (SafeNext), else "" for the user's page.
func tokenNext(next string) string {
	if next == "" {
		return ""
	}
	if next = SafeNext(next); next == "/" {
		return ""
	}
	return next
}
