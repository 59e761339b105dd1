package models

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// A receiver checks each webhook with VerifyWebhook before trusting it; the
// README's example. Here the request is one Warden would send.
func ExampleVerifyWebhook() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"type":"token.revoked","timestamp":"2026-03-01T09:00:00Z","data":{"actor":{"kind":"system","label":"system"}}}`)
	sent := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	sig, _ := signWebhook([]string{secret}, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", sent.Unix(), body)

	h := http.Header{}
	h.Set("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
	h.Set("webhook-timestamp", fmt.Sprint(sent.Unix()))
	h.Set("webhook-signature", sig)

	fmt.Println(VerifyWebhook(secret, h, body, sent.Add(30*time.Second)))
	fmt.Println(VerifyWebhook(secret, h, append(body, ' '), sent.Add(30*time.Second)))
	fmt.Println(VerifyWebhook(secret, h, body, sent.Add(time.Hour)))
	// Output:
	// <nil>
	// webhook: no matching signature
	// webhook: timestamp too old or too new
}

// The Standard Webhooks libraries' own test vector: Warden's signature is
// the one every receiver library computes.
func TestWebhookSignatureMatchesStandardWebhooks(t *testing.T) {
	sig, err := signWebhook([]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; err != nil || sig != want {
		t.Fatalf("signature %q, %v; want %q", sig, err, want)
	}
}
