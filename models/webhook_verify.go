package models

import (
	"crypto/hmac"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// WebhookTolerance is how far a webhook's timestamp may be from the
// receiver's clock: older messages are refused as possible replays.
const WebhookTolerance = 5 * time.Minute

// Errors of VerifyWebhook.
var (
	ErrWebhookHeaders   = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature")
	ErrWebhookTimestamp = errors.New("webhook: timestamp too old or too new")
	ErrWebhookSignature = errors.New("webhook: no matching signature")
)

// VerifyWebhook is how a receiver checks that a webhook comes from Warden,
// per the Standard Webhooks specification; it is the README's example, and
// the delivery tests' receiver uses it. secret is the endpoint's whsec_
// secret, shown when the endpoint was made; body is the raw request body,
// before any JSON decoding; now is the receiver's clock.
//
//	func hook(w http.ResponseWriter, r *http.Request) {
//		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
//		if err := models.VerifyWebhook(secret, r.Header, body, time.Now()); err != nil {
//			http.Error(w, "bad signature", http.StatusUnauthorized)
//			return
//		}
//		// Deliveries are at least once: skip a webhook-id already handled.
//		w.WriteHeader(http.StatusNoContent)
//	}
//
// The signature is "v1," and the base64 of HMAC-SHA256, keyed by the
// base64-decoded part of the secret after whsec_, of
// webhook-id + "." + webhook-timestamp + "." + body. The header may carry
// several signatures, space-separated (during a secret rotation Warden
// signs with the new and the previous secret); one match is enough.
func VerifyWebhook(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := webhookSecretKey(secret)
	if err != nil {
		return err
	}
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return ErrWebhookHeaders
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrWebhookTimestamp
	}
	if d := now.Sub(time.Unix(sec, 0)); d > WebhookTolerance || d < -WebhookTolerance {
		return ErrWebhookTimestamp
	}
	want := []byte(webhookSignature(key, id, ts, body))
	for _, sig := range strings.Fields(sigs) {
		version, value, ok := strings.Cut(sig, ",")
		if ok && version == "v1" && hmac.Equal([]byte(value), want) {
			return nil
		}
	}
	return ErrWebhookSignature
}
