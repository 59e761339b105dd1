package handlers

import (
	"context"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

// webhookLogSize is how many recent deliveries an endpoint's page shows.
const webhookLogSize = 50

// webhookForm reads the endpoint form from the POST body: url,
// description, the repeated events checkboxes (none: all) and enabled.
func webhookForm(c *fiber.Ctx) views.WebhookForm {
	f := views.WebhookForm{
		URL: strings.TrimSpace(BodyValue(c, "url")), Description: BodyValue(c, "description"),
		Enabled: BodyValue(c, "enabled") == "true",
	}
	for _, v := range c.Request().PostArgs().PeekMulti("events") {
		f.Events = append(f.Events, string(v))
	}
	return f
}

func webhookInput(f views.WebhookForm) models.WebhookEndpointInput {
	return models.WebhookEndpointInput{URL: f.URL, Description: f.Description, Events: f.Events, Enabled: f.Enabled}
}

// webhookFormOf is the form filled with an endpoint's current values.
func webhookFormOf(e *models.WebhookEndpoint) views.WebhookForm {
	return views.WebhookForm{URL: e.URL, Description: e.Description, Events: e.EventTypes(), Enabled: e.Enabled}
}

// webhookRow is an endpoint with its health, for the views.
func webhookRow(e *models.WebhookEndpoint, h models.WebhookHealth) views.WebhookRow {
	return views.WebhookRow{
		ID: e.ID, URL: e.URL, Description: e.Description, Events: e.EventTypes(), Enabled: e.Enabled,
		DisabledReason: e.DisabledReason, FailingSince: e.FailingSince, LastSuccess: h.LastSuccess,
		Failures: h.FailuresSinceSuccess, Pending: h.Pending, PreviousSecretUntil: e.PreviousSecretUntil, CreatedAt: e.CreatedAt,
	}
}

// webhookRows reads every endpoint with its health.
func (h *Handler) webhookRows(ctx context.Context) ([]views.WebhookRow, error) {
	list, err := h.Store.WebhookEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	health, err := h.Store.WebhookHealths(ctx)
	if err != nil {
		return nil, err
	}
	rows := make([]views.WebhookRow, len(list))
	for i := range list {
		rows[i] = webhookRow(&list[i], health[list[i].ID])
	}
	return rows, nil
}

// disabledWebhooks is the banner's list, taken from rows already read: the
// settings pages read every endpoint anyway.
func disabledWebhooks(rows []views.WebhookRow) []views.DisabledWebhook {
	var out []views.DisabledWebhook
	for _, r := range rows {
		if !r.Enabled && r.DisabledReason != "" {
			out = append(out, views.DisabledWebhook{ID: r.ID, URL: r.URL})
		}
	}
	return out
}

// webhookBanner is the banner's list for a page that reads no endpoint
// (the overview): one query on a table of a few rows.
func (h *Handler) webhookBanner(ctx context.Context) ([]views.DisabledWebhook, error) {
	list, err := h.Store.AutoDisabledWebhookEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]views.DisabledWebhook, len(list))
	for i, e := range list {
		out[i] = views.DisabledWebhook{ID: e.ID, URL: e.URL}
	}
	return out, nil
}

// loadWebhook reads the endpoint in the URL; an unknown one is a 404.
func (h *Handler) loadWebhook(c *fiber.Ctx) (*models.WebhookEndpoint, error) {
	id, err := paramID(c, "id")
	if err != nil {
		return nil, err
	}
	e, err := h.Store.WebhookEndpoint(c.UserContext(), id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fiber.ErrNotFound
	}
	return e, err
}

// webhookPath is an endpoint's page.
func webhookPath(id int64) string { return views.WebhookURL(id) }
