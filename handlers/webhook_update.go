package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
)

// WebhookUpdate saves the edit form; bad input re-renders it, kept, with
// the store's message on each field.
func (h *Handler) WebhookUpdate(c *fiber.Ctx) error {
	e, err := h.loadWebhook(c)
	if err != nil {
		return err
	}
	form := webhookForm(c)
	updated, err := h.Store.UpdateWebhookEndpoint(c.UserContext(), h.actor(c), e.ID, webhookInput(form))
	if fields := models.FieldErrors(err); fields != nil {
		form.Errors = fields
		return h.renderWebhook(c, fiber.StatusUnprocessableEntity, e, form, nil)
	}
	if err != nil {
		return err
	}
	h.Sessions.AddFlash(c, "success", "Webhook endpoint saved.")
	return c.Redirect(webhookPath(updated.ID), fiber.StatusSeeOther)
}
