package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
)

// WebhookSendTest queues a webhook.test event for the endpoint; the worker
// sends it like any other, and the delivery log shows how it went.
func (h *Handler) WebhookSendTest(c *fiber.Ctx) error {
	e, err := h.loadWebhook(c)
	if err != nil {
		return err
	}
	msgID, err := h.Store.SendWebhookTest(c.UserContext(), h.actor(c), e.ID)
	if msg := models.RuleMessage(err); msg != "" {
		h.Sessions.AddFlash(c, "error", msg)
		return c.Redirect(webhookPath(e.ID), fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	h.Sessions.AddFlash(c, "success", "Test event queued as "+msgID+"; the delivery log below shows how it went.")
	return c.Redirect(webhookPath(e.ID)+"#deliveries", fiber.StatusSeeOther)
}
