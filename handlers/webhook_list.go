package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/views"
)

// WebhooksList renders /settings/webhooks: the endpoints with their
// health, and the form to add one (enabled, all events, to begin with).
func (h *Handler) WebhooksList(c *fiber.Ctx) error {
	return h.renderWebhooks(c, fiber.StatusOK, views.WebhookForm{Enabled: true})
}

// renderWebhooks renders the endpoints page with form as the add form's
// input.
func (h *Handler) renderWebhooks(c *fiber.Ctx, status int, form views.WebhookForm) error {
	rows, err := h.webhookRows(c.UserContext())
	if err != nil {
		return err
	}
	p, err := h.page(c, "Webhooks", "settings")
	if err != nil {
		return err
	}
	return render(c, status, views.Webhooks(p, views.WebhooksData{
		Rows: rows, Form: form, Disabled: disabledWebhooks(rows), Now: h.Store.Now(),
	}))
}
