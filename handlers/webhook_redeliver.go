package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
)

// WebhookRedeliver puts one delivery back into the outbox, due now, with
// the same webhook-id.
func (h *Handler) WebhookRedeliver(c *fiber.Ctx) error {
	e, err := h.loadWebhook(c)
	if err != nil {
		return err
	}
	deliveryID, err := paramID(c, "delivery")
	if err != nil {
		return err
	}
	err = h.Store.RedeliverWebhook(c.UserContext(), h.actor(c), e.ID, deliveryID)
	if errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if msg := models.RuleMessage(err); msg != "" {
		h.Sessions.AddFlash(c, "error", msg)
		return c.Redirect(webhookPath(e.ID)+"#deliveries", fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	h.Sessions.AddFlash(c, "success", "Delivery queued again; it is sent with the same webhook-id.")
	return c.Redirect(webhookPath(e.ID)+"#deliveries", fiber.StatusSeeOther)
}
