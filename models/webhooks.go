package models

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Webhook event types: what happened to a token or a service user.
const (
	EventTokenExpiring          = "token.expiring"
	EventTokenExpired           = "token.expired"
	EventTokenCreated           = "token.created"
	EventTokenRevoked           = "token.revoked"
	EventTokenRestored          = "token.restored"
	EventTokenRotated           = "token.rotated"
	EventTokenDeleted           = "token.deleted"
	EventServiceUserCreated     = "service_user.created"
	EventServiceUserDeactivated = "service_user.deactivated"
	EventServiceUserReactivated = "service_user.reactivated"
	EventServiceUserRoleChanged = "service_user.role_changed"
	// EventTokenLeaked: a secret-scanning partner found the token in public
	// and Warden revoked it (token.revoked is sent too).
	EventTokenLeaked = "token.leaked"
	// EventTokenInactiveWarning: the token has not been used for a while
	// and the inactivity sweep will revoke it in 7 days unless it is used.
	EventTokenInactiveWarning = "token.inactive_warning"
	// EventWebhookTest is sent to one endpoint on request (SendWebhookTest);
	// no endpoint subscribes to it.
	EventWebhookTest = "webhook.test"
)

const (
	maxWebhookURLBytes            = 2000
	webhookSecretPrefix           = "whsec_"
	webhookSecretBytes            = 32
	webhookPreviousSecretKeepsFor = 24 * time.Hour
	webhookSecretKeyInfo          = "warden webhook secret v1"
	webhookEndpointColumns        = "id, url, description, events, enabled, previous_secret_until, failing_since, disabled_reason, created_at, updated_at"
)

// WebhookEventTypes lists every event an endpoint can subscribe to.
var WebhookEventTypes = []string{
	EventTokenExpiring, EventTokenExpired, EventTokenCreated, EventTokenRevoked, EventTokenRestored,
	EventTokenRotated, EventTokenDeleted, EventServiceUserCreated, EventServiceUserDeactivated,
	EventServiceUserReactivated, EventServiceUserRoleChanged, EventTokenLeaked, EventTokenInactiveWarning,
}

// ErrNoWebhookKey means the store was opened without WithWebhooks' key, so
// it can neither seal a new signing secret nor open one to sign.
var ErrNoWebhookKey = errors.New("models: webhooks need the server's key (WithWebhooks)")

// WebhookConfig is the server's webhook settings.
//
// Key seals the endpoints' signing secrets (AES-256-GCM, the endpoint's id
// as additional data). Decision: the secrets are stored encrypted, not in
// clear, because a signing secret lets whoever holds it forge Warden's
// notifications, and database copies (backups, replicas, a pg_dump handed
// to support) travel further than the server's configuration. The server
// derives Key with DeriveWebhookKey from its cookie encryption key, as the
// token reveals do. When that key is given by flag or environment the
// database never holds it; when Warden generated it and keeps it in the
// settings table, the encryption only keeps the secrets out of a partial
// copy (this table, an export). A changed key makes the secrets unreadable:
// each delivery then fails saying so, and rotating the secret mends it.
type WebhookConfig struct {
	Key []byte // 32 bytes
	// AllowHTTP accepts http:// endpoint URLs (--webhook-allow-http).
	AllowHTTP bool
	// AllowPrivate lets deliveries reach loopback, private, link-local and
	// metadata addresses (--webhook-allow-private); tests set it for their
	// 127.0.0.1 receiver.
	AllowPrivate bool
	// Timeout bounds one delivery attempt, connection to last byte; 10 s
	// unless set.
	Timeout time.Duration
	// Batch is how many deliveries a worker claims at a time; 16 unless set.
	Batch int
}

// WithWebhooks configures webhook endpoints and their delivery.
func WithWebhooks(c WebhookConfig) Option {
	return func(s *Store) { s.webhooks = c }
}

// SetWebhooks configures webhooks on an open store, for a server whose key
// is read from the database it opens (the cookie key Warden generated).
// Call it before the store serves requests or a worker starts: it is not
// safe alongside them.
func (s *Store) SetWebhooks(c WebhookConfig) { s.webhooks = c }

// DeriveWebhookKey derives the key that seals webhook signing secrets from
// a server-held key (the cookie encryption key): HKDF-SHA256 with its own
// label, so it is never the cookie key itself.
func DeriveWebhookKey(serverKey []byte) ([]byte, error) {
	if len(serverKey) < 16 {
		return nil, errors.New("models: the webhook key needs a server key of at least 16 bytes")
	}
	k, err := hkdf.Key(sha256.New, serverKey, nil, webhookSecretKeyInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("models: webhook key: %w", err)
	}
	return k, nil
}

// WebhookEndpoint is a receiver of signed notifications. Its secrets are
// not part of it: they are read only to sign, and shown only when made.
type WebhookEndpoint struct {
	ID          int64 `gorm:"primaryKey"`
	URL         string
	Description string
	// Events is the subscribed event types, space-separated; "" means all.
	Events  string
	Enabled bool
	// PreviousSecretUntil is when the secret a rotation replaced stops
	// signing; nil when there is none.
	PreviousSecretUntil *time.Time
	// FailingSince is the first failed delivery since the last success.
	FailingSince   *time.Time
	DisabledReason string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// TableName implements gorm's tabler.
func (WebhookEndpoint) TableName() string { return "webhook_endpoints" }

// EventTypes is the subscribed event types; empty means all.
func (e *WebhookEndpoint) EventTypes() []string { return strings.Fields(e.Events) }

// Subscribed reports whether the endpoint wants events of type typ.
func (e *WebhookEndpoint) Subscribed(typ string) bool {
	return e.Events == "" || slices.Contains(e.EventTypes(), typ)
}

// WebhookEndpointInput is what an administrator sets on an endpoint.
type WebhookEndpointInput struct {
	URL         string
	Description string
	Events      []string // empty: all
	Enabled     bool
}

// validate checks in and returns the endpoint's fields as stored.
func (s *Store) validateWebhookEndpoint(in WebhookEndpointInput) (rawURL, desc, events string, err error) {
	ve := &ValidationError{}
	rawURL = strings.TrimSpace(in.URL)
	if msg := s.checkWebhookURL(rawURL); msg != "" {
		ve.Add("url", msg)
	}
	// As every description: no control characters (PostgreSQL cannot
	// store a NUL), no text-direction tricks, at most 1000 characters.
	desc, msg := cleanDescription(in.Description)
	if msg != "" {
		ve.Add("description", msg)
	}
	var types []string
	for _, t := range in.Events {
		t = strings.TrimSpace(t)
		if !slices.Contains(WebhookEventTypes, t) {
			ve.Add("events", fmt.Sprintf("Unknown event type %q.", clipUTF8(t, 64)))
			continue
		}
		types = append(types, t)
	}
	slices.Sort(types)
	events = strings.Join(slices.Compact(types), " ")
	return rawURL, desc, events, ve.OrNil()
}

// checkWebhookURL returns why raw cannot be an endpoint's URL, or "".
// Where it points is checked when it is called (see webhook_delivery.go):
// a name can resolve elsewhere by then.
func (s *Store) checkWebhookURL(raw string) string {
	if raw == "" {
		return "Enter the URL that receives the webhooks."
	}
	if len(raw) > maxWebhookURLBytes {
		return fmt.Sprintf("Use at most %d characters.", maxWebhookURLBytes)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return "Enter a full URL, such as https://hooks.example.com/warden."
	}
	if u.User != nil {
		return "The URL must not contain a user name or password."
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && s.webhooks.AllowHTTP:
	case u.Scheme == "http":
		return "Use an https:// URL (http:// needs --webhook-allow-http)."
	default:
		return "Use an https:// URL."
	}
	if u.Fragment != "" {
		return "The URL must not contain a #fragment."
	}
	return ""
}

// auditURL is an endpoint's URL as the audit log shows it: scheme and host,
// with the path and query elided, as they often carry a receiver's secret
// (Slack-style URLs).
func auditURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	out := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		out += "/…"
	}
	return out
}

func webhookTarget(e *WebhookEndpoint) target {
	return target{kind: "webhook", id: e.ID, label: auditURL(e.URL)}
}

// NewWebhookSecret returns a fresh signing secret in the Standard Webhooks
// format: whsec_ and the base64 of 32 random bytes.
func NewWebhookSecret() (string, error) {
	b := make([]byte, webhookSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("models: webhook secret: %w", err)
	}
	return webhookSecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// webhookSecretKey decodes a whsec_ secret into the HMAC key.
func webhookSecretKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, webhookSecretPrefix)
	if !ok {
		return nil, errors.New("models: a webhook secret starts with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) == 0 {
		return nil, errors.New("models: a webhook secret is whsec_ and base64")
	}
	return key, nil
}

// webhookAAD binds a sealed secret to its endpoint: copied onto another
// row, it fails to open.
func webhookAAD(endpointID int64) []byte {
	return []byte("warden webhook secret\x00" + strconv.FormatInt(endpointID, 10))
}

func (s *Store) webhookAEAD() (cipher.AEAD, error) {
	if len(s.webhooks.Key) != 32 {
		return nil, ErrNoWebhookKey
	}
	block, err := aes.NewCipher(s.webhooks.Key)
	if err != nil {
		return nil, fmt.Errorf("models: webhook cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("models: webhook cipher: %w", err)
	}
	return aead, nil
}

func (s *Store) sealWebhookSecret(endpointID int64, secret string) ([]byte, error) {
	aead, err := s.webhookAEAD()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("models: webhook nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, []byte(secret), webhookAAD(endpointID)), nil
}

// errWebhookSecretLost is a delivery's failure when a secret cannot be
// opened: the server's key is not the one that sealed it.
var errWebhookSecretLost = errors.New("the signing secret cannot be opened with this server's key (was the cookie key changed?); rotate the endpoint's secret")

func (s *Store) openWebhookSecret(endpointID int64, sealed []byte) (string, error) {
	aead, err := s.webhookAEAD()
	if err != nil {
		return "", err
	}
	n := aead.NonceSize()
	if len(sealed) <= n {
		return "", errWebhookSecretLost
	}
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], webhookAAD(endpointID))
	if err != nil {
		return "", errWebhookSecretLost
	}
	return string(plain), nil
}

// CreateWebhookEndpoint adds an endpoint and returns it with its signing
// secret, which is shown this once: Warden keeps it only sealed.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, a Actor, in WebhookEndpointInput) (*WebhookEndpoint, string, error) {
	rawURL, desc, events, err := s.validateWebhookEndpoint(in)
	if err != nil {
		return nil, "", err
	}
	if _, err := s.webhookAEAD(); err != nil {
		return nil, "", err
	}
	secret, err := NewWebhookSecret()
	if err != nil {
		return nil, "", err
	}
	var e *WebhookEndpoint
	err = s.write(ctx, func(tx *gorm.DB) error {
		now := s.Now()
		e = &WebhookEndpoint{URL: rawURL, Description: desc, Events: events, Enabled: in.Enabled, CreatedAt: now, UpdatedAt: now}
		// The id is the sealed secret's additional data, so the row comes
		// first with a placeholder.
		row := &webhookEndpointRow{WebhookEndpoint: *e, Secret: []byte{}}
		if err := tx.Select("url", "description", "events", "enabled", "created_at", "updated_at", "secret").
			Create(row).Error; err != nil {
			return fmt.Errorf("models: create webhook: %w", err)
		}
		e.ID = row.ID
		sealed, err := s.sealWebhookSecret(e.ID, secret)
		if err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE webhook_endpoints SET secret = ? WHERE id = ?`, sealed, e.ID).Error; err != nil {
			return fmt.Errorf("models: create webhook: %w", err)
		}
		ch := Changes{}
		ch.set("url", nil, auditURL(e.URL))
		ch.set("events", nil, eventsLabel(e.Events))
		ch.set("enabled", nil, e.Enabled)
		if e.Description != "" {
			ch.set("description", nil, e.Description)
		}
		return s.record(tx, a, "webhook.create", OutcomeSuccess, "", webhookTarget(e), ch)
	})
	if err != nil {
		return nil, "", err
	}
	return e, secret, nil
}

// webhookEndpointRow is an endpoint as inserted, with its sealed secret.
type webhookEndpointRow struct {
	WebhookEndpoint
	Secret []byte
}

// eventsLabel is the subscription as the audit log words it.
func eventsLabel(events string) string {
	if events == "" {
		return "all"
	}
	return events
}

// WebhookEndpoints lists the endpoints, oldest first.
func (s *Store) WebhookEndpoints(ctx context.Context) ([]WebhookEndpoint, error) {
	var out []WebhookEndpoint
	if err := s.db.WithContext(ctx).Select(webhookEndpointColumns).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: webhooks: %w", err)
	}
	return out, nil
}

// WebhookEndpoint returns one endpoint, or ErrNotFound.
func (s *Store) WebhookEndpoint(ctx context.Context, id int64) (*WebhookEndpoint, error) {
	return webhookEndpointByID(s.db.WithContext(ctx), id)
}

func webhookEndpointByID(db *gorm.DB, id int64) (*WebhookEndpoint, error) {
	var e WebhookEndpoint
	err := db.Select(webhookEndpointColumns).Where("id = ?", id).Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("models: webhook: %w", err)
	}
	return &e, nil
}

// UpdateWebhookEndpoint replaces an endpoint's URL, description,
// subscription and enabled flag. Enabling it again forgets its failures.
func (s *Store) UpdateWebhookEndpoint(ctx context.Context, a Actor, id int64, in WebhookEndpointInput) (*WebhookEndpoint, error) {
	rawURL, desc, events, err := s.validateWebhookEndpoint(in)
	if err != nil {
		return nil, err
	}
	var e *WebhookEndpoint
	err = s.write(ctx, func(tx *gorm.DB) error {
		if e, err = webhookEndpointByID(tx, id); err != nil {
			return err
		}
		before := *e
		e.URL, e.Description, e.Events, e.Enabled, e.UpdatedAt = rawURL, desc, events, in.Enabled, s.Now()
		if e.Enabled && !before.Enabled {
			e.FailingSince, e.DisabledReason = nil, ""
		}
		if !e.Enabled && before.Enabled {
			e.DisabledReason = "" // turned off by an administrator, not for failing
		}
		if err := tx.Model(&WebhookEndpoint{}).Where("id = ?", id).Updates(map[string]any{
			"url": e.URL, "description": e.Description, "events": e.Events, "enabled": e.Enabled,
			"failing_since": e.FailingSince, "disabled_reason": e.DisabledReason, "updated_at": e.UpdatedAt,
		}).Error; err != nil {
			return fmt.Errorf("models: update webhook: %w", err)
		}
		ch := Changes{}
		ch.set("url", auditURL(before.URL), auditURL(e.URL))
		if before.URL != e.URL && auditURL(before.URL) == auditURL(e.URL) {
			ch["url"] = Change{Before: auditURL(before.URL), After: auditURL(e.URL) + " (path changed)"}
		}
		ch.set("description", before.Description, e.Description)
		ch.set("events", eventsLabel(before.Events), eventsLabel(e.Events))
		ch.set("enabled", before.Enabled, e.Enabled)
		return s.record(tx, a, "webhook.update", OutcomeSuccess, "", webhookTarget(e), ch)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// DeleteWebhookEndpoint removes an endpoint and its deliveries, sent or not.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, a Actor, id int64) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		e, err := webhookEndpointByID(tx, id)
		if err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM webhook_endpoints WHERE id = ?`, id).Error; err != nil {
			return fmt.Errorf("models: delete webhook: %w", err)
		}
		ch := Changes{}
		ch.set("url", auditURL(e.URL), nil)
		return s.record(tx, a, "webhook.delete", OutcomeSuccess, "", webhookTarget(e), ch)
	})
}

// RotateWebhookSecret gives an endpoint a new signing secret, returned this
// once. The one it replaces keeps signing too for 24 hours, so a receiver
// can switch without missing a delivery; an older one stops at once.
func (s *Store) RotateWebhookSecret(ctx context.Context, a Actor, id int64) (string, error) {
	if _, err := s.webhookAEAD(); err != nil {
		return "", err
	}
	secret, err := NewWebhookSecret()
	if err != nil {
		return "", err
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		e, err := webhookEndpointByID(tx, id)
		if err != nil {
			return err
		}
		var cur struct{ Secret []byte }
		if err := tx.Raw(`SELECT secret FROM webhook_endpoints WHERE id = ?`, id).Scan(&cur).Error; err != nil {
			return fmt.Errorf("models: rotate webhook secret: %w", err)
		}
		sealed, err := s.sealWebhookSecret(id, secret)
		if err != nil {
			return err
		}
		now := s.Now()
		until := now.Add(webhookPreviousSecretKeepsFor)
		// A secret that no longer opens is not worth keeping as previous.
		var previous []byte
		var previousUntil *time.Time
		if _, err := s.openWebhookSecret(id, cur.Secret); err == nil {
			previous, previousUntil = cur.Secret, &until
		}
		if err := tx.Exec(`UPDATE webhook_endpoints SET secret = ?, previous_secret = ?, previous_secret_until = ?, updated_at = ? WHERE id = ?`,
			sealed, previous, previousUntil, now, id).Error; err != nil {
			return fmt.Errorf("models: rotate webhook secret: %w", err)
		}
		reason := ""
		if previousUntil != nil {
			reason = "previous secret signs until " + until.Format(time.RFC3339)
		}
		return s.record(tx, a, "webhook.rotate_secret", OutcomeSuccess, reason, webhookTarget(e), nil)
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// ErrWebhookDisabled refuses a test event to a disabled endpoint: it would
// wait in the outbox until the endpoint is enabled again.
var ErrWebhookDisabled = &RuleError{
	Code:    "webhook_disabled",
	Message: "This endpoint is disabled; enable it to send it a test event.",
}

// SendWebhookTest puts a webhook.test event for one endpoint into the
// outbox, whatever it subscribes to, and returns the delivery's webhook-id.
func (s *Store) SendWebhookTest(ctx context.Context, a Actor, id int64) (string, error) {
	var msgID string
	err := s.write(ctx, func(tx *gorm.DB) error {
		e, err := webhookEndpointByID(tx, id)
		if err != nil {
			return err
		}
		if !e.Enabled {
			return s.refuse(tx, a, "webhook.test", webhookTarget(e), ErrWebhookDisabled)
		}
		now := s.Now()
		body, err := json.Marshal(WebhookPayload{Type: EventWebhookTest, Timestamp: now.Format(time.RFC3339), Data: webhookActorData(a)})
		if err != nil {
			return fmt.Errorf("models: webhook payload: %w", err)
		}
		if msgID, err = s.insertDelivery(tx, e.ID, EventWebhookTest, body); err != nil {
			return err
		}
		return s.record(tx, a, "webhook.test", OutcomeSuccess, "", webhookTarget(e), nil)
	})
	if err != nil {
		return "", err
	}
	return msgID, nil
}

// WebhookHealth is how an endpoint's deliveries are going, read from its
// outbox rows.
type WebhookHealth struct {
	// LastSuccess is the last delivery received; nil when none was.
	LastSuccess *time.Time
	// FailuresSinceSuccess counts the deliveries queued after the last
	// one received that have failed at least once and are not received.
	FailuresSinceSuccess int64
	// Pending counts the deliveries waiting to be sent, retries included.
	Pending int64
}

// WebhookHealths returns every endpoint's delivery health; an endpoint
// without deliveries is absent. Two grouped queries, on the index by
// endpoint.
func (s *Store) WebhookHealths(ctx context.Context) (map[int64]WebhookHealth, error) {
	db := s.db.WithContext(ctx)
	// Each endpoint's newest received delivery: the failures that count
	// are those queued after it.
	lastIDs := db.Table("webhook_deliveries").Select("MAX(id)").Where("status = ?", DeliveryDelivered).Group("endpoint_id")
	var last []struct {
		EndpointID  int64
		ID          int64
		DeliveredAt *time.Time
	}
	if err := db.Table("webhook_deliveries").Select("endpoint_id, id, delivered_at").Where("id IN (?)", lastIDs).
		Scan(&last).Error; err != nil {
		return nil, fmt.Errorf("models: webhook health: %w", err)
	}
	var counts []struct {
		EndpointID int64
		Failures   int64
		Pending    int64
	}
	err := db.Raw(`SELECT d.endpoint_id,
			SUM(CASE WHEN d.status <> ? AND d.attempts > 0 AND d.id > COALESCE(l.id, 0) THEN 1 ELSE 0 END) AS failures,
			SUM(CASE WHEN d.status = ? THEN 1 ELSE 0 END) AS pending
		FROM webhook_deliveries d
		LEFT JOIN (SELECT endpoint_id, MAX(id) AS id FROM webhook_deliveries WHERE status = ? GROUP BY endpoint_id) l
			ON l.endpoint_id = d.endpoint_id
		GROUP BY d.endpoint_id`, DeliveryDelivered, DeliveryPending, DeliveryDelivered).Scan(&counts).Error
	if err != nil {
		return nil, fmt.Errorf("models: webhook health: %w", err)
	}
	out := make(map[int64]WebhookHealth, len(counts))
	for _, c := range counts {
		out[c.EndpointID] = WebhookHealth{FailuresSinceSuccess: c.Failures, Pending: c.Pending}
	}
	for _, l := range last {
		h := out[l.EndpointID]
		h.LastSuccess = l.DeliveredAt
		out[l.EndpointID] = h
	}
	return out, nil
}

// AutoDisabledWebhookEndpoints lists the endpoints Warden disabled after
// days of failed deliveries (id and URL only), for the console's banner:
// one query on a table of a few rows.
func (s *Store) AutoDisabledWebhookEndpoints(ctx context.Context) ([]WebhookEndpoint, error) {
	var out []WebhookEndpoint
	if err := s.db.WithContext(ctx).Select("id, url, disabled_reason").
		Where("enabled = ? AND disabled_reason <> ''", false).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: disabled webhooks: %w", err)
	}
	return out, nil
}
