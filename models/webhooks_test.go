package models

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

func testWebhookKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// webhookTestStore is a store whose webhooks may use http:// and reach the
// tests' 127.0.0.1 receivers.
func webhookTestStore(t *testing.T, clock *testClock) *Store {
	t.Helper()
	return openTestStore(t, WithClock(clock.Now), WithWebhooks(WebhookConfig{Key: testWebhookKey(t), AllowHTTP: true, AllowPrivate: true}))
}

// hookReceiver is a loopback receiver that checks every webhook with
// VerifyWebhook, as the README tells receivers to.
type hookReceiver struct {
	*httptest.Server
	clock *testClock
	mu    sync.Mutex
	// secrets it verifies with; a webhook passes if one matches.
	secrets []string
	status  int
	got     []receivedHook
}

type receivedHook struct {
	ID, Signature string
	Payload       WebhookPayload
	Verified      []bool // per secret
}

func newHookReceiver(t *testing.T, clock *testClock) *hookReceiver {
	t.Helper()
	r := &hookReceiver{clock: clock, status: http.StatusNoContent}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		r.mu.Lock()
		defer r.mu.Unlock()
		h := receivedHook{ID: req.Header.Get("webhook-id"), Signature: req.Header.Get("webhook-signature")}
		_ = json.Unmarshal(body, &h.Payload)
		for _, s := range r.secrets {
			h.Verified = append(h.Verified, VerifyWebhook(s, req.Header, body, r.clock.Now()) == nil)
		}
		r.got = append(r.got, h)
		w.WriteHeader(r.status)
		_, _ = io.WriteString(w, "thanks")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *hookReceiver) received() []receivedHook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedHook(nil), r.got...)
}

func (r *hookReceiver) setSecrets(s ...string) {
	r.mu.Lock()
	r.secrets = s
	r.mu.Unlock()
}

func (r *hookReceiver) setStatus(code int) {
	r.mu.Lock()
	r.status = code
	r.mu.Unlock()
}

func mustEndpoint(t *testing.T, s *Store, rawURL string, events ...string) (*WebhookEndpoint, string) {
	t.Helper()
	e, secret, err := s.CreateWebhookEndpoint(context.Background(), System, WebhookEndpointInput{URL: rawURL, Events: events, Enabled: true})
	if err != nil {
		t.Fatalf("create endpoint: %v", err)
	}
	return e, secret
}

func mustDeliveries(t *testing.T, s *Store, endpointID int64) []WebhookDelivery {
	t.Helper()
	d, err := s.WebhookDeliveries(context.Background(), endpointID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustRunOnce(t *testing.T, w *WebhookWorker) int {
	t.Helper()
	n, err := w.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("run once: %v", err)
	}
	return n
}

func TestWebhookEndpointValidation(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, WithWebhooks(WebhookConfig{Key: testWebhookKey(t)}))
	for _, c := range []struct {
		in    WebhookEndpointInput
		field string
	}{
		{WebhookEndpointInput{URL: ""}, "url"},
		{WebhookEndpointInput{URL: "hooks.example.com/x"}, "url"},
		{WebhookEndpointInput{URL: "http://hooks.example.com/x"}, "url"}, // no --webhook-allow-http
		{WebhookEndpointInput{URL: "ftp://hooks.example.com/x"}, "url"},
		{WebhookEndpointInput{URL: "https://user:pass@hooks.example.com/x"}, "url"},
		{WebhookEndpointInput{URL: "https://token@hooks.example.com/x"}, "url"},
		{WebhookEndpointInput{URL: "https://hooks.example.com/x", Events: []string{"token.created", "token.exploded"}}, "events"},
		{WebhookEndpointInput{URL: "https://hooks.example.com/x", Description: strings.Repeat("é", 1001)}, "description"},
	} {
		_, _, err := s.CreateWebhookEndpoint(ctx, System, c.in)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Fields[c.field] == "" {
			t.Errorf("%+v: got %v; want a validation error on %s", c.in, err, c.field)
		}
	}
	if eps, _ := s.WebhookEndpoints(ctx); len(eps) != 0 {
		t.Fatalf("%d endpoints after refusals", len(eps))
	}

	// 1000 characters, some events twice: accepted, stored once each.
	e, secret, err := s.CreateWebhookEndpoint(ctx, System, WebhookEndpointInput{
		URL: "https://hooks.example.com/warden/T0123/s3cr3tpath", Description: strings.Repeat("é", 1000),
		Events: []string{"token.revoked", "token.created", "token.revoked"}, Enabled: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.Events != "token.created token.revoked" {
		t.Fatalf("events %q", e.Events)
	}
	raw, ok := strings.CutPrefix(secret, "whsec_")
	if b, err := base64.StdEncoding.DecodeString(raw); !ok || err != nil || len(b) != 32 {
		t.Fatalf("secret %q is not whsec_ and 32 bytes of base64", secret)
	}
	got, err := s.WebhookEndpoint(ctx, e.ID)
	if err != nil || got.URL != e.URL || !got.Enabled {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if _, err := s.WebhookEndpoint(ctx, e.ID+100); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}

	// Only the sealed secret is stored.
	var stored struct{ Secret []byte }
	if err := s.db.Raw(`SELECT secret FROM webhook_endpoints WHERE id = ?`, e.ID).Scan(&stored).Error; err != nil {
		t.Fatal(err)
	}
	if len(stored.Secret) < 32 || strings.Contains(string(stored.Secret), raw) {
		t.Fatal("the secret is stored in clear")
	}

	if _, err := s.UpdateWebhookEndpoint(ctx, System, e.ID, WebhookEndpointInput{URL: "https://hooks.example.com/other", Enabled: false}); err != nil {
		t.Fatal(err)
	}
	secret2, err := s.RotateWebhookSecret(ctx, System, e.ID)
	if err != nil || secret2 == secret {
		t.Fatalf("rotate: %v", err)
	}
	if err := s.DeleteWebhookEndpoint(ctx, System, e.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWebhookEndpoint(ctx, System, e.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}

	var actions []string
	for _, ev := range auEventsAfter(t, s, 0) {
		actions = append(actions, ev.Action)
		all := auText(ev)
		for _, leak := range []string{raw, strings.TrimPrefix(secret2, "whsec_"), "s3cr3tpath", "T0123"} {
			if strings.Contains(all, leak) {
				t.Errorf("%s event holds %q: %s", ev.Action, leak, all)
			}
		}
	}
	want := "webhook.create webhook.update webhook.rotate_secret webhook.delete"
	if strings.Join(actions, " ") != want {
		t.Fatalf("audit %v; want %s", actions, want)
	}
}

func TestWebhookOutboxRollbackSendsNothing(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := webhookTestStore(t, clock)
	ep, _ := mustEndpoint(t, s, "https://hooks.example.com/a")
	svc := mustService(t, s, "Airflow")
	tok, _ := mustToken(t, s, svc.ID, "ci", Expiry{Days: 30})
	before := len(mustDeliveries(t, s, ep.ID))

	// A revocation whose transaction fails after its event is recorded.
	boom := errors.New("boom")
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&Token{}).Where("id = ?", tok.ID).Update("revoked_at", s.Now()).Error; err != nil {
			return err
		}
		if err := s.recordTokenState(tx, System, "token.revoke", tok, TokenActive, TokenRevoked); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("write: %v", err)
	}
	if n := len(mustDeliveries(t, s, ep.ID)); n != before {
		t.Fatalf("%d deliveries after a rollback; want %d", n, before)
	}
	// A refusal commits its event but sends nothing.
	if _, err := s.DeactivateUser(ctx, System, svc.ID); err == nil {
		t.Fatal("deactivated a service user with an active token")
	}
	if n := len(mustDeliveries(t, s, ep.ID)); n != before {
		t.Fatalf("%d deliveries after a refusal; want %d", n, before)
	}
	if _, err := s.RevokeToken(ctx, System, tok.ID); err != nil {
		t.Fatal(err)
	}
	if d := mustDeliveries(t, s, ep.ID); len(d) != before+1 || d[0].EventType != EventTokenRevoked {
		t.Fatalf("after a committed revocation: %+v", d)
	}
}

func TestWebhookOneDeliveryPerSubscribedEndpoint(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := webhookTestStore(t, clock)
	all, _ := mustEndpoint(t, s, "https://all.example.com/")
	revocations, _ := mustEndpoint(t, s, "https://revocations.example.com/", EventTokenRevoked, EventServiceUserDeactivated)
	off, _, err := s.CreateWebhookEndpoint(ctx, System, WebhookEndpointInput{URL: "https://off.example.com/", Enabled: false})
	if err != nil {
		t.Fatal(err)
	}
	owner := mustAdmin(t, s, "ada@example.com") // a person: no event
	svc, err := s.CreateServiceUser(ctx, AsUser(owner), NewServiceUser{Name: "Airflow", Role: RoleMember, Owner: Owner{UserID: owner.ID}})
	if err != nil {
		t.Fatal(err)
	}
	tok, secret := mustToken(t, s, svc.ID, "ci", Expiry{Days: 30})
	if _, err := s.RevokeToken(ctx, AsUser(owner), tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RestoreToken(ctx, System, tok.ID); err != nil {
		t.Fatal(err)
	}
	fresh, _, err := s.RotateToken(ctx, System, tok.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx, System, svc.ID, UserUpdate{Role: RoleManager, Owner: Owner{UserID: owner.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx, System, svc.ID, UserUpdate{Role: RoleManager, Description: "x", Owner: Owner{UserID: owner.ID}}); err != nil {
		t.Fatal(err) // no role change: no event
	}
	if _, err := s.RevokeAllTokens(ctx, System, svc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteToken(ctx, System, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeactivateUser(ctx, System, svc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReactivateUser(ctx, System, svc.ID); err != nil {
		t.Fatal(err)
	}

	types := func(ds []WebhookDelivery) string {
		var out []string
		for i := len(ds) - 1; i >= 0; i-- {
			out = append(out, ds[i].EventType)
		}
		return strings.Join(out, " ")
	}
	gotAll := mustDeliveries(t, s, all.ID)
	want := "service_user.created token.created token.revoked token.restored token.rotated service_user.role_changed " +
		"token.revoked token.revoked token.deleted service_user.deactivated service_user.reactivated"
	if got := types(gotAll); got != want {
		t.Fatalf("all-events endpoint got\n %s\nwant\n %s", got, want)
	}
	if got := types(mustDeliveries(t, s, revocations.ID)); got != "token.revoked token.revoked token.revoked service_user.deactivated" {
		t.Fatalf("subscribed endpoint got %s", got)
	}
	if n := len(mustDeliveries(t, s, off.ID)); n != 0 {
		t.Fatalf("disabled endpoint got %d deliveries", n)
	}
	ids := map[string]bool{}
	for _, d := range gotAll {
		if ids[d.MsgID] || !strings.HasPrefix(d.MsgID, "msg_") {
			t.Fatalf("msg id %q repeated or malformed", d.MsgID)
		}
		ids[d.MsgID] = true
		if d.Status != DeliveryPending || d.Attempts != 0 || strings.Contains(d.Payload, secret) || strings.Contains(d.Payload, secret[len(secret)-12:]) {
			t.Fatalf("delivery %+v", d)
		}
	}

	// The revocation's payload names the token, its owner and the actor.
	var p WebhookPayload
	if err := json.Unmarshal([]byte(gotAll[len(gotAll)-3].Payload), &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != EventTokenRevoked || p.Data.Token == nil || p.Data.Token.ID != tok.ID || p.Data.Token.Name != "ci" ||
		p.Data.Token.Last4 != secret[len(secret)-4:] || p.Data.Token.ExpiresAt == nil {
		t.Fatalf("token in payload: %+v", p.Data.Token)
	}
	if su := p.Data.ServiceUser; su == nil || su.ID != svc.ID || su.UserID != *svc.UserID || su.Owner == nil || su.Owner.Type != "user" || su.Owner.ID != owner.ID {
		t.Fatalf("service user in payload: %+v", p.Data.ServiceUser)
	}
	if _, err := time.Parse(time.RFC3339, p.Timestamp); err != nil {
		t.Fatalf("timestamp %q: %v", p.Timestamp, err)
	}
	// The first revocation was the owner's.
	if err := json.Unmarshal([]byte(gotAll[len(gotAll)-3].Payload), &p); err != nil || p.Data.Actor.Kind != ActorHuman || p.Data.Actor.ID == nil || *p.Data.Actor.ID != owner.ID {
		t.Fatalf("actor %+v, %v", p.Data.Actor, err)
	}
	// A rotation names the replacement; a deleted token is still named.
	if err := json.Unmarshal([]byte(gotAll[len(gotAll)-5].Payload), &p); err != nil || p.Data.Replacement == nil || p.Data.Replacement.ID != fresh.ID {
		t.Fatalf("rotation payload %+v, %v", p.Data, err)
	}
	if err := json.Unmarshal([]byte(gotAll[2].Payload), &p); err != nil || p.Type != EventTokenDeleted || p.Data.Token.ID != tok.ID || p.Data.Token.Name != "ci" {
		t.Fatalf("deletion payload %+v, %v", p, err)
	}
	if err := json.Unmarshal([]byte(gotAll[len(gotAll)-6].Payload), &p); err != nil || p.Data.Changes["role"].After != string(RoleManager) {
		t.Fatalf("role change payload %+v, %v", p, err)
	}
}

func TestWebhookDeliverySignedAndVerified(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := webhookTestStore(t, clock)
	recv := newHookReceiver(t, clock)
	ep, secret := mustEndpoint(t, s, recv.URL+"/hook")
	recv.setSecrets(secret)
	svc := mustService(t, s, "Airflow")
	w := s.NewWebhookWorker()
	if n := mustRunOnce(t, w); n != 1 {
		t.Fatalf("claimed %d; want 1", n)
	}
	got := recv.received()
	if len(got) != 1 || !got[0].Verified[0] || got[0].Payload.Type != EventServiceUserCreated || got[0].Payload.Data.ServiceUser.ID != svc.ID {
		t.Fatalf("received %+v", got)
	}
	d := mustDeliveries(t, s, ep.ID)[0]
	if d.Status != DeliveryDelivered || d.Attempts != 1 || d.LastStatusCode == nil || *d.LastStatusCode != 204 ||
		d.DeliveredAt == nil || d.MsgID != got[0].ID || d.LastError != "" || d.ClaimedUntil != nil {
		t.Fatalf("delivery %+v", d)
	}
	if n := mustRunOnce(t, w); n != 0 {
		t.Fatalf("claimed %d after delivery; want 0", n)
	}

	// A tampered body, another secret or an old timestamp fail.
	h := http.Header{}
	h.Set("webhook-id", d.MsgID)
	h.Set("webhook-timestamp", "1")
	h.Set("webhook-signature", got[0].Signature)
	if err := VerifyWebhook(secret, h, []byte(d.Payload), clock.Now()); !errors.Is(err, ErrWebhookTimestamp) {
		t.Fatalf("old timestamp: %v", err)
	}

	// During a rotation both secrets sign, for 24 hours.
	secret2, err := s.RotateWebhookSecret(ctx, System, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	recv.setSecrets(secret, secret2, "whsec_"+base64.StdEncoding.EncodeToString(make([]byte, 32)))
	mustToken(t, s, svc.ID, "ci", Expiry{Days: 30})
	mustRunOnce(t, w)
	got = recv.received()
	if last := got[len(got)-1]; !last.Verified[0] || !last.Verified[1] || last.Verified[2] || len(strings.Fields(last.Signature)) != 2 {
		t.Fatalf("during rotation: %+v", last)
	}
	clock.Advance(24 * time.Hour)
	mustToken(t, s, svc.ID, "ci-2", Expiry{Days: 30})
	mustRunOnce(t, w)
	got = recv.received()
	if last := got[len(got)-1]; last.Verified[0] || !last.Verified[1] || len(strings.Fields(last.Signature)) != 1 {
		t.Fatalf("after rotation: %+v", last)
	}
}

func TestWebhookRetriesWithBackoff(t *testing.T) {
	clock := newTestClock()
	s := webhookTestStore(t, clock)
	recv := newHookReceiver(t, clock)
	recv.setStatus(http.StatusInternalServerError)
	ep, _ := mustEndpoint(t, s, recv.URL)
	mustService(t, s, "Airflow")
	w := s.NewWebhookWorker()
	for i, wait := range append([]time.Duration{0}, webhookBackoff...) {
		clock.Advance(wait - time.Second)
		if wait > 0 {
			if n := mustRunOnce(t, w); n != 0 {
				t.Fatalf("attempt %d: claimed %d a second early", i+1, n)
			}
		}
		clock.Advance(time.Second)
		if n := mustRunOnce(t, w); n != 1 {
			t.Fatalf("attempt %d: claimed %d; want 1", i+1, n)
		}
		d := mustDeliveries(t, s, ep.ID)[0]
		if d.Attempts != i+1 || d.LastError != "HTTP 500" || *d.LastStatusCode != 500 || d.ResponseExcerpt != "thanks" {
			t.Fatalf("attempt %d: %+v", i+1, d)
		}
		switch {
		case i < len(webhookBackoff) && (d.Status != DeliveryPending || !d.NextAttemptAt.Equal(clock.Now().Add(webhookBackoff[i]))):
			t.Fatalf("attempt %d: %s, next at %s", i+1, d.Status, d.NextAttemptAt)
		case i == len(webhookBackoff) && d.Status != DeliveryFailed:
			t.Fatalf("after the last attempt: %s", d.Status)
		}
	}
	clock.Advance(48 * time.Hour)
	if n := mustRunOnce(t, w); n != 0 {
		t.Fatalf("a failed delivery was tried again")
	}
	if n := len(recv.received()); n != 7 {
		t.Fatalf("receiver saw %d attempts; want 7", n)
	}

	// A redirect is a failure, not followed.
	recv.setStatus(http.StatusFound)
	mustService(t, s, "Beta")
	mustRunOnce(t, w)
	if d := mustDeliveries(t, s, ep.ID)[0]; d.Status != DeliveryPending || *d.LastStatusCode != 302 {
		t.Fatalf("redirect: %+v", d)
	}
}

func TestWebhookEndpointDisabledAfterThreeDaysOfFailures(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := webhookTestStore(t, clock)
	recv := newHookReceiver(t, clock)
	recv.setStatus(http.StatusServiceUnavailable)
	ep, _ := mustEndpoint(t, s, recv.URL)
	w := s.NewWebhookWorker()
	mustService(t, s, "Airflow")
	mustRunOnce(t, w)
	start := clock.Now()

	// A success in between starts the count again.
	clock.Advance(48 * time.Hour)
	recv.setStatus(http.StatusOK)
	mustService(t, s, "Beta")
	mustRunOnce(t, w)
	if e, _ := s.WebhookEndpoint(ctx, ep.ID); e.FailingSince != nil {
		t.Fatalf("failing since %v after a success", e.FailingSince)
	}
	recv.setStatus(http.StatusServiceUnavailable)
	mustService(t, s, "Gamma")
	mustRunOnce(t, w)
	if e, _ := s.WebhookEndpoint(ctx, ep.ID); e.FailingSince == nil || !e.FailingSince.After(start) {
		t.Fatalf("failing since %v", e.FailingSince)
	}
	clock.Advance(72*time.Hour - time.Minute)
	mustService(t, s, "Delta")
	mustRunOnce(t, w)
	if e, _ := s.WebhookEndpoint(ctx, ep.ID); !e.Enabled {
		t.Fatal("disabled before 3 days")
	}
	clock.Advance(time.Minute)
	mustService(t, s, "Epsilon")
	mustRunOnce(t, w)
	e, err := s.WebhookEndpoint(ctx, ep.ID)
	if err != nil || e.Enabled || !strings.Contains(e.DisabledReason, "HTTP 503") {
		t.Fatalf("after 3 days: enabled %v, reason %q", e.Enabled, e.DisabledReason)
	}
	events := auEventsAfter(t, s, 0)
	if last := events[len(events)-1]; last.Action != "webhook.disable" || last.ActorKind != ActorSystem || last.TargetID == nil || *last.TargetID != ep.ID {
		t.Fatalf("audit %+v", last)
	}
	// A disabled endpoint gets nothing new, and what waits is not sent.
	n := len(mustDeliveries(t, s, ep.ID))
	mustService(t, s, "Zeta")
	clock.Advance(48 * time.Hour)
	if c := mustRunOnce(t, w); c != 0 || len(mustDeliveries(t, s, ep.ID)) != n {
		t.Fatalf("disabled endpoint: claimed %d", c)
	}
	// Enabled again, it starts afresh.
	if e, err = s.UpdateWebhookEndpoint(ctx, System, ep.ID, WebhookEndpointInput{URL: e.URL, Enabled: true}); err != nil || e.FailingSince != nil || e.DisabledReason != "" {
		t.Fatalf("enable: %+v, %v", e, err)
	}
}

func TestWebhookRefusesPrivateAddresses(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now), WithWebhooks(WebhookConfig{Key: testWebhookKey(t), AllowHTTP: true, Batch: 32}))
	cases := map[string]string{
		"http://127.0.0.1:9/":          "loopback",
		"http://[::1]:9/":              "loopback",
		"http://[::ffff:127.0.0.1]:9/": "loopback",
		"http://10.1.2.3/":             "private",
		"http://172.16.0.1/":           "private",
		"http://192.168.1.1/":          "private",
		"http://100.64.0.1/":           "private",
		"http://169.254.1.1/":          "link-local",
		"http://[fe80::1]/":            "link-local",
		"http://169.254.169.254/":      "cloud metadata",
		"http://[fd00::1]/":            "unique-local",
		"http://[fd00:ec2::254]/":      "unique-local",
		"http://224.0.0.1/":            "multicast",
		"http://[ff02::1]/":            "multicast",
		"http://0.0.0.0/":              "unspecified",
		"http://[::]/":                 "unspecified",
		"http://[64:ff9b::a00:1]/":     "private", // 10.0.0.1 behind NAT64
	}
	endpoints := map[int64]string{}
	for u := range cases {
		ep, _ := mustEndpoint(t, s, u)
		endpoints[ep.ID] = u
	}
	mustService(t, s, "Airflow")
	w := s.NewWebhookWorker()
	if n := mustRunOnce(t, w); n != len(cases) {
		t.Fatalf("claimed %d; want %d", n, len(cases))
	}
	for id, u := range endpoints {
		d := mustDeliveries(t, s, id)[0]
		want := "a " + cases[u] + " address"
		if d.Attempts != 1 || d.Status != DeliveryPending || d.LastStatusCode != nil ||
			!strings.Contains(d.LastError, "refused to connect") || !strings.Contains(d.LastError, want) {
			t.Errorf("%s: %+v; want a refusal naming %q", u, d, want)
		}
	}
	for _, ip := range []string{"93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"} {
		if why := RefusedAddress(netip.MustParseAddr(ip)); why != "" {
			t.Errorf("%s refused as %s", ip, why)
		}
	}
}

func TestWebhookWorkersClaimEachDeliveryOnce(t *testing.T) {
	clock := newTestClock()
	cfg := WebhookConfig{Key: testWebhookKey(t), AllowHTTP: true, AllowPrivate: true, Batch: 3}
	a, b := twoStores(t, WithClock(clock.Now), WithWebhooks(cfg))
	recv := newHookReceiver(t, clock)
	mustEndpoint(t, a, recv.URL)
	svc := mustService(t, a, "Airflow")
	const tokens = 30
	for i := range tokens {
		mustToken(t, b, svc.ID, "t"+string(rune('a'+i)), Expiry{Days: 30})
	}
	var wg sync.WaitGroup
	for _, s := range []*Store{a, b, a, b} {
		w := s.NewWebhookWorker()
		wg.Go(func() {
			for {
				n, err := w.RunOnce(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for _, h := range recv.received() {
		seen[h.ID]++
	}
	if len(seen) != tokens+1 {
		t.Fatalf("%d distinct deliveries; want %d", len(seen), tokens+1)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s arrived %d times", id, n)
		}
	}
}

func TestWebhookNeedsKey(t *testing.T) {
	s := openTestStore(t)
	if _, _, err := s.CreateWebhookEndpoint(context.Background(), System, WebhookEndpointInput{URL: "https://hooks.example.com/"}); !errors.Is(err, ErrNoWebhookKey) {
		t.Fatalf("create without a key: %v", err)
	}
	if k, err := DeriveWebhookKey([]byte(strings.Repeat("k", 32))); err != nil || len(k) != 32 || string(k) == strings.Repeat("k", 32) {
		t.Fatalf("derive: %v", err)
	}
}

func TestWebhookBadReceiversAreBounded(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now), WithWebhooks(WebhookConfig{
		Key: testWebhookKey(t), AllowHTTP: true, AllowPrivate: true, Timeout: 500 * time.Millisecond,
	}))
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	// An endless body: the worker reads 64 KB and hangs up.
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 1<<20))
		for i := 0; i < 100; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(huge.Close)
	recv := newHookReceiver(t, clock)
	hangEP, _ := mustEndpoint(t, s, hang.URL)
	hugeEP, _ := mustEndpoint(t, s, huge.URL)
	okEP, _ := mustEndpoint(t, s, recv.URL)
	mustService(t, s, "Airflow")
	mustRunOnce(t, s.NewWebhookWorker())
	if d := mustDeliveries(t, s, hangEP.ID)[0]; d.Status != DeliveryPending || d.Attempts != 1 || !strings.Contains(d.LastError, "no answer within") {
		t.Errorf("hanging receiver: %+v", d)
	}
	d := mustDeliveries(t, s, hugeEP.ID)[0]
	if d.Status != DeliveryDelivered || len(d.ResponseExcerpt) != webhookExcerpt {
		t.Errorf("huge body: status %s, excerpt of %d bytes", d.Status, len(d.ResponseExcerpt))
	}
	if d := mustDeliveries(t, s, okEP.ID)[0]; d.Status != DeliveryDelivered {
		t.Errorf("the other endpoint: %+v", d)
	}
}

// A test event goes to the one endpoint asked for, whatever it subscribes
// to, and wakes the worker once committed; a disabled endpoint is refused,
// and the refusal audited.
func TestWebhookTestEventOneEndpoint(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := webhookTestStore(t, clock)
	rcv := newHookReceiver(t, clock)
	asked, secret := mustEndpoint(t, s, rcv.URL+"/asked", EventTokenExpired)
	other, _ := mustEndpoint(t, s, rcv.URL+"/other")
	select {
	case <-s.webhookWake:
		t.Fatal("creating endpoints woke the worker: nothing is due")
	default:
	}

	msgID, err := s.SendWebhookTest(ctx, System, asked.ID)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.webhookWake:
	default:
		t.Error("the committed test event did not wake the worker")
	}
	if d := mustDeliveries(t, s, other.ID); len(d) != 0 {
		t.Errorf("the other endpoint got %d deliveries", len(d))
	}
	d := mustDeliveries(t, s, asked.ID)
	if len(d) != 1 || d[0].EventType != EventWebhookTest || d[0].MsgID != msgID || d[0].Status != DeliveryPending {
		t.Fatalf("deliveries: %+v", d)
	}
	rcv.setSecrets(secret)
	mustRunOnce(t, s.NewWebhookWorker())
	got := rcv.received()
	if len(got) != 1 || got[0].Payload.Type != EventWebhookTest || !got[0].Verified[0] || got[0].ID != msgID {
		t.Fatalf("received %+v", got)
	}

	if _, err := s.UpdateWebhookEndpoint(ctx, System, asked.ID, WebhookEndpointInput{URL: asked.URL, Enabled: false}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SendWebhookTest(ctx, System, asked.ID); !errors.Is(err, ErrWebhookDisabled) {
		t.Fatalf("a test to a disabled endpoint: %v", err)
	}
	page, err := s.ListAudit(ctx, AuditQuery{Limit: 1})
	if err != nil || len(page.Events) != 1 || page.Events[0].Action != "webhook.test" || page.Events[0].Outcome != OutcomeDenied {
		t.Errorf("the refusal is not audited: %+v, %v", page.Events, err)
	}
	if _, err := s.SendWebhookTest(ctx, System, 424242); !errors.Is(err, ErrNotFound) {
		t.Errorf("a test to no endpoint: %v", err)
	}
	if n := len(mustDeliveries(t, s, asked.ID)); n != 1 {
		t.Errorf("%d deliveries after the refusals, want the first one only", n)
	}
}

// TestWebhookRedeliver: a delivery that failed every attempt is put back
// into the outbox by RedeliverWebhook, wakes the worker, and is sent again
// as the same message (same webhook-id, same payload); so is one that was
// received. The endpoint's health follows.
func TestWebhookRedeliver(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := webhookTestStore(t, clock)
	rcv := newHookReceiver(t, clock)
	rcv.setStatus(http.StatusInternalServerError)
	ep, secret := mustEndpoint(t, s, rcv.URL+"/hook", EventServiceUserCreated)
	rcv.setSecrets(secret)
	other, _ := mustEndpoint(t, s, rcv.URL+"/other", EventTokenExpired)
	mustService(t, s, "Airflow")
	w := s.NewWebhookWorker()
	for _, wait := range append([]time.Duration{0}, webhookBackoff...) {
		clock.Advance(wait)
		mustRunOnce(t, w)
	}
	d := mustDeliveries(t, s, ep.ID)[0]
	if d.Status != DeliveryFailed || d.Attempts != len(webhookBackoff)+1 {
		t.Fatalf("before: %+v", d)
	}
	sent := len(rcv.received())
	health, err := s.WebhookHealths(ctx)
	if h := health[ep.ID]; err != nil || h.LastSuccess != nil || h.FailuresSinceSuccess != 1 || h.Pending != 0 {
		t.Fatalf("health while failing: %+v, %v", h, err)
	}

	// Not through another endpoint, nor for an unknown delivery.
	if err := s.RedeliverWebhook(ctx, System, other.ID, d.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("redeliver through another endpoint: %v", err)
	}
	if err := s.RedeliverWebhook(ctx, System, ep.ID, 424242); !errors.Is(err, ErrNotFound) {
		t.Fatalf("redeliver an unknown delivery: %v", err)
	}
	select {
	case <-s.webhookWake:
	default:
	}

	clock.Advance(time.Hour)
	if err := s.RedeliverWebhook(ctx, System, ep.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.webhookWake:
	default:
		t.Error("the redelivery did not wake the worker")
	}
	again := mustDeliveries(t, s, ep.ID)[0]
	if again.ID != d.ID || again.Status != DeliveryPending || again.Attempts != 0 || !again.NextAttemptAt.Equal(clock.Now()) ||
		again.MsgID != d.MsgID || again.Payload != d.Payload || again.LastError != "" || again.LastStatusCode != nil {
		t.Fatalf("after redeliver: %+v", again)
	}
	if h, _ := s.WebhookHealths(ctx); h[ep.ID].Pending != 1 {
		t.Errorf("pending after redeliver: %+v", h[ep.ID])
	}
	events := auEventsAfter(t, s, 0)
	if e := events[len(events)-1]; e.Action != "webhook.redeliver" || e.Outcome != OutcomeSuccess || e.Reason != EventServiceUserCreated ||
		e.TargetID == nil || *e.TargetID != ep.ID {
		t.Fatalf("audit: %+v", e)
	}

	rcv.setStatus(http.StatusNoContent)
	if n := mustRunOnce(t, w); n != 1 {
		t.Fatalf("the worker claimed %d after the redelivery; want 1", n)
	}
	got := rcv.received()
	if len(got) != sent+1 {
		t.Fatalf("the receiver got %d; want %d (the redelivery)", len(got), sent+1)
	}
	if last := got[len(got)-1]; last.ID != d.MsgID || !last.Verified[0] || last.Payload.Type != EventServiceUserCreated {
		t.Fatalf("redelivered %+v; want webhook-id %s, verified", last, d.MsgID)
	}
	done := mustDeliveries(t, s, ep.ID)[0]
	if done.Status != DeliveryDelivered || done.Attempts != 1 || done.DeliveredAt == nil {
		t.Fatalf("after sending: %+v", done)
	}
	health, _ = s.WebhookHealths(ctx)
	if h := health[ep.ID]; h.LastSuccess == nil || !h.LastSuccess.Equal(clock.Now()) || h.FailuresSinceSuccess != 0 || h.Pending != 0 {
		t.Fatalf("health after the success: %+v", h)
	}

	// A received delivery can be sent again too.
	if err := s.RedeliverWebhook(ctx, System, ep.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	mustRunOnce(t, w)
	if got := rcv.received(); len(got) != sent+2 || got[len(got)-1].ID != d.MsgID {
		t.Fatalf("a received delivery was not sent again: %d received", len(got))
	}

	// A disabled endpoint is refused, and the refusal audited.
	if _, err := s.UpdateWebhookEndpoint(ctx, System, ep.ID, WebhookEndpointInput{URL: ep.URL, Enabled: false}); err != nil {
		t.Fatal(err)
	}
	if err := s.RedeliverWebhook(ctx, System, ep.ID, d.ID); !errors.Is(err, ErrWebhookDisabledRedeliver) {
		t.Fatalf("redeliver to a disabled endpoint: %v", err)
	}
	events = auEventsAfter(t, s, 0)
	if e := events[len(events)-1]; e.Action != "webhook.redeliver" || e.Outcome != OutcomeDenied {
		t.Fatalf("the refusal is not audited: %+v", e)
	}
	if d := mustDeliveries(t, s, ep.ID)[0]; d.Status != DeliveryDelivered {
		t.Fatalf("the refused redelivery changed the delivery: %+v", d)
	}
}

// TestAutoDisabledWebhookEndpoints lists only the endpoints Warden turned
// off for failing, not those an administrator turned off.
func TestAutoDisabledWebhookEndpoints(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := webhookTestStore(t, clock)
	rcv := newHookReceiver(t, clock)
	rcv.setStatus(http.StatusServiceUnavailable)
	failing, _ := mustEndpoint(t, s, rcv.URL+"/failing")
	off, _ := mustEndpoint(t, s, rcv.URL+"/off")
	if _, err := s.UpdateWebhookEndpoint(ctx, System, off.ID, WebhookEndpointInput{URL: off.URL, Enabled: false}); err != nil {
		t.Fatal(err)
	}
	w := s.NewWebhookWorker()
	mustService(t, s, "Airflow")
	mustRunOnce(t, w)
	if got, err := s.AutoDisabledWebhookEndpoints(ctx); err != nil || len(got) != 0 {
		t.Fatalf("before 3 days: %+v, %v", got, err)
	}
	clock.Advance(72 * time.Hour)
	mustService(t, s, "Beta")
	mustRunOnce(t, w)
	got, err := s.AutoDisabledWebhookEndpoints(ctx)
	if err != nil || len(got) != 1 || got[0].ID != failing.ID || got[0].URL != failing.URL || got[0].DisabledReason == "" {
		t.Fatalf("after 3 days: %+v, %v", got, err)
	}
}
