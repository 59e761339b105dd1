package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
)

// WebhookDelete removes an endpoint and its deliveries.
func (h *Handler) WebhookDelete(c *fiber.Ctx) error {
	e, err := h.loadWebhook(c)
	if err != nil {
		return err
	}
	err = h.Store.DeleteWebhookEndpoint(c.UserContext(), h.actor(c), e.ID)
	if errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	h.Sessions.AddFlash(c, "success", "Webhook endpoint "+e.URL+" deleted.")
	return c.Redirect("/settings/webhooks", fiber.StatusSeeOther)
}
