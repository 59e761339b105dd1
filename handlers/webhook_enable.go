package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
)

// WebhookEnable turns an endpoint on; its failures are forgotten and what
// waits in the outbox is sent.
func (h *Handler) WebhookEnable(c *fiber.Ctx) error { return h.webhookSetEnabled(c, true) }

// WebhookDisable turns an endpoint off; nothing is sent to it meanwhile.
func (h *Handler) WebhookDisable(c *fiber.Ctx) error { return h.webhookSetEnabled(c, false) }

func (h *Handler) webhookSetEnabled(c *fiber.Ctx, on bool) error {
	e, err := h.loadWebhook(c)
	if err != nil {
		return err
	}
	in := models.WebhookEndpointInput{URL: e.URL, Description: e.Description, Events: e.EventTypes(), Enabled: on}
	if _, err := h.Store.UpdateWebhookEndpoint(c.UserContext(), h.actor(c), e.ID, in); err != nil {
		return err
	}
	msg := "Webhook endpoint disabled: nothing is sent to it until it is enabled."
	if on {
		msg = "Webhook endpoint enabled."
	}
	h.Sessions.AddFlash(c, "success", msg)
	return c.Redirect(webhookPath(e.ID), fiber.StatusSeeOther)
}
