package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/warden-console/warden/models"
)

const hooksAdminEmail = "hana@example.com"

// seedWebhook adds an endpoint with a test event waiting, for the pages'
// checks: its address does not resolve, so the running worker records a
// failed attempt.
func seedWebhook(ctx context.Context, st *models.Store) (int64, error) {
	e, _, err := st.CreateWebhookEndpoint(ctx, models.System, models.WebhookEndpointInput{
		URL: "https://hooks.invalid/warden/in?team=security", Description: "SIEM: every token and service user change",
		Events: []string{models.EventTokenRevoked, models.EventTokenExpiring, models.EventServiceUserCreated}, Enabled: true,
	})
	if err != nil {
		return 0, fmt.Errorf("webhook: %w", err)
	}
	if _, err := st.SendWebhookTest(ctx, models.System, e.ID); err != nil {
		return 0, fmt.Errorf("webhook test: %w", err)
	}
	return e.ID, nil
}

// startWebhookBrowserServer serves a console on a loopback port whose
// webhooks may reach loopback receivers, on clock, with a worker looking
// every 20 ms and sessions that outlast the clock's jumps.
func startWebhookBrowserServer(t *testing.T, ctx context.Context, clock *testClock) (string, *Server) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DBPath = filepath.Join(t.TempDir(), "warden.db")
	cfg.WebhookAllowHTTP, cfg.WebhookAllowPrivate = true, true
	cfg.WebhookPollInterval = 20 * time.Millisecond
	cfg.IdleTimeout, cfg.AbsoluteTimeout = 30*24*time.Hour, 30*24*time.Hour
	logs := &syncBuffer{}
	srv, err := NewServer(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)), models.WithClock(clock.Now))
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	if _, err := srv.Store().CreateHumanAdmin(ctx, models.NewHuman{Name: "Hana Hooks", Email: hooksAdminEmail, Password: testPassword, Confirm: testPassword}); err != nil {
		_ = srv.Close()
		t.Fatalf("admin: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = srv.Close()
		t.Fatalf("listen: %v", err)
	}
	serveCtx, stop := context.WithCancel(context.Background())
	serveDone := make(chan struct{})
	var serveErr error
	go func() {
		defer close(serveDone)
		serveErr = srv.Serve(serveCtx, ln)
	}()
	t.Cleanup(func() {
		stop()
		select {
		case <-serveDone:
			if serveErr != nil && !errors.Is(serveErr, net.ErrClosed) {
				t.Errorf("Serve returned %v", serveErr)
			}
		case <-time.After(15 * time.Second):
			t.Error("server did not shut down within 15 s")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return "http://" + ln.Addr().String(), srv
}

// TestBrowserWebhooks drives the webhook console in headless Chromium: an
// endpoint added through the form shows its secret once, in a dialog; a
// test event reaches a real loopback receiver signed with that secret and
// shows in the delivery log; Redeliver sends the same message again; and an
// endpoint that fails for 3 days is announced on the overview.
func TestBrowserWebhooks(t *testing.T) {
	chromium := needChromium(t)
	axe := axeSource(t)
	shots := screenshotDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	clock := &testClock{t: time.Now().UTC()}

	got := make(chan received, 16)
	status := make(chan int, 1)
	status <- http.StatusNoContent
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		code := <-status
		status <- code
		w.WriteHeader(code)
		_, _ = io.WriteString(w, `{"ok":true}`)
		got <- received{header: r.Header.Clone(), body: b}
	}))
	t.Cleanup(receiver.Close)
	setStatus := func(code int) { <-status; status <- code }
	wait := func(what string) received {
		t.Helper()
		select {
		case r := <-got:
			return r
		case <-time.After(15 * time.Second):
			t.Fatalf("no %s at the receiver within 15 s", what)
			return received{}
		}
	}

	base, srv := startWebhookBrowserServer(t, ctx, clock)
	b := newBrowser(t, ctx, chromium)
	b.signIn(base, hooksAdminEmail)

	// The way there: Settings, then its Webhooks tab.
	b.navigate("open the settings", base+"/settings", 200)
	expectText(b, "settings", chromedp.ID("webhooks-heading"), "Webhooks")
	b.load("follow the Webhooks tab", 200, chromedp.Click(chromedp.CSS(`nav[aria-label="Settings"] a[href="/settings/webhooks"]`)))
	b.expectPath("the webhooks page", "/settings/webhooks")
	b.do("set the viewport", chromedp.EmulateViewport(1366, 844))
	b.screenshot(shots, "webhooks-empty-1366.png")

	// Add an endpoint.
	b.do("type the URL", chromedp.SendKeys(chromedp.ID("url"), receiver.URL+"/hooks/warden?team=ops"))
	b.do("type the description", chromedp.SendKeys(chromedp.ID("description"), "Ops pager"))
	b.do("check token.revoked", chromedp.Click(chromedp.CSS(`input[name=events][value="token.revoked"]`)))
	b.load("add the endpoint", 200, chromedp.Click(button("Add endpoint")))
	b.waitUntil("the secret dialog", `document.querySelector("dialog.reveal-dialog #webhook-secret") !== null`)
	st, err := chromedp.Run(b.ctx, chromedp.Evaluate[map[string]any](`(() => {
		const d = document.querySelector("dialog"), copy = d.querySelector("[data-copy]");
		return {modal: d.matches(":modal"), focusOnCopy: document.activeElement === copy,
			fits: document.documentElement.scrollWidth <= innerWidth, heading: d.querySelector("h2").textContent};
	})()`))
	if err != nil {
		t.Fatalf("inspect the secret dialog: %v", err)
	}
	if st["modal"] != true || st["focusOnCopy"] != true || st["fits"] != true {
		t.Errorf("the secret is not in a modal dialog with the focus on Copy: %v", st)
	}
	secret, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("webhook-secret")))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the dialog holds %q (%v); want a whsec_ secret", secret, err)
	}
	b.screenshot(shots, "webhook-secret-1366.png")
	b.do("press Escape", chromedp.KeyEvent(kb.Escape))
	b.waitUntil("the dialog closed", `document.querySelector("dialog") === null`)
	if id, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement.id`)); id != "hook-heading" {
		t.Errorf("after Escape the focus is on %q; want the endpoint's heading", id)
	}
	b.expectNoSecret("after Escape", secret)
	hooks, err := srv.Store().WebhookEndpoints(ctx)
	if err != nil || len(hooks) != 1 {
		t.Fatalf("endpoints: %+v, %v", hooks, err)
	}
	page := fmt.Sprintf("%s/settings/webhooks/%d", base, hooks[0].ID)
	b.navigate("open the endpoint again", page, 200)
	b.expectNoSecret("the endpoint's page", secret)

	// Send a test event: it reaches the receiver, signed with the secret
	// shown, and the log says delivered.
	b.load("send a test event", 200, chromedp.Click(button("Send test event")))
	r := wait("test event")
	if err := models.VerifyWebhook(secret, r.header, r.body, clock.Now()); err != nil {
		t.Fatalf("the test event does not verify with the secret shown: %v", err)
	}
	msgID := r.header.Get("webhook-id")
	delivered := fmt.Sprintf(`(document.querySelector('[data-delivery=%q]')?.textContent ?? "").includes("Delivered")`, msgID)
	for deadline := time.Now().Add(15 * time.Second); ; {
		b.navigate("reload the endpoint", page, 200)
		if ok, _ := chromedp.Run(b.ctx, chromedp.Evaluate[bool](delivered)); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log does not show %s delivered", msgID)
		}
	}
	expectText(b, "the log", chromedp.CSS(fmt.Sprintf(`[data-delivery=%q]`, msgID)), "webhook.test")
	expectText(b, "the log", chromedp.CSS(fmt.Sprintf(`[data-delivery=%q]`, msgID)), "204")
	for _, w := range []int64{1366, 390} {
		b.do("set the viewport", chromedp.EmulateViewport(w, 844))
		b.checkPage(axe, "webhook-delivered", w)
		b.screenshot(shots, fmt.Sprintf("webhook-delivered-%d.png", w))
	}

	// Redeliver: the same message again.
	b.do("set the viewport", chromedp.EmulateViewport(1366, 844))
	b.load("redeliver", 200, chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-delivery=%q] form button`, msgID))))
	if again := wait("redelivery"); again.header.Get("webhook-id") != msgID || string(again.body) != string(r.body) {
		t.Errorf("the redelivery is %s %s; want %s with the same body", again.header.Get("webhook-id"), again.body, msgID)
	}

	// Failing for 3 days: Warden disables it and the overview says so.
	setStatus(http.StatusServiceUnavailable)
	b.navigate("open the endpoint", page, 200)
	b.load("send another test event", 200, chromedp.Click(button("Send test event")))
	wait("failing test event")
	clock.Advance(72*time.Hour + time.Minute)
	wait("the retry, 3 days on")
	b.navigate("open the overview", base+"/users", 200)
	for deadline := time.Now().Add(15 * time.Second); ; {
		if ok, _ := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector("[data-webhook-banner]") !== null`)); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the overview has no banner after 3 days of failures")
		}
		b.navigate("reload the overview", base+"/users", 200)
	}
	expectText(b, "the banner", chromedp.CSS("[data-webhook-banner]"), "Webhook endpoint "+receiver.URL+"/… was disabled after 3 days of failed deliveries.")
	for _, w := range []int64{1366, 390} {
		b.do("set the viewport", chromedp.EmulateViewport(w, 844))
		b.checkPage(axe, "users-webhook-banner", w)
		b.screenshot(shots, fmt.Sprintf("users-webhook-banner-%d.png", w))
	}
	b.load("follow the banner's link", 200, chromedp.Click(chromedp.CSS("[data-webhook-banner] a")))
	b.expectPath("the banner's link", fmt.Sprintf("/settings/webhooks/%d", hooks[0].ID))
	expectText(b, "the disabled endpoint", chromedp.CSS("main"), "Warden disabled this endpoint after 3 days of failed deliveries.")
	for _, w := range []int64{1366, 390} {
		b.do("set the viewport", chromedp.EmulateViewport(w, 844))
		b.checkPage(axe, "webhook-disabled", w)
		b.screenshot(shots, fmt.Sprintf("webhook-disabled-%d.png", w))
	}
	b.expectCleanConsole()
}
