package web

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/warden-console/warden/models"
)

// TestBrowserScreenshots saves full-page screenshots of the main pages at
// a desktop (1366 px) and a phone (390 px) width into
// WARDEN_SCREENSHOT_DIR, to compare a restyle before and after. It checks
// nothing else, so it runs only when that directory is set.
func TestBrowserScreenshots(t *testing.T) {
	shotDir := os.Getenv("WARDEN_SCREENSHOT_DIR")
	if shotDir == "" || testing.Short() {
		t.Skip("set WARDEN_SCREENSHOT_DIR to take screenshots")
	}
	chromium := findChromium()
	if chromium == "" {
		t.Skip("no Chromium")
	}
	if err := os.MkdirAll(shotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	var seed consoleSeed
	base := startSeededServer(t, ctx, func(ctx context.Context, st *models.Store) (err error) {
		if seed, err = seedConsole(ctx, st); err != nil {
			return err
		}
		return st.SetInactivityDays(ctx, models.System, 30)
	})
	b := newBrowser(t, ctx, chromium)
	b.signIn(base, consoleAdminEmail)

	user := "/users/" + strconv.FormatInt(seed.ServiceID, 10)
	today, yesterday := time.Now().UTC().Format("2006-01-02"), time.Now().UTC().Add(-24*time.Hour).Format("2006-01-02")
	for _, width := range []int64{1366, 390} {
		b.do("set the viewport", chromedp.EmulateViewport(width, 900))
		shot := func(name string) {
			b.t.Helper()
			b.expectStylesheet(name)
			b.screenshot(shotDir, fmt.Sprintf("%s-%d.png", name, width))
		}
		for _, p := range []struct{ name, path string }{
			{"users", "/users"},
			{"tokens", "/tokens"},
			{"settings", "/settings"},
			{"audit", "/audit"},
			{"user", user},
			{"user-edit", user + "/edit"},
			{"token-new", user + "/tokens/new"},
			{"teams", "/teams"},
			{"team", "/teams/" + strconv.FormatInt(seed.TeamID, 10)},
			{"team-public", "/teams/1?page=2"},
			{"account", "/account"},
			{"audit-custom", "/audit?range=custom"},
			{"audit-end-before-start", "/audit?from=" + today + "&to=" + yesterday},
		} {
			b.navigate("open "+p.path, base+p.path, 200)
			shot(p.name)
		}
		// The token reveal and the lookup of the token just revealed.
		b.navigate("open the token form", base+user+"/tokens/new", 200)
		b.do("name the token", chromedp.SendKeys(chromedp.ID("name"), fmt.Sprintf("screens-%d", width)))
		b.load("generate the token", 200, chromedp.Click(button("Generate token")))
		shot("token-reveal")
		secret, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("token-value")))
		if err != nil {
			t.Fatalf("read the token: %v", err)
		}
		b.navigate("open the token lookup", base+"/tokens/lookup", 200)
		b.do("paste the token", chromedp.SendKeys(chromedp.ID("token"), secret))
		b.load("look the token up", 200, chromedp.Click(button("Look up")))
		shot("token-lookup")
	}

	// Before the first administrator: the sign-in page's hint, and the
	// setup form with errors.
	fresh, setupURL := startBrowserTestServer(t, ctx)
	for _, width := range []int64{1366, 390} {
		b.do("set the viewport", chromedp.EmulateViewport(width, 900))
		b.navigate("open the sign-in page before setup", fresh+"/login", 200)
		b.expectStylesheet("login-setup")
		b.screenshot(shotDir, fmt.Sprintf("login-setup-%d.png", width))
		b.navigate("open the setup page", setupURL, 200)
		b.do("fill the setup form",
			chromedp.SendKeys(chromedp.ID("name"), "Ada"),
			chromedp.SendKeys(chromedp.ID("email"), "ada@"),
			chromedp.SendKeys(chromedp.ID("password"), "short"),
			chromedp.SendKeys(chromedp.ID("confirm"), "shirt"))
		b.load("submit the setup form", 422, chromedp.Click(button("Create administrator")))
		b.expectStylesheet("setup-errors")
		b.screenshot(shotDir, fmt.Sprintf("setup-errors-%d.png", width))
	}
	b.expectCleanConsole()
}
