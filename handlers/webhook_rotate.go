package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/views"
)

// WebhookRotate gives an endpoint a new signing secret and answers with
// its page, the new secret on top, once (no-store; see WebhookCreate).
// The old secret keeps signing for 24 hours.
func (h *Handler) WebhookRotate(c *fiber.Ctx) error {
	e, err := h.loadWebhook(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	secret, err := h.Store.RotateWebhookSecret(ctx, h.actor(c), e.ID)
	if err != nil {
		return err
	}
	if e, err = h.Store.WebhookEndpoint(ctx, e.ID); err != nil {
		return err
	}
	return h.renderWebhook(c, fiber.StatusOK, e, webhookFormOf(e),
		&views.WebhookSecret{Secret: secret, PreviousUntil: e.PreviousSecretUntil})
}
