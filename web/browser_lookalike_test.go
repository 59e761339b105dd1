package web

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/warden-console/warden/models"
)

// TestBrowserLookalikeWarning creates a service user whose name passes for
// an existing one ("аdmin bot" with a Cyrillic а): the form comes back with
// the warning, fits at 1366 and 390 px and passes axe-core, the
// confirmation has the focus, and ticking it with the keyboard creates it.
func TestBrowserLookalikeWarning(t *testing.T) {
	chromium := needChromium(t)
	axe := axeSource(t)
	shots := screenshotDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	base := startSeededServer(t, ctx, func(ctx context.Context, st *models.Store) error {
		if _, err := seedConsole(ctx, st); err != nil {
			return err
		}
		admin, err := st.UserByHandle(ctx, consoleAdminEmail)
		if err != nil {
			return err
		}
		_, err = st.CreateServiceUser(ctx, models.AsUser(admin), models.NewServiceUser{Name: "Admin bot", Role: models.RoleMember})
		return err
	})
	b := newBrowser(t, ctx, chromium)
	b.signIn(base, consoleAdminEmail)
	b.navigate("open the create form", base+"/users/new", 200)
	b.do("type a lookalike name", chromedp.SendKeys(chromedp.ID("name"), "\u0430dmin bot"))
	b.load("submit it", 409, chromedp.Click(button("Create service user"), chromedp.NodeVisible))
	expectText(b, "the warning", chromedp.ID("lookalike"), "It reads like Admin bot (admin_bot@service), which exists.")
	focused, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement.name`))
	if err != nil || focused != "lookalike_ok" {
		t.Errorf("focus on %q (%v); want the confirmation", focused, err)
	}
	for _, w := range []int64{1366, 390} {
		b.do("set the viewport", chromedp.EmulateViewport(w, 844))
		b.checkPage(axe, "user-new-lookalike", w)
		b.screenshot(shots, fmt.Sprintf("user-new-lookalike-%d.png", w))
	}
	b.do("tick the confirmation with the keyboard", chromedp.KeyEvent(" "))
	b.load("submit again", 200, chromedp.Click(button("Create service user"), chromedp.NodeVisible))
	if path := b.location("created").Path; !regexp.MustCompile(`^/users/\d+$`).MatchString(path) {
		t.Errorf("after confirming: at %s; want the new user's page", path)
	}
}
