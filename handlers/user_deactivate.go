package handlers

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

// renderDeactivate shows the confirmation; a rule that will refuse the
// deactivation is said up front, with its way forward.
func (h *Handler) renderDeactivate(c *fiber.Ctx, status int, u *models.User, msg string) error {
	refusal, err := h.Store.DeactivateRefusal(c.UserContext(), u)
	if err != nil {
		return err
	}
	d := views.DeactivateData{ID: u.ID, Name: u.Name, Handle: u.Handle(), Kind: string(u.Kind), Error: msg}
	if refusal != nil {
		d.Refusal, d.RuleCode, d.ActiveTokens = refusal.Message, refusal.Code, refusal.Count
		if msg == refusal.Message {
			d.Error = "" // said once, in the refusal
		}
	}
	p, err := h.page(c, "Deactivate "+u.Name, "users")
	if err != nil {
		return err
	}
	return render(c, status, views.Deactivate(p, d))
}

func (h *Handler) loadUser(c *fiber.Ctx) (*models.User, error) {
	id, err := paramID(c, "id")
	if err != nil {
		return nil, err
	}
	u, err := h.Store.UserByID(c.UserContext(), id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fiber.ErrNotFound
	}
	return u, err
}

// UserDeactivateConfirm asks for the typed confirmation.
func (h *Handler) UserDeactivateConfirm(c *fiber.Ctx) error {
	u, err := h.loadUser(c)
	if err != nil {
		return err
	}
	if u.Status == models.StatusDeactivated {
		h.Sessions.AddFlash(c, "info", u.Name+" is already deactivated.")
		return c.Redirect(userPath(u.ID), fiber.StatusSeeOther)
	}
	return h.renderDeactivate(c, fiber.StatusOK, u, "")
}

// UserDeactivate deactivates the account once the admin typed "deactivate".
func (h *Handler) UserDeactivate(c *fiber.Ctx) error {
	u, err := h.loadUser(c)
	if err != nil {
		return err
	}
	if strings.ToLower(strings.TrimSpace(BodyValue(c, "confirm"))) != "deactivate" {
		return h.renderDeactivate(c, fiber.StatusUnprocessableEntity, u, "Type deactivate in the box to confirm.")
	}
	_, err = h.Store.DeactivateUser(c.UserContext(), h.actor(c), u.ID)
	if msg := models.RuleMessage(err); msg != "" {
		return h.renderDeactivate(c, fiber.StatusConflict, u, msg)
	}
	if err != nil {
		return err
	}
	if u.ID == actorID(c) {
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	h.Sessions.AddFlash(c, "success", u.Name+" was deactivated.")
	return c.Redirect(userPath(u.ID), fiber.StatusSeeOther)
}

// UserReactivate restores a deactivated account with its role and teams.
func (h *Handler) UserReactivate(c *fiber.Ctx) error {
	u, err := h.loadUser(c)
	if err != nil {
		return err
	}
	if _, err := h.Store.ReactivateUser(c.UserContext(), h.actor(c), u.ID); err != nil {
		return err
	}
	h.Sessions.AddFlash(c, "success", u.Name+" was restored with its role and teams.")
	return c.Redirect(userPath(u.ID), fiber.StatusSeeOther)
}
