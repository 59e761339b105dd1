package models

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// webhookBackoff is the wait after each failed attempt; the attempt after
// the last wait is the last one.
var webhookBackoff = []time.Duration{
	30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour,
}

// retryAt is when the attempt after a delivery's attempts-th failed one is
// due, by webhookBackoff (emails use it too); last says that was the last
// attempt and the delivery has failed.
func retryAt(now time.Time, attempts int) (at time.Time, last bool) {
	if attempts > len(webhookBackoff) {
		return time.Time{}, true
	}
	return now.Add(webhookBackoff[attempts-1]), false
}

const (
	// webhookDisableAfter is how long an endpoint may fail every delivery
	// before it is disabled.
	webhookDisableAfter = 72 * time.Hour
	// defaultWebhookTimeout bounds one attempt, connection to last byte.
	defaultWebhookTimeout = 10 * time.Second
	// webhookMaxResponse is how much of a response body is read; the rest
	// is dropped with the connection.
	webhookMaxResponse = 64 << 10
	// webhookExcerpt is how much of it is kept for the delivery log.
	webhookExcerpt      = 1 << 10
	defaultWebhookBatch = 16
)

// WebhookDelivery is one event on its way to one endpoint: a row of the
// outbox.
type WebhookDelivery struct {
	ID              int64 `gorm:"primaryKey"`
	EndpointID      int64
	MsgID           string // the webhook-id header
	EventType       string
	Payload         string
	Status          string
	Attempts        int
	NextAttemptAt   time.Time
	ClaimedUntil    *time.Time
	LastStatusCode  *int
	LastError       string
	LastDurationMs  *int64
	ResponseExcerpt string
	CreatedAt       time.Time
	DeliveredAt     *time.Time
}

// TableName implements gorm's tabler.
func (WebhookDelivery) TableName() string { return "webhook_deliveries" }

// WebhookDeliveries returns an endpoint's most recent deliveries, newest
// first.
func (s *Store) WebhookDeliveries(ctx context.Context, endpointID int64, limit int) ([]WebhookDelivery, error) {
	var out []WebhookDelivery
	if err := s.db.WithContext(ctx).Where("endpoint_id = ?", endpointID).Order("id DESC").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: webhook deliveries: %w", err)
	}
	return out, nil
}

// WebhookWorker sends the outbox's due deliveries. Several workers, in one
// process or on several replicas, may run at once: each delivery is claimed
// by one of them for a lease, so it is sent once unless a worker dies
// mid-way (then again after the lease: delivery is at least once).
type WebhookWorker struct {
	s       *Store
	client  *http.Client
	timeout time.Duration
	batch   int
}

// NewWebhookWorker returns a worker for the store's outbox, configured by
// WithWebhooks.
func (s *Store) NewWebhookWorker() *WebhookWorker {
	w := &WebhookWorker{s: s, timeout: s.webhooks.Timeout, batch: s.webhooks.Batch}
	if w.timeout <= 0 {
		w.timeout = defaultWebhookTimeout
	}
	if w.batch <= 0 {
		w.batch = defaultWebhookBatch
	}
	w.client = &http.Client{
		Timeout: w.timeout,
		Transport: &http.Transport{
			// No proxy: the address checked is the address dialled.
			Proxy:                  nil,
			DialContext:            w.dial,
			TLSHandshakeTimeout:    w.timeout,
			ResponseHeaderTimeout:  w.timeout,
			MaxResponseHeaderBytes: webhookMaxResponse,
			MaxIdleConns:           16,
			IdleConnTimeout:        90 * time.Second,
		},
		// A redirect is the receiver's answer, not a place to go: it could
		// point anywhere, a private address included.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return w
}

// lease is how long a claim lasts: longer than any attempt.
func (w *WebhookWorker) lease() time.Duration { return w.timeout + time.Minute }

// Run delivers until ctx ends, looking for due deliveries every interval,
// at once after a change of this process filled the outbox, and at once
// again after a full batch. Every hour it also prunes the delivery log
// (PruneWebhookDeliveries). onError hears what a round could not do (nil:
// nothing hears it); the round after tries again.
func (w *WebhookWorker) Run(ctx context.Context, every time.Duration, onError func(error)) {
	outboxLoop{every: every, wake: w.s.webhookWake, batch: w.batch,
		prune: w.s.PruneWebhookDeliveries, round: w.RunOnce, onError: onError}.run(ctx, w.s.Now)
}

// RunOnce claims up to a batch of due deliveries, sends them side by side
// (one slow receiver does not hold up the others) and records each
// outcome. It returns how many it claimed.
func (w *WebhookWorker) RunOnce(ctx context.Context) (int, error) {
	claimed, lease, err := w.claim(ctx)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(claimed))
	for i := range claimed {
		wg.Go(func() { errs[i] = w.deliver(ctx, &claimed[i], lease) })
	}
	wg.Wait()
	return len(claimed), errors.Join(errs...)
}

// claimedDelivery is a delivery a worker holds the lease of.
type claimedDelivery struct {
	ID         int64
	EndpointID int64
	MsgID      string
	EventType  string
	Payload    string
	Attempts   int
}

// claim takes the lease of up to a batch of due deliveries to enabled
// endpoints in one statement. On SQLite the statement holds the database's
// write lock, so two workers cannot pick the same row. On PostgreSQL the
// rows are locked FOR UPDATE and the ones another worker is claiming are
// skipped rather than waited for; no writer lock is taken, so claiming never
// queues behind the console's changes.
func (w *WebhookWorker) claim(ctx context.Context) ([]claimedDelivery, time.Time, error) {
	now := w.s.Now()
	lease := now.Add(w.lease())
	lock := ""
	if w.s.dialect == Postgres {
		lock = " FOR UPDATE OF d SKIP LOCKED"
	}
	q := `UPDATE webhook_deliveries SET claimed_until = ?
		WHERE id IN (SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
			WHERE d.status = ? AND d.next_attempt_at <= ? AND (d.claimed_until IS NULL OR d.claimed_until <= ?) AND e.enabled = ?
			ORDER BY d.next_attempt_at, d.id LIMIT ?` + lock + `)
		RETURNING id, endpoint_id, msg_id, event_type, payload, attempts`
	var out []claimedDelivery
	err := w.s.writeRow(ctx, func(db *gorm.DB) error {
		return db.Raw(q, lease, DeliveryPending, now, now, true, w.batch).Scan(&out).Error
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("models: claim webhook deliveries: %w", err)
	}
	return out, lease, nil
}

// attemptResult is what one attempt came to.
type attemptResult struct {
	ok         bool
	statusCode int // 0: no response
	err        string
	durationMs int64
	excerpt    string
}

// deliver sends one claimed delivery and records the outcome.
func (w *WebhookWorker) deliver(ctx context.Context, d *claimedDelivery, lease time.Time) error {
	var ep struct {
		URL                 string
		Secret              []byte
		PreviousSecret      []byte
		PreviousSecretUntil *time.Time
	}
	err := w.s.db.WithContext(ctx).Raw(`SELECT url, secret, previous_secret, previous_secret_until FROM webhook_endpoints WHERE id = ?`, d.EndpointID).Scan(&ep).Error
	if err != nil {
		return fmt.Errorf("models: webhook endpoint: %w", err)
	}
	if ep.URL == "" {
		return nil // deleted since, with its deliveries
	}
	res := w.attempt(ctx, d, ep.URL, ep.Secret, ep.PreviousSecret, ep.PreviousSecretUntil)
	return w.s.recordAttempt(ctx, d, lease, res)
}

// attempt signs and POSTs the delivery's payload once.
func (w *WebhookWorker) attempt(ctx context.Context, d *claimedDelivery, rawURL string, sealed, prevSealed []byte, prevUntil *time.Time) attemptResult {
	now := w.s.Now()
	secret, err := w.s.openWebhookSecret(d.EndpointID, sealed)
	if err != nil {
		return attemptResult{err: err.Error()}
	}
	secrets := []string{secret}
	if prevSealed != nil && prevUntil != nil && now.Before(*prevUntil) {
		if prev, err := w.s.openWebhookSecret(d.EndpointID, prevSealed); err == nil {
			secrets = append(secrets, prev)
		}
	}
	ts := now.Unix()
	body := []byte(d.Payload)
	sig, err := signWebhook(secrets, d.MsgID, ts, body)
	if err != nil {
		return attemptResult{err: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return attemptResult{err: "invalid URL"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Warden-Webhooks/1")
	req.Header.Set("webhook-id", d.MsgID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	start := time.Now() // a measurement, so the wall clock
	resp, err := w.client.Do(req)
	if err != nil {
		return attemptResult{err: w.describe(err), durationMs: time.Since(start).Milliseconds()}
	}
	defer resp.Body.Close()
	got, readErr := io.ReadAll(io.LimitReader(resp.Body, webhookMaxResponse))
	res := attemptResult{statusCode: resp.StatusCode, durationMs: time.Since(start).Milliseconds()}
	res.excerpt = clipUTF8(string(got[:min(len(got), webhookExcerpt)]), webhookExcerpt)
	switch {
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		res.err = "HTTP " + strconv.Itoa(resp.StatusCode)
		if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
			res.err += " (redirects are not followed)"
		}
	case readErr != nil:
		res.err = "reading the response: " + w.describe(readErr)
	default:
		res.ok = true
	}
	return res
}

// describe words a failed attempt without the URL, whose path or query may
// hold the receiver's secret.
func (w *WebhookWorker) describe(err error) string {
	var refused *AddressRefusedError
	if errors.As(err, &refused) {
		return refused.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "no answer within " + w.timeout.String()
		}
		err = ue.Err
	}
	return clip(err.Error())
}

// recordAttempt writes an attempt's outcome, if the worker still holds the
// delivery's lease, and the endpoint's health: failing since when, and
// disabled after 3 days of failing.
func (s *Store) recordAttempt(ctx context.Context, d *claimedDelivery, lease time.Time, r attemptResult) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		now := s.Now()
		attempts := d.Attempts + 1
		upd := map[string]any{
			"attempts": attempts, "claimed_until": nil, "last_error": r.err,
			"last_status_code": nil, "last_duration_ms": r.durationMs, "response_excerpt": r.excerpt,
		}
		if r.statusCode != 0 {
			upd["last_status_code"] = r.statusCode
		}
		switch at, last := retryAt(now, attempts); {
		case r.ok:
			upd["status"], upd["delivered_at"] = DeliveryDelivered, now
		case last:
			upd["status"] = DeliveryFailed
		default:
			upd["next_attempt_at"] = at
		}
		res := tx.Model(&WebhookDelivery{}).Where("id = ? AND status = ? AND claimed_until = ?", d.ID, DeliveryPending, lease).Updates(upd)
		if res.Error != nil {
			return fmt.Errorf("models: record webhook attempt: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil // the lease ran out and another worker has it, or the endpoint is gone
		}
		if r.ok {
			if err := tx.Exec(`UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL`, d.EndpointID).Error; err != nil {
				return fmt.Errorf("models: webhook health: %w", err)
			}
			return nil
		}
		if err := tx.Exec(`UPDATE webhook_endpoints SET failing_since = ? WHERE id = ? AND failing_since IS NULL`, now, d.EndpointID).Error; err != nil {
			return fmt.Errorf("models: webhook health: %w", err)
		}
		ep, err := webhookEndpointByID(tx, d.EndpointID)
		if err != nil {
			return err
		}
		if !ep.Enabled || ep.FailingSince == nil || now.Sub(*ep.FailingSince) < webhookDisableAfter {
			return nil
		}
		since := ep.FailingSince.UTC().Format(time.RFC3339)
		reason := "Every delivery has failed since " + since + "; the last: " + clipUTF8(r.err, 200)
		if err := tx.Model(&WebhookEndpoint{}).Where("id = ?", ep.ID).Updates(map[string]any{
			"enabled": false, "disabled_reason": reason, "updated_at": now,
		}).Error; err != nil {
			return fmt.Errorf("models: disable webhook: %w", err)
		}
		ch := Changes{}
		ch.set("enabled", true, false)
		return s.record(tx, System, "webhook.disable", OutcomeSuccess, "failing since "+since, webhookTarget(ep), ch)
	})
}

// signWebhook returns the webhook-signature header: "v1," and the base64
// HMAC-SHA256 of "id.timestamp.body" under each secret, space-separated
// (two during a rotation).
func signWebhook(secrets []string, msgID string, ts int64, body []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, secret := range secrets {
		key, err := webhookSecretKey(secret)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, "v1,"+webhookSignature(key, msgID, strconv.FormatInt(ts, 10), body))
	}
	return strings.Join(sigs, " "), nil
}

func webhookSignature(key []byte, msgID, ts string, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID + "." + ts + "."))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// AddressRefusedError is a delivery refused before connecting: the
// endpoint's host resolved to an address webhooks may not reach.
type AddressRefusedError struct {
	Host string
	Addr netip.Addr
	Why  string // "loopback", "private", …
}

func (e *AddressRefusedError) Error() string {
	return fmt.Sprintf("refused to connect to %s (%s): a %s address (--webhook-allow-private allows it)", e.Host, e.Addr, e.Why)
}

var (
	metadataV4    = netip.MustParseAddr("169.254.169.254")
	uniqueLocal   = netip.MustParsePrefix("fc00::/7")
	sharedAddress = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT
	thisNetwork   = netip.MustParsePrefix("0.0.0.0/8")
	broadcastV4   = netip.MustParseAddr("255.255.255.255")
	nat64         = netip.MustParsePrefix("64:ff9b::/96")
)

// RefusedAddress says which kind of address ip is when webhooks may not
// reach it without --webhook-allow-private, or "" when they may.
func RefusedAddress(ip netip.Addr) string {
	ip = ip.Unmap()
	if nat64.Contains(ip) {
		// An IPv4 address behind a NAT64 gateway is what it embeds.
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	switch {
	case ip == metadataV4:
		return "cloud metadata"
	case ip.IsUnspecified() || thisNetwork.Contains(ip):
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case uniqueLocal.Contains(ip):
		return "unique-local"
	case ip.IsPrivate() || sharedAddress.Contains(ip):
		return "private"
	case ip.IsMulticast() || ip == broadcastV4:
		return "multicast"
	}
	return ""
}

// dial resolves the host, checks every address it resolves to, and dials
// a checked one: the name cannot point elsewhere between check and use.
func (w *WebhookWorker) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", host, err)
	}
	if !w.s.webhooks.AllowPrivate {
		for _, ip := range ips {
			if why := RefusedAddress(ip); why != "" {
				return nil, &AddressRefusedError{Host: host, Addr: ip, Why: why}
			}
		}
	}
	d := net.Dialer{Timeout: w.timeout}
	var firstErr error
	for _, ip := range ips {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("%s has no address", host)
	}
	return nil, firstErr
}

// ErrWebhookDisabledRedeliver refuses to redeliver to a disabled endpoint:
// the delivery would wait in the outbox until the endpoint is enabled.
var ErrWebhookDisabledRedeliver = &RuleError{
	Code:    "webhook_disabled",
	Message: "This endpoint is disabled; enable it to redeliver.",
}

// RedeliverWebhook puts one of an endpoint's deliveries, whatever its
// status, back into the outbox: pending, attempts reset, due now. It keeps
// its webhook-id and payload, so a receiver that saw it before can tell it
// is the same message (Standard Webhooks). The worker is woken on commit.
func (s *Store) RedeliverWebhook(ctx context.Context, a Actor, endpointID, deliveryID int64) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		e, err := webhookEndpointByID(tx, endpointID)
		if err != nil {
			return err
		}
		var d WebhookDelivery
		err = tx.Select("id, event_type, msg_id").Where("id = ? AND endpoint_id = ?", deliveryID, endpointID).Take(&d).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("models: redeliver webhook: %w", err)
		}
		if !e.Enabled {
			return s.refuse(tx, a, "webhook.redeliver", webhookTarget(e), ErrWebhookDisabledRedeliver)
		}
		// A worker still sending it loses its lease: its outcome is not
		// recorded over this one (recordAttempt checks the lease).
		if err := tx.Model(&WebhookDelivery{}).Where("id = ?", d.ID).Updates(map[string]any{
			"status": DeliveryPending, "attempts": 0, "next_attempt_at": s.Now(), "claimed_until": nil,
			"last_status_code": nil, "last_error": "", "last_duration_ms": nil, "response_excerpt": "", "delivered_at": nil,
		}).Error; err != nil {
			return fmt.Errorf("models: redeliver webhook: %w", err)
		}
		s.outboxFilled = true
		// The reason names the event, as the sentence does: "redelivered
		// token.revoked to …".
		return s.record(tx, a, "webhook.redeliver", OutcomeSuccess, d.EventType, webhookTarget(e), nil)
	})
}
