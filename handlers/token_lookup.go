package handlers

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

// TokenLookupShow renders the paste-a-token form.
func (h *Handler) TokenLookupShow(c *fiber.Ctx) error {
	p, err := h.page(c, "Token lookup", "lookup")
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.TokenLookup(p, views.TokenLookupData{}))
}

// maxLookupEcho is the longest input the lookup form shows again: tokens
// are far shorter, and a pasted page of text need not come back.
const maxLookupEcho = 256

// TokenLookupSubmit identifies a pasted token. It is a POST so the token
// never travels in a URL, and the page is not cached.
func (h *Handler) TokenLookupSubmit(c *fiber.Ctx) error {
	secret := strings.TrimSpace(BodyValue(c, "token"))
	d := views.TokenLookupData{Searched: true, Now: h.Store.Now()}
	tok, u, err := h.Store.LookupToken(c.UserContext(), h.actor(c), secret)
	if err != nil && len(secret) <= maxLookupEcho {
		// Shown again so the admin can see what went wrong with it; a
		// token that was found needs no second look.
		d.Input = secret
	}
	switch {
	case errors.Is(err, models.ErrTokenMalformed):
		d.Problem = "This is not a Warden token: its shape or checksum is wrong (a typo, a truncated copy, or another system's token)."
	case errors.Is(err, models.ErrNotFound):
		d.Problem = "The format is valid, but this Warden did not issue it, or the token was deleted."
	case err != nil:
		return err
	default:
		d.Found = true
		rows, err := h.tokenRows(c, u.ID)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.ID == tok.ID {
				d.Token = r
			}
		}
		d.UserID, d.UserName, d.Handle, d.UserState = u.ID, u.Name, u.Handle(), string(u.Status)
		if tok.LastUsedUA != nil {
			d.LastUA = *tok.LastUsedUA
		}
		page, err := h.Store.ListAudit(c.UserContext(), models.AuditQuery{TargetKind: "token", TargetID: tok.ID, Limit: 10})
		if err != nil {
			return err
		}
		if d.Events, err = h.auditRows(c.UserContext(), page.Events); err != nil {
			return err
		}
	}
	p, err := h.page(c, "Token lookup", "lookup")
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return render(c, fiber.StatusOK, views.TokenLookup(p, d))
}
