package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/warden-console/warden/handlers"
	"github.com/warden-console/warden/models"
)

const jsonCT = "application/json"

// createHook creates an endpoint through the API and returns it with its
// secret.
func createHook(t *testing.T, f *apiFixture, body string) handlers.APIWebhookWithSecret {
	t.Helper()
	resp, out := f.call(t, "POST", "/api/v1/webhooks", f.admin, jsonCT, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /webhooks %s: %d %s", body, resp.StatusCode, snippet(out))
	}
	var hook handlers.APIWebhookWithSecret
	decodeInto(t, out, &hook)
	return hook
}

func TestAPIWebhooksCRUDAndSecretShownOnce(t *testing.T) {
	f := newAPIFixture(t)
	resp, out := f.call(t, "POST", "/api/v1/webhooks", f.admin, jsonCT,
		`{"url":"https://hooks.example.com/warden?k=v","description":"SIEM","events":["token.revoked","token.created","token.revoked"]}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, out)
	}
	var hook handlers.APIWebhookWithSecret
	decodeInto(t, out, &hook)
	path := fmt.Sprintf("/api/v1/webhooks/%d", hook.ID)
	if got := resp.Header.Get("Location"); got != path {
		t.Errorf("Location = %q, want %q", got, path)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the answer with the secret may be cached: Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	if !strings.HasPrefix(hook.Secret, "whsec_") || len(hook.Secret) < len("whsec_")+32 {
		t.Errorf("secret %q is not whsec_ and the base64 of ≥24 bytes", hook.Secret)
	}
	if !hook.Enabled || hook.URL != "https://hooks.example.com/warden?k=v" || hook.Description != "SIEM" ||
		strings.Join(hook.Events, ",") != "token.created,token.revoked" {
		t.Errorf("created %+v", hook.APIWebhook)
	}

	// The secret is never read back.
	secrets := []string{hook.Secret}
	noSecret := func(what, body string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(body, s) || strings.Contains(body, strings.TrimPrefix(s, "whsec_")) {
				t.Errorf("%s shows a signing secret: %s", what, snippet(body))
			}
		}
		if strings.Contains(body, `"secret"`) {
			t.Errorf("%s has a secret field: %s", what, snippet(body))
		}
	}
	_, out = f.call(t, "GET", path, f.admin, "", "")
	noSecret("GET /webhooks/{id}", out)
	_, out = f.call(t, "GET", "/api/v1/webhooks", f.admin, "", "")
	noSecret("GET /webhooks", out)
	var list handlers.APIWebhookList
	decodeInto(t, out, &list)
	if len(list.Items) != 1 || list.Items[0].ID != hook.ID {
		t.Errorf("list: %s", out)
	}

	// PATCH: the fields sent change, the others stay.
	resp, out = f.call(t, "PATCH", path, f.admin, jsonCT, `{"enabled":false}`)
	var got handlers.APIWebhook
	decodeInto(t, out, &got)
	if resp.StatusCode != 200 || got.Enabled || got.URL != hook.URL || got.Description != "SIEM" || len(got.Events) != 2 {
		t.Errorf("PATCH enabled=false: %d %s", resp.StatusCode, out)
	}
	noSecret("PATCH", out)
	_, out = f.call(t, "PATCH", path, f.admin, jsonCT, `{"url":"https://other.example.com/","events":[],"description":""}`)
	decodeInto(t, out, &got)
	if got.URL != "https://other.example.com/" || len(got.Events) != 0 || got.Description != "" || got.Enabled {
		t.Errorf("PATCH url, events, description: %s", out)
	}

	// Rotation answers a new secret once; the old one signs for 24 h.
	resp, out = f.call(t, "POST", path+"/rotate-secret", f.admin, "", "")
	var rotated handlers.APIWebhookWithSecret
	decodeInto(t, out, &rotated)
	if resp.StatusCode != 200 || !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.Secret == hook.Secret {
		t.Fatalf("rotate: %d %s", resp.StatusCode, out)
	}
	if rotated.PreviousSecretUntil == nil || rotated.PreviousSecretUntil.Sub(f.h.clock.Now()).Round(time.Minute) != 24*time.Hour {
		t.Errorf("previous_secret_until = %v, want 24 h from now", rotated.PreviousSecretUntil)
	}
	secrets = append(secrets, rotated.Secret)
	_, out = f.call(t, "GET", path, f.admin, "", "")
	noSecret("GET after a rotation", out)

	// Changes are audited, without a secret or the URL's path and query.
	// (The audit filters do not offer webhook actions yet: the console's
	// webhook page will word them.)
	_, out = f.call(t, "GET", "/api/v1/audit?limit=500", f.admin, "", "")
	noSecret("the audit log", out)
	for _, action := range []string{"webhook.create", "webhook.update", "webhook.rotate_secret"} {
		if !strings.Contains(out, `"action":"`+action+`"`) {
			t.Errorf("no %s event in %s", action, snippet(out))
		}
	}
	if strings.Contains(out, "k=v") {
		t.Errorf("the audit log shows the URL's query: %s", snippet(out))
	}
	noSecret("the logs", f.h.logs.String())

	// Delete, then it is gone everywhere.
	resp, _ = f.call(t, "DELETE", path, f.admin, "", "")
	expectStatus(t, resp, http.StatusNoContent)
	for _, c := range []struct{ method, path, body string }{
		{"GET", path, ""}, {"PATCH", path, `{}`}, {"DELETE", path, ""}, {"POST", path + "/rotate-secret", ""},
		{"POST", path + "/test", ""}, {"GET", path + "/deliveries", ""},
	} {
		ct := ""
		if c.body != "" {
			ct = jsonCT
		}
		resp, out := f.call(t, c.method, c.path, f.admin, ct, c.body)
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s after delete: %d %s", c.method, c.path, resp.StatusCode, out)
		}
	}
	_, out = f.call(t, "GET", "/api/v1/audit?limit=5", f.admin, "", "")
	if !strings.Contains(out, `"action":"webhook.delete"`) {
		t.Errorf("the delete is not audited: %s", snippet(out))
	}
}

func TestAPIWebhooksValidation(t *testing.T) {
	f := newAPIFixture(t)
	long := strings.Repeat("é", 1001)
	cases := []struct {
		name, body, field string
	}{
		{"no url", `{"description":"x"}`, "url"},
		{"empty url", `{"url":""}`, "url"},
		{"not a url", `{"url":"hooks.example.com/warden"}`, "url"},
		{"http without --webhook-allow-http", `{"url":"http://hooks.example.com/"}`, "url"},
		{"another scheme", `{"url":"ftp://hooks.example.com/"}`, "url"},
		{"credentials", `{"url":"https://user:secret@hooks.example.com/"}`, "url"},
		{"user name only", `{"url":"https://user@hooks.example.com/"}`, "url"},
		{"fragment", `{"url":"https://hooks.example.com/#x"}`, "url"},
		{"url too long", `{"url":"https://hooks.example.com/` + strings.Repeat("a", 2000) + `"}`, "url"},
		{"unknown event", `{"url":"https://hooks.example.com/","events":["token.revoked","token.exploded"]}`, "events"},
		{"test is not an event to subscribe to", `{"url":"https://hooks.example.com/","events":["webhook.test"]}`, "events"},
		{"control character in the description", `{"url":"https://hooks.example.com/","description":"a\u0000b"}`, "description"},
		{"description too long", `{"url":"https://hooks.example.com/","description":"` + long + `"}`, "description"},
	}
	for _, c := range cases {
		resp, out := f.call(t, "POST", "/api/v1/webhooks", f.admin, jsonCT, c.body)
		var p handlers.Problem
		_ = json.Unmarshal([]byte(out), &p)
		if resp.StatusCode != http.StatusUnprocessableEntity || p.Type != handlers.ProblemValidation || p.Errors[c.field] == "" {
			t.Errorf("%s: %d %s, want 422 naming %s", c.name, resp.StatusCode, snippet(out), c.field)
		}
		if strings.Contains(out, "secret@") {
			t.Errorf("%s: the problem repeats the URL's password: %s", c.name, out)
		}
	}
	// The wrong JSON type is a 400 naming the field, like elsewhere.
	resp, out := f.call(t, "POST", "/api/v1/webhooks", f.admin, jsonCT, `{"url":"https://hooks.example.com/","events":"token.revoked"}`)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(out, `"errors":{"events":`) {
		t.Errorf("events as a string: %d %s", resp.StatusCode, out)
	}
	// The secret is Warden's to make, not the caller's.
	resp, out = f.call(t, "POST", "/api/v1/webhooks", f.admin, jsonCT, `{"url":"https://hooks.example.com/","secret":"whsec_bWluZQ=="}`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a chosen secret: %d %s", resp.StatusCode, out)
	}

	// A refused change leaves the endpoint as it was.
	hook := createHook(t, f, `{"url":"https://hooks.example.com/a","events":["token.created"]}`)
	path := fmt.Sprintf("/api/v1/webhooks/%d", hook.ID)
	for _, b := range []string{`{"url":"https://u:p@hooks.example.com/"}`, `{"events":["nope"]}`, `{"description":"` + long + `"}`} {
		resp, out := f.call(t, "PATCH", path, f.admin, jsonCT, b)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("PATCH %s: %d %s", snippet(b), resp.StatusCode, out)
		}
	}
	_, out = f.call(t, "GET", path, f.admin, "", "")
	var got handlers.APIWebhook
	decodeInto(t, out, &got)
	if got.URL != "https://hooks.example.com/a" || strings.Join(got.Events, ",") != "token.created" || got.Description != "" {
		t.Errorf("after refused changes: %s", out)
	}

	// Unknown and malformed ids are 404s.
	for _, id := range []string{"999999", "0", "abc"} {
		resp, _ := f.call(t, "GET", "/api/v1/webhooks/"+id, f.admin, "", "")
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /webhooks/%s: %d", id, resp.StatusCode)
		}
	}
	// The delivery log's limit.
	for _, q := range []string{"0", "101", "x", "-1"} {
		resp, out := f.call(t, "GET", path+"/deliveries?limit="+q, f.admin, "", "")
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(out, `"limit"`) {
			t.Errorf("deliveries?limit=%s: %d %s", q, resp.StatusCode, out)
		}
	}
}

// TestAPIWebhooksAdminOnly: Managers and Members are refused every
// webhook route with 403, and each refusal is audited.
func TestAPIWebhooksAdminOnly(t *testing.T) {
	f := newAPIFixture(t)
	hook := createHook(t, f, `{"url":"https://hooks.example.com/"}`)
	id := fmt.Sprint(hook.ID)
	routes := []struct{ method, path, body string }{
		{"GET", "/api/v1/webhooks", ""},
		{"POST", "/api/v1/webhooks", `{"url":"https://x.example.com/"}`},
		{"GET", "/api/v1/webhooks/" + id, ""},
		{"PATCH", "/api/v1/webhooks/" + id, `{"description":"changed"}`},
		{"POST", "/api/v1/webhooks/" + id + "/rotate-secret", ""},
		{"POST", "/api/v1/webhooks/" + id + "/test", ""},
		{"GET", "/api/v1/webhooks/" + id + "/deliveries", ""},
		{"DELETE", "/api/v1/webhooks/" + id, ""}, // last: the Admin's goes through
	}
	ctx := context.Background()
	st := f.h.srv.Store()
	for _, caller := range []struct {
		name  string
		token string
		id    int64
	}{{"manager", f.manager, f.managerID}, {"member", f.member, f.memberID}} {
		before, err := st.ListAudit(ctx, models.AuditQuery{Actions: []string{"auth.denied"}, ActorID: caller.id, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range routes {
			ct := ""
			if r.body != "" {
				ct = jsonCT
			}
			resp, out := f.call(t, r.method, r.path, caller.token, ct, r.body)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(out, handlers.ProblemForbidden) {
				t.Errorf("%s %s as %s: %d %s", r.method, r.path, caller.name, resp.StatusCode, snippet(out))
			}
		}
		after, err := st.ListAudit(ctx, models.AuditQuery{Actions: []string{"auth.denied"}, ActorID: caller.id, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(after.Events) - len(before.Events); n != len(routes) {
			t.Errorf("%s: %d refusals audited, want %d", caller.name, n, len(routes))
		}
		for _, e := range after.Events[:len(routes)] {
			if e.Outcome != models.OutcomeDenied || e.Reason != "needs_admin" || !strings.Contains(e.TargetLabel, "/webhooks") {
				t.Errorf("%s: refusal recorded as %+v", caller.name, e)
			}
		}
	}
	// Nothing changed, and the Admin may do it all.
	for _, r := range routes {
		ct := ""
		if r.body != "" {
			ct = jsonCT
		}
		resp, out := f.call(t, r.method, r.path, f.admin, ct, r.body)
		if resp.StatusCode >= 300 {
			t.Errorf("%s %s as admin: %d %s", r.method, r.path, resp.StatusCode, snippet(out))
		}
	}
}

// received is one request a test receiver got.
type received struct {
	header http.Header
	body   []byte
}

// TestWebhookDeliveredEndToEnd runs the real server with its worker: an
// endpoint made through the API on a loopback receiver gets a signed
// token.revoked when a token is revoked through the API, and a test event
// on request. The poll interval is an hour: the change itself wakes the
// worker.
func TestWebhookDeliveredEndToEnd(t *testing.T) {
	f := newAPIFixture(t, func(c *Config) {
		c.WebhookAllowHTTP, c.WebhookAllowPrivate = true, true
		c.WebhookPollInterval = time.Hour
	})
	got := make(chan received, 8)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- received{header: r.Header.Clone(), body: b}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.h.srv.Serve(ctx, ln) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}
	}
	defer stop()

	base := "http://" + ln.Addr().String() + "/api/v1"
	call := func(method, path, body string) (int, string) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.Header.Set("Authorization", "Bearer "+f.admin)
		if body != "" {
			req.Header.Set("Content-Type", jsonCT)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	wait := func(what string) received {
		t.Helper()
		select {
		case r := <-got:
			return r
		case <-time.After(15 * time.Second):
			t.Fatalf("no %s delivery within 15 s", what)
			return received{}
		}
	}

	status, out := call("POST", "/webhooks", fmt.Sprintf(`{"url":%q,"events":["token.revoked"]}`, receiver.URL+"/hook?team=ops"))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, out)
	}
	var hook handlers.APIWebhookWithSecret
	decodeInto(t, out, &hook)

	// A second token of the member, revoked through the API.
	tok, tokSecret, err := f.h.srv.Store().GenerateToken(context.Background(), models.AsUser(f.adminUser), f.memberID,
		models.NewToken{Name: "to-revoke", Expiry: models.Expiry{Days: 30}})
	if err != nil {
		t.Fatal(err)
	}
	if status, out := call("POST", fmt.Sprintf("/tokens/%d/revoke", tok.ID), ""); status != http.StatusOK {
		t.Fatalf("revoke: %d %s", status, out)
	}
	r := wait("token.revoked")
	if err := models.VerifyWebhook(hook.Secret, r.header, r.body, time.Now()); err != nil {
		t.Fatalf("the delivery does not verify: %v\nheaders %v\nbody %s", err, r.header, r.body)
	}
	var payload models.WebhookPayload
	if err := json.Unmarshal(r.body, &payload); err != nil {
		t.Fatal(err)
	}
	if payload.Type != models.EventTokenRevoked || payload.Data.Token == nil || payload.Data.Token.ID != tok.ID ||
		payload.Data.ServiceUser == nil || payload.Data.ServiceUser.ID != f.memberID || payload.Data.Actor.ID == nil || *payload.Data.Actor.ID != f.adminUserID {
		t.Errorf("payload: %s", r.body)
	}
	if strings.Contains(string(r.body), tokSecret) || strings.Contains(string(r.body), "whsec_") {
		t.Errorf("the payload carries a secret: %s", r.body)
	}

	// The delivery log says it was delivered, once recorded.
	path := fmt.Sprintf("/webhooks/%d/deliveries", hook.ID)
	deadline := time.Now().Add(15 * time.Second)
	var log handlers.APIWebhookDeliveryList
	for {
		_, out = call("GET", path, "")
		decodeInto(t, out, &log)
		if len(log.Items) == 1 && log.Items[0].Status == models.DeliveryDelivered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the delivery is not recorded as delivered: %s", out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	d := log.Items[0]
	if d.EventType != models.EventTokenRevoked || d.Attempts != 1 || d.LastStatusCode == nil || *d.LastStatusCode != 204 ||
		d.DurationMs == nil || d.DeliveredAt == nil || d.NextAttemptAt != nil || d.WebhookID != r.header.Get("webhook-id") {
		t.Errorf("delivery log: %s", out)
	}

	// A test event goes to this endpoint alone, whatever it subscribes to.
	status, out = call("POST", fmt.Sprintf("/webhooks/%d/test", hook.ID), "")
	if status != http.StatusAccepted {
		t.Fatalf("test: %d %s", status, out)
	}
	var queued handlers.APIWebhookTestQueued
	decodeInto(t, out, &queued)
	r = wait("webhook.test")
	if err := models.VerifyWebhook(hook.Secret, r.header, r.body, time.Now()); err != nil {
		t.Errorf("the test event does not verify: %v", err)
	}
	if r.header.Get("webhook-id") != queued.WebhookID || !strings.Contains(string(r.body), `"type":"webhook.test"`) {
		t.Errorf("test event %v %s, queued as %+v", r.header, r.body, queued)
	}

	// The server stops cleanly with its worker, and nothing else arrived.
	stop()
	select {
	case r := <-got:
		t.Errorf("an unexpected delivery: %s", r.body)
	default:
	}
}

// TestWebhookEventsInTheAuditLog: endpoint changes are audit actions like
// any other, filterable by action and by target, and the console words them
// without the URL's path.
func TestWebhookEventsInTheAuditLog(t *testing.T) {
	f := newAPIFixture(t)
	hook := createHook(t, f, `{"url":"https://siem.example.com/in/s3cr3t-path"}`)
	resp, out := f.call(t, "GET", fmt.Sprintf("/api/v1/audit?action=webhook.create&target_kind=webhook&target_id=%d", hook.ID), f.admin, "", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(out, `"webhook.create"`) {
		t.Fatalf("the audit API by webhook action and target: %d %s", resp.StatusCode, snippet(out))
	}
	if strings.Contains(out, "s3cr3t-path") {
		t.Errorf("the audit log shows the endpoint's path: %s", snippet(out))
	}
	c := f.h.client() // the fixture's human admin
	c.login("ada@example.com", testPassword)
	expectStatus(t, c.get(fmt.Sprintf("/audit?target_kind=webhook&target_id=%d", hook.ID)), http.StatusOK)
	if !strings.Contains(c.lastBody, "added webhook endpoint") || strings.Contains(c.lastBody, "s3cr3t-path") {
		t.Errorf("the console's audit log: %s", snippet(c.lastBody))
	}
}
