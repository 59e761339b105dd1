package handlers

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

// SettingsInactivitySave stores the inactivity auto-revoke setting: off, or
// revoke tokens unused for 30, 60, 90, 180 or 365 days. Another value
// re-renders the settings page with a message on the field.
func (h *Handler) SettingsInactivitySave(c *fiber.Ctx) error {
	ctx := c.UserContext()
	raw := strings.TrimSpace(BodyValue(c, "inactive_days"))
	days, err := strconv.Atoi(raw)
	if err == nil {
		err = h.Store.SetInactivityDays(ctx, h.actor(c), days)
	} else {
		err = models.NewValidationError("inactive_days", "Choose Off, or 30, 60, 90, 180 or 365 days.")
	}
	if fields := models.FieldErrors(err); fields != nil {
		p, err := h.Store.TokenPolicy(ctx)
		if err != nil {
			return err
		}
		if raw == "" {
			raw = "-" // keep the invalid choice: the page must not show the stored one as if saved
		}
		return h.renderSettings(c, fiber.StatusUnprocessableEntity, views.SettingsData{
			DefaultDays: strconv.Itoa(p.DefaultDays), MaxDays: strconv.Itoa(p.MaxDays), AllowNever: p.AllowNever,
			InactiveDays: raw, Errors: fields,
		})
	}
	if err != nil {
		return err
	}
	msg := "Inactivity auto-revoke is off."
	if days > 0 {
		msg = "Tokens unused for " + strconv.Itoa(days) + " days will be revoked, each after a warning 7 days before."
	}
	h.Sessions.AddFlash(c, "success", msg)
	return c.Redirect("/settings", fiber.StatusSeeOther)
}
