package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

// WebhookCreate adds an endpoint from the form and answers with its page,
// the signing secret on top, once.
//
// Decision: the secret is shown in the answer to this POST, not through a
// token-style reveal (a sealed copy for this session behind a redirect):
// token_reveals refers to a token, so reusing it would take a migration.
// The answer is no-store, so no cache keeps it; a reload would ask to send
// the form again, which would add a second endpoint, not show this secret.
func (h *Handler) WebhookCreate(c *fiber.Ctx) error {
	form := webhookForm(c)
	ctx := c.UserContext()
	e, secret, err := h.Store.CreateWebhookEndpoint(ctx, h.actor(c), webhookInput(form))
	if fields := models.FieldErrors(err); fields != nil {
		form.Errors = fields
		return h.renderWebhooks(c, fiber.StatusUnprocessableEntity, form)
	}
	if err != nil {
		return err
	}
	return h.renderWebhook(c, fiber.StatusOK, e, webhookFormOf(e), &views.WebhookSecret{Secret: secret})
}
