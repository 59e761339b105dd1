package handlers

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
)

// Delivery log page sizes of GET /webhooks/{id}/deliveries.
const (
	defaultDeliveryLimit = 20
	maxDeliveryLimit     = 100
)

// APIWebhook is a webhook endpoint in the webhooks endpoints. Its signing
// secret is never part of it: only creating and rotating return one.
type APIWebhook struct {
	ID          int64  `json:"id"`
	URL         string `json:"url"`
	Description string `json:"description"`
	// Events is the subscribed event types; empty means all.
	Events  []string `json:"events"`
	Enabled bool     `json:"enabled"`
	// DisabledReason says why Warden disabled the endpoint after days of
	// failures; "" when it did not.
	DisabledReason      string     `json:"disabled_reason"`
	FailingSince        *time.Time `json:"failing_since"`
	PreviousSecretUntil *time.Time `json:"previous_secret_until"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
}

// APIWebhookWithSecret is an endpoint with its signing secret, answered
// once: when it is created and when its secret is rotated.
type APIWebhookWithSecret struct {
	APIWebhook
	Secret string `json:"secret"`
}

func apiWebhook(e *models.WebhookEndpoint) APIWebhook {
	events := e.EventTypes()
	if events == nil {
		events = []string{}
	}
	return APIWebhook{
		ID: e.ID, URL: e.URL, Description: e.Description, Events: events, Enabled: e.Enabled,
		DisabledReason: e.DisabledReason, FailingSince: utcPtr(e.FailingSince), PreviousSecretUntil: utcPtr(e.PreviousSecretUntil),
		CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC(),
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// APIWebhookList is the body of GET /webhooks.
type APIWebhookList struct {
	Items []APIWebhook `json:"items"`
}

// APIWebhookInput is the body of POST /webhooks and PATCH /webhooks/{id}.
// On PATCH an absent (or null) field keeps its value; on POST events
// default to all and enabled to true.
type APIWebhookInput struct {
	URL         *string   `json:"url"`
	Description *string   `json:"description"`
	Events      *[]string `json:"events"`
	Enabled     *bool     `json:"enabled"`
}

// merge applies the fields sent onto in.
func (b APIWebhookInput) merge(in *models.WebhookEndpointInput) {
	if b.URL != nil {
		in.URL = *b.URL
	}
	if b.Description != nil {
		in.Description = *b.Description
	}
	if b.Events != nil {
		in.Events = *b.Events
	}
	if b.Enabled != nil {
		in.Enabled = *b.Enabled
	}
}

// APIWebhooksList answers GET /webhooks: every endpoint, oldest first.
func (h *Handler) APIWebhooksList(c *fiber.Ctx) error {
	rows, err := h.Store.WebhookEndpoints(c.UserContext())
	if err != nil {
		return err
	}
	items := make([]APIWebhook, len(rows))
	for i := range rows {
		items[i] = apiWebhook(&rows[i])
	}
	return c.JSON(APIWebhookList{Items: items})
}

// APIWebhookCreate adds an endpoint and answers it with its signing
// secret, the one time Warden shows it.
func (h *Handler) APIWebhookCreate(c *fiber.Ctx) error {
	var body APIWebhookInput
	if err := decodeJSON(c, &body); err != nil {
		return sent(err)
	}
	in := models.WebhookEndpointInput{Enabled: true}
	body.merge(&in)
	e, secret, err := h.Store.CreateWebhookEndpoint(c.UserContext(), h.actor(c), in)
	if err != nil {
		return storeProblem(c, err)
	}
	c.Location("/api/v1/webhooks/" + itoa64(e.ID))
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(APIWebhookWithSecret{APIWebhook: apiWebhook(e), Secret: secret})
}

// APIWebhookGet answers GET /webhooks/{id}.
func (h *Handler) APIWebhookGet(c *fiber.Ctx) error {
	id, err := apiID(c, "id")
	if err != nil {
		return sent(err)
	}
	e, err := h.Store.WebhookEndpoint(c.UserContext(), id)
	if err != nil {
		return storeProblem(c, err)
	}
	return c.JSON(apiWebhook(e))
}

// APIWebhookPatch changes an endpoint's URL, description, events or
// enabled flag; the fields not sent keep their value.
func (h *Handler) APIWebhookPatch(c *fiber.Ctx) error {
	id, err := apiID(c, "id")
	if err != nil {
		return sent(err)
	}
	var body APIWebhookInput
	if err := decodeJSON(c, &body); err != nil {
		return sent(err)
	}
	ctx := c.UserContext()
	cur, err := h.Store.WebhookEndpoint(ctx, id)
	if err != nil {
		return storeProblem(c, err)
	}
	in := models.WebhookEndpointInput{URL: cur.URL, Description: cur.Description, Events: cur.EventTypes(), Enabled: cur.Enabled}
	body.merge(&in)
	e, err := h.Store.UpdateWebhookEndpoint(ctx, h.actor(c), id, in)
	if err != nil {
		return storeProblem(c, err)
	}
	return c.JSON(apiWebhook(e))
}

// APIWebhookDelete removes an endpoint and its deliveries, sent or not.
func (h *Handler) APIWebhookDelete(c *fiber.Ctx) error {
	id, err := apiID(c, "id")
	if err != nil {
		return sent(err)
	}
	if err := h.Store.DeleteWebhookEndpoint(c.UserContext(), h.actor(c), id); err != nil {
		return storeProblem(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// APIWebhookRotateSecret gives an endpoint a new signing secret, answered
// this once; the one it replaces keeps signing for 24 hours.
func (h *Handler) APIWebhookRotateSecret(c *fiber.Ctx) error {
	id, err := apiID(c, "id")
	if err != nil {
		return sent(err)
	}
	ctx := c.UserContext()
	secret, err := h.Store.RotateWebhookSecret(ctx, h.actor(c), id)
	if err != nil {
		return storeProblem(c, err)
	}
	e, err := h.Store.WebhookEndpoint(ctx, id)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(APIWebhookWithSecret{APIWebhook: apiWebhook(e), Secret: secret})
}

// APIWebhookTestQueued is the body of a 202 from POST /webhooks/{id}/test.
type APIWebhookTestQueued struct {
	// WebhookID is the webhook-id header the test event is sent with.
	WebhookID string `json:"webhook_id"`
	EventType string `json:"event_type"`
}

// APIWebhookTest queues a webhook.test event for one endpoint; the worker
// sends it like any other, so the answer is 202.
func (h *Handler) APIWebhookTest(c *fiber.Ctx) error {
	id, err := apiID(c, "id")
	if err != nil {
		return sent(err)
	}
	msgID, err := h.Store.SendWebhookTest(c.UserContext(), h.actor(c), id)
	if err != nil {
		return storeProblem(c, err)
	}
	return c.Status(fiber.StatusAccepted).JSON(APIWebhookTestQueued{WebhookID: msgID, EventType: models.EventWebhookTest})
}

// APIWebhookDelivery is one event on its way to an endpoint, or sent.
type APIWebhookDelivery struct {
	ID        int64  `json:"id"`
	WebhookID string `json:"webhook_id"`
	EventType string `json:"event_type"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	// LastStatusCode is the last response's status; null when no response
	// came (or no attempt yet).
	LastStatusCode  *int       `json:"last_status_code"`
	LastError       string     `json:"last_error"`
	DurationMs      *int64     `json:"duration_ms"`
	ResponseExcerpt string     `json:"response_excerpt"`
	CreatedAt       time.Time  `json:"created_at"`
	NextAttemptAt   *time.Time `json:"next_attempt_at"`
	DeliveredAt     *time.Time `json:"delivered_at"`
}

// APIWebhookDeliveryList is the body of GET /webhooks/{id}/deliveries.
type APIWebhookDeliveryList struct {
	Items []APIWebhookDelivery `json:"items"`
}

// APIWebhookDeliveries answers an endpoint's most recent deliveries, newest
// first; ?limit= sets how many (20 unless given, at most 100).
func (h *Handler) APIWebhookDeliveries(c *fiber.Ctx) error {
	id, err := apiID(c, "id")
	if err != nil {
		return sent(err)
	}
	limit := defaultDeliveryLimit
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxDeliveryLimit {
			return queryProblem(c, map[string]string{"limit": "Use a whole number from 1 to " + strconv.Itoa(maxDeliveryLimit) + "."})
		}
		limit = n
	}
	ctx := c.UserContext()
	if _, err := h.Store.WebhookEndpoint(ctx, id); err != nil {
		return storeProblem(c, err)
	}
	rows, err := h.Store.WebhookDeliveries(ctx, id, limit)
	if err != nil {
		return err
	}
	items := make([]APIWebhookDelivery, len(rows))
	for i, d := range rows {
		items[i] = APIWebhookDelivery{
			ID: d.ID, WebhookID: d.MsgID, EventType: d.EventType, Status: d.Status, Attempts: d.Attempts,
			LastStatusCode: d.LastStatusCode, LastError: d.LastError, DurationMs: d.LastDurationMs,
			ResponseExcerpt: d.ResponseExcerpt, CreatedAt: d.CreatedAt.UTC(), DeliveredAt: utcPtr(d.DeliveredAt),
		}
		if d.Status == models.DeliveryPending {
			items[i].NextAttemptAt = utcPtr(&d.NextAttemptAt)
		}
	}
	return c.JSON(APIWebhookDeliveryList{Items: items})
}
