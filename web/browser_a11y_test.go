package web

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/warden-console/warden/models"
)

// axeSource is axe-core as package.json pins it (npm ci installs it; make
// test runs npm ci when npm is there, and CI always).
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "node_modules", "axe-core", "axe.min.js"))
	if errors.Is(err, fs.ErrNotExist) {
		if os.Getenv("CI") != "" {
			t.Fatal("node_modules/axe-core is missing: run npm ci")
		}
		t.Skip("node_modules/axe-core is missing: run npm ci (make test does when npm is installed)")
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// axeViolation is one rule axe-core found broken, with the elements.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target         []any  `json:"target"`
		FailureSummary string `json:"failureSummary"`
	} `json:"nodes"`
}

// checkPage fails the test when the page open at width scrolls sideways or
// axe-core finds a serious or critical violation on it.
func (b *browser) checkPage(axe, name string, width int64) {
	b.t.Helper()
	fits, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]int64](`[document.documentElement.scrollWidth, window.innerWidth]`))
	if err != nil {
		b.t.Fatalf("%s at %d px: measure: %v", name, width, err)
	}
	if fits[0] > fits[1] {
		b.t.Errorf("%s at %d px scrolls sideways: scrollWidth %d > innerWidth %d", name, width, fits[0], fits[1])
	}
	// Injected through DevTools, so the page's CSP does not apply to it.
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`typeof axe !== "undefined" || (function(){`+axe+`
		;return true})()`)); err != nil {
		b.t.Fatalf("%s: inject axe-core: %v", name, err)
	}
	vs, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {
		runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
		resultTypes: ["violations"],
	}).then(r => r.violations.filter(v => v.impact === "serious" || v.impact === "critical"))`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: run axe-core: %v", name, err)
	}
	for _, v := range vs {
		var where []string
		for i, n := range v.Nodes {
			if i == 3 {
				where = append(where, fmt.Sprintf("and %d more", len(v.Nodes)-3))
				break
			}
			where = append(where, fmt.Sprint(n.Target))
		}
		b.t.Errorf("%s at %d px: axe %s (%s): %s: %s", name, width, v.ID, v.Impact, v.Help, strings.Join(where, "; "))
	}
}

// TestBrowserEveryPageFitsAndPassesAxe opens every console page at 1366 and
// 390 px wide and fails when one scrolls sideways or axe-core finds a
// serious or critical violation. WARDEN_SCREENSHOT_DIR keeps screenshots.
func TestBrowserEveryPageFitsAndPassesAxe(t *testing.T) {
	chromium := needChromium(t)
	axe := axeSource(t)
	shots := screenshotDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	widths := []int64{1366, 390}
	check := func(b *browser, name string) {
		for _, w := range widths {
			b.do("set the viewport", chromedp.EmulateViewport(w, 844))
			b.checkPage(axe, name, w)
			b.screenshot(shots, fmt.Sprintf("%s-%d.png", name, w))
		}
	}

	// Before the first administrator: the sign-in page and the setup form.
	fresh, setupURL := startBrowserTestServer(t, ctx)
	b := newBrowser(t, ctx, chromium)
	b.navigate("open the sign-in page before setup", fresh+"/login", 200)
	check(b, "login-before-setup")
	b.navigate("open the setup page", setupURL, 200)
	check(b, "setup")

	var seed consoleSeed
	var hookID int64
	base := startSeededServer(t, ctx, func(ctx context.Context, st *models.Store) (err error) {
		if seed, err = seedConsole(ctx, st); err != nil {
			return err
		}
		if hookID, err = seedWebhook(ctx, st); err != nil {
			return err
		}
		// On, so token rows and the overview show the inactivity notes.
		return st.SetInactivityDays(ctx, models.System, 90)
	})
	b.navigate("open the sign-in page", base+"/login", 200)
	check(b, "login")
	b.navigate("open a set-password link", base+"/set-password/"+seed.SetupLink, 200)
	check(b, "set-password")
	b.signIn(base, consoleAdminEmail)
	user := "/users/" + strconv.FormatInt(seed.ServiceID, 10)
	person := "/users/" + strconv.FormatInt(seed.HumanID, 10)
	hook := "/settings/webhooks/" + strconv.FormatInt(hookID, 10)
	for _, p := range []struct{ name, path string }{
		{"users", "/users"},
		{"users-search", "/users?q=air&sort=next_expiry"},
		{"user-new", "/users/new"},
		{"person-new", "/users/new?kind=human"},
		{"user", user},
		{"person", person},
		{"user-edit", user + "/edit"},
		{"user-deactivate", user + "/deactivate"},
		{"token-new", user + "/tokens/new"},
		{"token-new-scopes", "/users/" + strconv.FormatInt(seed.AdminSvc, 10) + "/tokens/new"},
		{"token-delete", "/tokens/" + strconv.FormatInt(seed.RevokedID, 10) + "/delete"},
		{"token-restore", "/tokens/" + strconv.FormatInt(seed.RevokedID, 10) + "/restore"},
		{"tokens-revoke-all", user + "/tokens/revoke-all"},
		{"tokens", "/tokens"},
		{"tokens-filtered", "/tokens?state=all&sort=owner"},
		{"token-lookup", "/tokens/lookup"},
		{"teams", "/teams"},
		{"team", "/teams/" + strconv.FormatInt(seed.TeamID, 10)},
		{"audit", "/audit"},
		{"audit-event", "/audit/1"},
		{"token-history", "/audit?target_kind=token&target_id=" + strconv.FormatInt(seed.RevokedID, 10)},
		{"settings", "/settings"},
		{"webhooks", "/settings/webhooks"},
		{"webhook", hook},
		{"webhook-rotate", hook + "/rotate"},
		{"webhook-delete", hook + "/delete"},
		{"account", "/account"},
	} {
		b.navigate("open "+p.path, base+p.path, 200)
		check(b, p.name)
	}
	// At 390 px the nav is a menu button; opened, it is the way to a page.
	b.do("set a phone viewport", chromedp.EmulateViewport(390, 844))
	b.navigate("open /users on a phone", base+"/users", 200)
	b.do("open the menu", chromedp.Click(chromedp.CSS(`details.nav-menu > summary`)),
		chromedp.WaitVisible(chromedp.CSS(`details.nav-menu a[href="/tokens"]`)))
	check(b, "nav-menu")
	b.load("follow the menu's Tokens link", 200, chromedp.Click(chromedp.CSS(`details.nav-menu a[href="/tokens"]`)))
	b.expectPath("after the menu's link", "/tokens")

	// The token's reveal.
	b.navigate("open the token form", base+user+"/tokens/new", 200)
	b.do("name the token", chromedp.SendKeys(chromedp.ID("name"), "a11y"))
	b.do("generate the token", chromedp.Click(button("Generate token")), chromedp.WaitVisible(chromedp.ID("token-value")))
	check(b, "token-reveal")
	secret, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("token-value")))
	if err != nil {
		t.Fatalf("read the revealed token: %v", err)
	}
	// The lookup's result, with the token's owner and its events.
	b.navigate("open the lookup", base+"/tokens/lookup", 200)
	b.do("paste the token", chromedp.SendKeys(chromedp.ID("token"), secret))
	b.load("look it up", 200, chromedp.Click(button("Look up")))
	check(b, "token-lookup-result")

	// Keyboard focus is visible on every stop of the first tab stops.
	b.do("set the viewport", chromedp.EmulateViewport(1366, 844))
	b.navigate("open a service user", base+user, 200)
	for i := 0; i < 12; i++ {
		b.do("press Tab", chromedp.KeyEvent(kb.Tab))
		shown, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => {
			const el = document.activeElement, s = getComputedStyle(el);
			const ring = (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== "none";
			return ring ? "" : el.outerHTML.slice(0, 120);
		})()`))
		if err != nil {
			t.Fatalf("tab stop %d: %v", i+1, err)
		}
		if shown != "" {
			t.Errorf("tab stop %d shows no focus: %s", i+1, shown)
		}
	}
	b.expectCleanConsole()
}
