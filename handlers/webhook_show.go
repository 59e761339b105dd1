package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

// WebhookShow renders an endpoint's page: health, actions, the delivery
// log and the edit form.
func (h *Handler) WebhookShow(c *fiber.Ctx) error {
	e, err := h.loadWebhook(c)
	if err != nil {
		return err
	}
	return h.renderWebhook(c, fiber.StatusOK, e, webhookFormOf(e), nil)
}

// renderWebhook renders endpoint e's page with form as the edit form's
// input and, when secret is set, the secret shown once (never cached).
func (h *Handler) renderWebhook(c *fiber.Ctx, status int, e *models.WebhookEndpoint, form views.WebhookForm, secret *views.WebhookSecret) error {
	ctx := c.UserContext()
	rows, err := h.webhookRows(ctx)
	if err != nil {
		return err
	}
	d := views.WebhookData{Form: form, Secret: secret, Now: h.Store.Now()}
	d.Hook = webhookRow(e, models.WebhookHealth{})
	for _, r := range rows {
		if r.ID == e.ID {
			d.Hook = r
		}
	}
	// This endpoint's own page says it at length instead.
	for _, w := range disabledWebhooks(rows) {
		if w.ID != e.ID {
			d.Disabled = append(d.Disabled, w)
		}
	}
	deliveries, err := h.Store.WebhookDeliveries(ctx, e.ID, webhookLogSize)
	if err != nil {
		return err
	}
	for _, x := range deliveries {
		r := views.WebhookDeliveryRow{
			ID: x.ID, MsgID: x.MsgID, EventType: x.EventType, Status: x.Status, Attempts: x.Attempts,
			StatusCode: x.LastStatusCode, DurationMs: x.LastDurationMs, LastError: x.LastError, Excerpt: x.ResponseExcerpt,
			CreatedAt: x.CreatedAt, DeliveredAt: x.DeliveredAt,
		}
		if x.Status == models.DeliveryPending {
			r.NextAttemptAt = &x.NextAttemptAt
		}
		d.Deliveries = append(d.Deliveries, r)
	}
	title := "Webhook " + views.WebhookURLLabel(e.URL)
	if secret != nil {
		c.Set(fiber.HeaderCacheControl, "no-store")
		title = "Copy the signing secret of " + views.WebhookURLLabel(e.URL)
	}
	p, err := h.page(c, title, "settings")
	if err != nil {
		return err
	}
	return render(c, status, views.Webhook(p, d))
}
