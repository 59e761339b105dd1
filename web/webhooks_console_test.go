package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-console/warden/models"
)

var whsecPattern = regexp.MustCompile(`whsec_[A-Za-z0-9+/=]+`)

// hookConsole is a signed-in console whose webhooks may use http:// and
// reach a loopback receiver, as the worker run by the tests delivers.
func hookConsole(t *testing.T) (*harness, *client, *models.User) {
	t.Helper()
	h := newHarness(t, func(c *Config) { c.WebhookAllowHTTP, c.WebhookAllowPrivate = true, true })
	admin := h.admin("ada@example.com")
	c := h.client()
	c.login("ada@example.com", testPassword)
	c.get("/settings/webhooks")
	return h, c, admin
}

// consoleReceiver is a loopback webhook receiver that answers with the
// status set and remembers each webhook-id it got.
type consoleReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	ids    []string
}

func newConsoleReceiver(t *testing.T, status int) *consoleReceiver {
	t.Helper()
	r := &consoleReceiver{status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.ids = append(r.ids, req.Header.Get("webhook-id"))
		w.WriteHeader(r.status)
		_, _ = io.WriteString(w, "receiver says <no>")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *consoleReceiver) setStatus(code int) {
	r.mu.Lock()
	r.status = code
	r.mu.Unlock()
}

func (r *consoleReceiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

// addHook creates an endpoint through the form and returns its id and the
// secret the answer showed.
func addHook(t *testing.T, h *harness, c *client, form url.Values) (int64, string) {
	t.Helper()
	before, _ := h.srv.Store().WebhookEndpoints(context.Background())
	resp := c.post("/settings/webhooks", form)
	expectStatus(t, resp, http.StatusOK)
	after, err := h.srv.Store().WebhookEndpoints(context.Background())
	if err != nil || len(after) != len(before)+1 {
		t.Fatalf("the endpoint was not created: %d → %d (%v)", len(before), len(after), err)
	}
	return after[len(after)-1].ID, whsecPattern.FindString(c.lastBody)
}

func runWorker(t *testing.T, h *harness) int {
	t.Helper()
	n, err := h.srv.Store().NewWebhookWorker().RunOnce(context.Background())
	if err != nil {
		t.Fatalf("worker: %v", err)
	}
	return n
}

func TestConsoleWebhookCreateShowsTheSecretOnce(t *testing.T) {
	h, c, _ := hookConsole(t)
	resp := c.get("/settings/webhooks")
	expectStatus(t, resp, http.StatusOK)
	for _, want := range []string{"Add endpoint", `name="events" value="token.revoked"`, "Service users", "No endpoints yet"} {
		if !strings.Contains(c.lastBody, want) {
			t.Errorf("the empty page lacks %q", want)
		}
	}
	resp = c.post("/settings/webhooks", url.Values{
		"url": {"https://hooks.example.com/warden?k=s3cr3t"}, "description": {"SIEM feed"},
		"events": {"token.revoked", "service_user.created"}, "enabled": {"true"},
	})
	expectStatus(t, resp, http.StatusOK)
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the page with the secret may be cached: Cache-Control %q", cc)
	}
	secret := whsecPattern.FindString(c.lastBody)
	if len(secret) < len("whsec_")+40 || !strings.Contains(c.lastBody, "only time it is shown") {
		t.Fatalf("the answer does not show the secret: %s", snippet(c.lastBody))
	}
	hooks, _ := h.srv.Store().WebhookEndpoints(context.Background())
	if len(hooks) != 1 || hooks[0].URL != "https://hooks.example.com/warden?k=s3cr3t" || hooks[0].Description != "SIEM feed" ||
		hooks[0].Events != "service_user.created token.revoked" || !hooks[0].Enabled {
		t.Fatalf("created %+v", hooks)
	}
	id := hooks[0].ID
	// Never again: not on the list, the endpoint's page, settings, the
	// audit log, nor on a second visit.
	for _, path := range []string{"/settings/webhooks", fmt.Sprintf("/settings/webhooks/%d", id), "/settings", "/audit", "/users"} {
		expectStatus(t, c.get(path), http.StatusOK)
		if strings.Contains(c.lastBody, secret) || strings.Contains(c.lastBody, "whsec_") {
			t.Errorf("GET %s shows the secret again", path)
		}
	}
	// The list says what it is and how it does.
	c.get("/settings/webhooks")
	for _, want := range []string{"hooks.example.com/warden?k=s3cr3t", "SIEM feed", "service_user.created, token.revoked", "Never", "Enabled"} {
		if !strings.Contains(c.lastBody, want) {
			t.Errorf("the list lacks %q", want)
		}
	}
	// No event checked is all of them.
	addHook(t, h, c, url.Values{"url": {"https://all.example.com/"}, "enabled": {"true"}})
	hooks, _ = h.srv.Store().WebhookEndpoints(context.Background())
	if hooks[1].Events != "" {
		t.Errorf("no box checked stored %q; want all", hooks[1].Events)
	}
}

func TestConsoleWebhookBadInputKeepsTheForm(t *testing.T) {
	h, c, _ := hookConsole(t)
	resp := c.post("/settings/webhooks", url.Values{
		"url": {"ftp://hooks.example.com/in"}, "description": {"Kept & shown"}, "events": {"token.revoked", "token.exploded"},
	})
	expectStatus(t, resp, http.StatusUnprocessableEntity)
	for _, want := range []string{"Use an https:// URL.", `Unknown event type &#34;token.exploded&#34;.`, `value="ftp://hooks.example.com/in"`,
		`value="Kept &amp; shown"`, `value="token.revoked" checked`, `id="url-error"`} {
		if !strings.Contains(c.lastBody, want) {
			t.Errorf("the 422 lacks %q", want)
		}
	}
	if hooks, _ := h.srv.Store().WebhookEndpoints(context.Background()); len(hooks) != 0 {
		t.Fatalf("bad input created %+v", hooks)
	}

	id, _ := addHook(t, h, c, url.Values{"url": {"https://hooks.example.com/in"}, "enabled": {"true"}})
	path := fmt.Sprintf("/settings/webhooks/%d", id)
	c.get(path)
	resp = c.post(path, url.Values{"url": {""}, "description": {"new words"}, "events": {"token.created"}, "enabled": {"true"}})
	expectStatus(t, resp, http.StatusUnprocessableEntity)
	for _, want := range []string{"Enter the URL that receives the webhooks.", `value="new words"`, `value="token.created" checked`, "Edit endpoint"} {
		if !strings.Contains(c.lastBody, want) {
			t.Errorf("the edit 422 lacks %q", want)
		}
	}
	if e, _ := h.srv.Store().WebhookEndpoint(context.Background(), id); e.URL != "https://hooks.example.com/in" || e.Description != "" {
		t.Errorf("bad input changed the endpoint: %+v", e)
	}
	// Good input saves and goes back to the page.
	expectRedirect(t, c.post(path, url.Values{"url": {"https://hooks.example.com/v2"}, "events": {"token.created"}}), path)
	if e, _ := h.srv.Store().WebhookEndpoint(context.Background(), id); e.URL != "https://hooks.example.com/v2" || e.Events != "token.created" || e.Enabled {
		t.Errorf("saved %+v", e)
	}
	// An unknown endpoint is a 404, not a 500.
	expectStatus(t, c.get("/settings/webhooks/424242"), http.StatusNotFound)
	expectStatus(t, c.post("/settings/webhooks/424242", url.Values{"url": {"https://x.example.com"}}), http.StatusNotFound)
}

func TestConsoleWebhookEnableDisableDelete(t *testing.T) {
	h, c, _ := hookConsole(t)
	id, _ := addHook(t, h, c, url.Values{"url": {"https://hooks.example.com/in"}, "enabled": {"true"}})
	path := fmt.Sprintf("/settings/webhooks/%d", id)
	c.get(path)
	expectRedirect(t, c.post(path+"/disable", nil), path)
	if e, _ := h.srv.Store().WebhookEndpoint(context.Background(), id); e.Enabled {
		t.Fatal("still enabled")
	}
	expectRedirect(t, c.post(path+"/enable", nil), path)
	if e, _ := h.srv.Store().WebhookEndpoint(context.Background(), id); !e.Enabled {
		t.Fatal("still disabled")
	}

	expectStatus(t, c.get(path+"/delete"), http.StatusOK)
	if !strings.Contains(c.lastBody, "data-confirm-card") || !strings.Contains(c.lastBody, "Delete endpoint") {
		t.Fatalf("the delete confirmation: %s", snippet(c.lastBody))
	}
	if e, _ := h.srv.Store().WebhookEndpoint(context.Background(), id); e == nil {
		t.Fatal("asking deleted it")
	}
	expectRedirect(t, c.post(path+"/delete", nil), "/settings/webhooks")
	if _, err := h.srv.Store().WebhookEndpoint(context.Background(), id); err == nil {
		t.Fatal("the endpoint is still there")
	}
	expectStatus(t, c.get(path), http.StatusNotFound)
	expectStatus(t, c.post(path+"/delete", nil), http.StatusNotFound)
}

func TestConsoleWebhookRotate(t *testing.T) {
	h, c, _ := hookConsole(t)
	id, first := addHook(t, h, c, url.Values{"url": {"https://hooks.example.com/in"}, "enabled": {"true"}})
	path := fmt.Sprintf("/settings/webhooks/%d", id)
	expectStatus(t, c.get(path+"/rotate"), http.StatusOK)
	if !strings.Contains(c.lastBody, "data-confirm-card") || !strings.Contains(c.lastBody, "24 hours") {
		t.Fatalf("the rotate confirmation: %s", snippet(c.lastBody))
	}
	resp := c.post(path+"/rotate", nil)
	expectStatus(t, resp, http.StatusOK)
	second := whsecPattern.FindString(c.lastBody)
	if second == "" || second == first || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("rotate showed %q (first %q), Cache-Control %q", second, first, resp.Header.Get("Cache-Control"))
	}
	if !strings.Contains(c.lastBody, "old secret keeps signing too for 24 hours") {
		t.Error("the rotation does not say the old secret keeps signing for 24 h")
	}
	c.get(path)
	if strings.Contains(c.lastBody, "whsec_") {
		t.Error("the endpoint's page shows the rotated secret again")
	}
	if e, _ := h.srv.Store().WebhookEndpoint(context.Background(), id); e.PreviousSecretUntil == nil ||
		e.PreviousSecretUntil.Sub(h.clock.Now().Add(24*time.Hour)).Abs() > time.Millisecond {
		t.Errorf("previous secret until %v", e.PreviousSecretUntil)
	}
}

// TestConsoleWebhookTestAndRedeliver sends a test event from the console
// to a real loopback receiver that fails, then redelivers it once the
// receiver mends: the same webhook-id arrives again and the log says
// delivered.
func TestConsoleWebhookTestAndRedeliver(t *testing.T) {
	h, c, _ := hookConsole(t)
	rcv := newConsoleReceiver(t, http.StatusInternalServerError)
	id, _ := addHook(t, h, c, url.Values{"url": {rcv.URL + "/hook"}, "enabled": {"true"}})
	path := fmt.Sprintf("/settings/webhooks/%d", id)
	c.get(path)
	expectRedirect(t, c.post(path+"/test", nil), path+"#deliveries")
	ds, _ := h.srv.Store().WebhookDeliveries(context.Background(), id, 10)
	if len(ds) != 1 || ds[0].EventType != models.EventWebhookTest || ds[0].Status != models.DeliveryPending {
		t.Fatalf("deliveries after Send test event: %+v", ds)
	}
	c.get(path)
	if !strings.Contains(c.lastBody, "Test event queued as "+ds[0].MsgID) || !strings.Contains(c.lastBody, `data-delivery="`+ds[0].MsgID+`"`) {
		t.Errorf("the page does not show the queued test: %s", snippet(c.lastBody))
	}

	if n := runWorker(t, h); n != 1 {
		t.Fatalf("the worker claimed %d", n)
	}
	c.get(path)
	for _, want := range []string{"HTTP 500", "Pending", "receiver says &lt;no&gt;", "Response body (first 1 KB)", "1 delivery failed since the last success"} {
		if !strings.Contains(c.lastBody, want) {
			t.Errorf("after a failed attempt the page lacks %q", want)
		}
	}

	rcv.setStatus(http.StatusNoContent)
	redeliver := fmt.Sprintf("%s/deliveries/%d/redeliver", path, ds[0].ID)
	expectRedirect(t, c.post(redeliver, nil), path+"#deliveries")
	d, _ := h.srv.Store().WebhookDeliveries(context.Background(), id, 10)
	if d[0].Attempts != 0 || d[0].Status != models.DeliveryPending || d[0].NextAttemptAt.Sub(h.clock.Now()).Abs() > time.Millisecond {
		t.Fatalf("after Redeliver: %+v", d[0])
	}
	if n := runWorker(t, h); n != 1 {
		t.Fatalf("the worker claimed %d after Redeliver", n)
	}
	if got := rcv.received(); len(got) != 2 || got[0] != ds[0].MsgID || got[1] != ds[0].MsgID {
		t.Fatalf("the receiver got %v; want %s twice", got, ds[0].MsgID)
	}
	c.get(path)
	if !strings.Contains(c.lastBody, "Delivered") || strings.Contains(c.lastBody, "HTTP 500") {
		t.Errorf("the log after the redelivery: %s", snippet(c.lastBody))
	}
	c.get("/audit?action=webhook.redeliver")
	if !strings.Contains(c.lastBody, "redelivered webhook.test to") {
		t.Errorf("the audit log does not say who redelivered: %s", snippet(c.lastBody))
	}

	// Another endpoint's delivery, or none, is a 404.
	other, _ := addHook(t, h, c, url.Values{"url": {rcv.URL + "/other"}, "enabled": {"true"}})
	expectStatus(t, c.post(fmt.Sprintf("/settings/webhooks/%d/deliveries/%d/redeliver", other, ds[0].ID), nil), http.StatusNotFound)
	expectStatus(t, c.post(path+"/deliveries/424242/redeliver", nil), http.StatusNotFound)

	// A disabled endpoint is refused, said on the page.
	expectRedirect(t, c.post(path+"/disable", nil), path)
	expectRedirect(t, c.post(path+"/test", nil), path)
	c.get(path)
	if !strings.Contains(c.lastBody, "This endpoint is disabled; enable it to send it a test event.") {
		t.Errorf("a test to a disabled endpoint is not refused on the page")
	}
	expectRedirect(t, c.post(redeliver, nil), path+"#deliveries")
	c.get(path)
	if !strings.Contains(c.lastBody, "This endpoint is disabled; enable it to redeliver.") {
		t.Errorf("a redelivery to a disabled endpoint is not refused on the page")
	}
}

// TestConsoleWebhookBanner: an endpoint Warden disabled after 3 days of
// failures is announced to Admins on the overview and the settings pages,
// linked; one turned off by an Admin is not.
func TestConsoleWebhookBanner(t *testing.T) {
	h, c, _ := hookConsole(t)
	rcv := newConsoleReceiver(t, http.StatusServiceUnavailable)
	id, _ := addHook(t, h, c, url.Values{"url": {rcv.URL + "/secret-path"}, "enabled": {"true"}})
	off, _ := addHook(t, h, c, url.Values{"url": {rcv.URL + "/off"}})
	path := fmt.Sprintf("/settings/webhooks/%d", id)
	c.get(path)
	expectRedirect(t, c.post(path+"/test", nil), path+"#deliveries")
	runWorker(t, h)
	const banner = "was disabled after 3 days of failed deliveries."
	c.get("/users")
	if strings.Contains(c.lastBody, banner) {
		t.Fatal("a banner before 3 days")
	}
	h.clock.Advance(72 * time.Hour)
	runWorker(t, h)
	c.login("ada@example.com", testPassword) // the session timed out meanwhile
	c.get("/settings/webhooks")
	if e, _ := h.srv.Store().WebhookEndpoint(context.Background(), id); e.Enabled || e.DisabledReason == "" {
		t.Fatalf("not disabled after 3 days: %+v", e)
	}
	want := fmt.Sprintf(`Webhook endpoint <a href="/settings/webhooks/%d" class="font-medium underline">%s/…</a> %s`, id, rcv.URL, banner)
	for _, p := range []string{"/users", "/settings", "/settings/webhooks", fmt.Sprintf("/settings/webhooks/%d", off)} {
		c.get(p)
		if !strings.Contains(c.lastBody, want) {
			t.Errorf("GET %s lacks the banner %q", p, want)
		}
		if strings.Contains(c.lastBody, fmt.Sprintf(`href="/settings/webhooks/%d" class="font-medium underline"`, off)) {
			t.Errorf("GET %s announces the endpoint an Admin turned off", p)
		}
		if strings.Contains(c.lastBody, "secret-path</a> "+banner) {
			t.Errorf("GET %s: the banner shows the URL's path", p)
		}
	}
	// The endpoint's own page says it at length instead.
	c.get(path)
	if strings.Contains(c.lastBody, banner) || !strings.Contains(c.lastBody, "Warden disabled this endpoint after 3 days of failed deliveries.") {
		t.Errorf("the disabled endpoint's page: %s", snippet(c.lastBody))
	}
	// Other pages do not read it.
	c.get("/tokens")
	if strings.Contains(c.lastBody, banner) {
		t.Error("the banner is on /tokens")
	}
	// /settings lists the endpoints with their health and links here.
	c.get("/settings")
	for _, want := range []string{`href="/settings/webhooks"`, "Manage webhooks", "Disabled for failing", "Last success"} {
		if !strings.Contains(c.lastBody, want) {
			t.Errorf("/settings lacks %q", want)
		}
	}
	// Enabled again, the banner goes.
	expectRedirect(t, c.post(path+"/enable", nil), path)
	c.get("/users")
	if strings.Contains(c.lastBody, banner) {
		t.Error("the banner stays after the endpoint is enabled")
	}
}

// webhookConsoleRoutes are every route of the webhook pages.
func webhookConsoleRoutes(id, delivery int64) []struct{ method, path string } {
	p := fmt.Sprintf("/settings/webhooks/%d", id)
	return []struct{ method, path string }{
		{"GET", "/settings/webhooks"}, {"POST", "/settings/webhooks"},
		{"GET", p}, {"POST", p}, {"POST", p + "/enable"}, {"POST", p + "/disable"},
		{"GET", p + "/rotate"}, {"POST", p + "/rotate"}, {"GET", p + "/delete"}, {"POST", p + "/delete"},
		{"POST", p + "/test"}, {"POST", fmt.Sprintf("%s/deliveries/%d/redeliver", p, delivery)},
	}
}

// TestConsoleWebhooksAdminsOnly: signed out, or signed in as an Admin since
// made a Manager or a Member, every webhook page and action sends to the
// sign-in page and changes nothing; a forged form is refused.
func TestConsoleWebhooksAdminsOnly(t *testing.T) {
	h, c, _ := hookConsole(t)
	id, _ := addHook(t, h, c, url.Values{"url": {"https://hooks.example.com/in"}, "enabled": {"true"}})
	path := fmt.Sprintf("/settings/webhooks/%d", id)
	c.get(path)
	expectRedirect(t, c.post(path+"/test", nil), path+"#deliveries")
	ds, _ := h.srv.Store().WebhookDeliveries(context.Background(), id, 10)
	routes := webhookConsoleRoutes(id, ds[0].ID)

	demoted := func(email string, role models.Role) *client {
		u := h.admin(email)
		cl := h.client()
		cl.login(email, testPassword)
		cl.get("/settings/webhooks")
		edit := fmt.Sprintf("/users/%d/edit", u.ID)
		c.get(edit)
		expectRedirect(t, c.post(edit, url.Values{"role": {string(role)}}), fmt.Sprintf("/users/%d", u.ID))
		return cl
	}
	anon := h.client()
	anon.get("/login")
	clients := map[string]*client{
		"anonymous": anon,
		"manager":   demoted("maria@example.com", models.RoleManager),
		"member":    demoted("mel@example.com", models.RoleMember),
	}
	webhookEvents := func() int {
		page, err := h.srv.Store().ListAudit(context.Background(), models.AuditQuery{Actions: []string{
			"webhook.create", "webhook.update", "webhook.delete", "webhook.rotate_secret", "webhook.test", "webhook.redeliver",
		}, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Events)
	}
	before := webhookEvents()
	for who, cl := range clients {
		for _, r := range routes {
			var resp *http.Response
			if r.method == "GET" {
				resp = cl.get(r.path)
			} else {
				// A fresh form each time: post fills in the client's token.
				resp = cl.post(r.path, url.Values{"url": {"https://evil.example.com/"}, "enabled": {"true"}})
			}
			// A demoted Admin's session is gone: a page sends to sign in,
			// and a form sent with that session's token is refused as
			// expired (403), as on every other page.
			loc := resp.Header.Get("Location")
			if r.method == "POST" && who != "anonymous" {
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s: %s %s = %d %q; want 403", who, r.method, r.path, resp.StatusCode, loc)
				}
			} else if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
				t.Errorf("%s: %s %s = %d %q; want a redirect to /login", who, r.method, r.path, resp.StatusCode, loc)
			}
		}
	}
	hooks, _ := h.srv.Store().WebhookEndpoints(context.Background())
	d, _ := h.srv.Store().WebhookDeliveries(context.Background(), id, 10)
	if len(hooks) != 1 || hooks[0].URL != "https://hooks.example.com/in" || !hooks[0].Enabled || len(d) != 1 {
		t.Fatalf("refused requests changed the endpoints: %+v, %d deliveries", hooks, len(d))
	}
	if n := webhookEvents(); n != before {
		t.Errorf("refused requests were acted on: %d webhook events, %d before", n, before)
	}

	// CSRF: a POST without the session's token, or from another site, is
	// refused on every action.
	c.get(path)
	for _, r := range routes {
		if r.method != "POST" {
			continue
		}
		if resp := c.post(r.path, url.Values{"_csrf": {"forged"}, "url": {"https://evil.example.com/"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("forged token: POST %s = %d; want 403", r.path, resp.StatusCode)
		}
		req, _ := http.NewRequest(http.MethodPost, testOrigin+r.path, strings.NewReader(url.Values{"_csrf": {c.csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if resp := c.do(req); resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site: POST %s = %d; want 403", r.path, resp.StatusCode)
		}
	}
	hooks, _ = h.srv.Store().WebhookEndpoints(context.Background())
	d, _ = h.srv.Store().WebhookDeliveries(context.Background(), id, 10)
	if len(hooks) != 1 || hooks[0].URL != "https://hooks.example.com/in" || !hooks[0].Enabled || len(d) != 1 || d[0].Attempts != 0 {
		t.Fatalf("forged requests changed the endpoints: %+v, %+v", hooks, d)
	}
}
