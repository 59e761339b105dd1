package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

// WebhookRotateConfirm asks before rotating an endpoint's signing secret.
func (h *Handler) WebhookRotateConfirm(c *fiber.Ctx) error { return h.webhookConfirm(c, "rotate") }

// WebhookDeleteConfirm asks before deleting an endpoint.
func (h *Handler) WebhookDeleteConfirm(c *fiber.Ctx) error { return h.webhookConfirm(c, "delete") }

// webhookConfirm renders the confirmation of action: a page, which app.js
// shows as a dialog over the endpoint's page.
func (h *Handler) webhookConfirm(c *fiber.Ctx, action string) error {
	e, err := h.loadWebhook(c)
	if err != nil {
		return err
	}
	title := "Rotate the secret of " + views.WebhookURLLabel(e.URL)
	if action == "delete" {
		title = "Delete " + views.WebhookURLLabel(e.URL)
	}
	p, err := h.page(c, title, "settings")
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.WebhookConfirm(p, views.WebhookConfirmData{
		Action: action, Hook: webhookRow(e, models.WebhookHealth{}),
	}))
}
