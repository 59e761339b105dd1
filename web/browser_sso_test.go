package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserSSOSignIn signs in through a real OpenID provider in headless
// Chromium: the console's "Sign in with Test IdP" button, the provider's
// authorization endpoint (which signs the queued person in at once), the
// redirect back, a just-in-time Admin on the Users list marked SSO. The
// sign-in page with the button, and with a provider's error, fit 390 px
// and pass axe-core. WARDEN_SCREENSHOT_DIR keeps screenshots of them.
func TestBrowserSSOSignIn(t *testing.T) {
	chromium := needChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	p := startIDP(t)

	// The console listens first, so --base-url (the redirect URI) can name
	// its port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg := DefaultConfig()
	cfg.DBPath = filepath.Join(t.TempDir(), "warden.db")
	cfg.BaseURL = base
	cfg.OIDCIssuer, cfg.OIDCClientID, cfg.OIDCClientSecret = p.m.Issuer(), p.m.ClientID, p.m.ClientSecret
	cfg.OIDCAdminGroups, cfg.OIDCDisplayName = adminGroup, "Test IdP"
	logs := &syncBuffer{}
	srv, err := NewServer(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		ln.Close()
		t.Fatalf("NewServer: %v", err)
	}
	serveCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(serveCtx, ln) }()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, net.ErrClosed) {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("server did not shut down within 15 s")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})

	b := newBrowser(t, ctx, chromium)
	axe := axeSource(t)
	shots := screenshotDir(t)
	check := func(name string) {
		for _, w := range []int64{1366, 390} {
			b.do("set the viewport", chromedp.EmulateViewport(w, 844))
			b.checkPage(axe, name, w)
			b.screenshot(shots, fmt.Sprintf("%s-%d.png", name, w))
		}
		b.do("reset the viewport", chromedp.EmulateViewport(1366, 844))
	}

	// A provider's refusal first: the page says so and offers to try again.
	b.navigate("a provider error", base+"/login/sso/callback?error=access_denied", 401)
	expectText(b, "a provider error: message", chromedp.CSS(`[role="alert"]`), "access_denied")
	check("login-sso-error")

	b.navigate("open the sign-in page", base+"/login?next=/teams", 200)
	b.do("wait for the provider's button", chromedp.WaitVisible(chromedp.CSS(`a[href="/login/sso?next=%2Fteams"]`)))
	check("login-sso")

	p.m.QueueUser(person("grace-sub", "grace@example.com", true, adminGroup))
	b.load("sign in with the provider", 200, chromedp.Click(chromedp.CSS(`a[href^="/login/sso"]`)))
	b.expectPath("after single sign-on", "/teams")

	b.navigate("open the Users list", base+"/users?type=human", 200)
	expectText(b, "Users list: the new Admin", chromedp.CSS(`table.users tbody`), "grace@example.com")
	expectText(b, "Users list: how she signs in", chromedp.CSS(`[data-sign-in="sso"]`), "SSO")
}
