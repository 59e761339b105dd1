package web

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/warden-console/warden/models"
)

// noteOnTopJS reports whether the "Expiring in 7 days" card's note link is
// what a click at its centre reaches, not the card's stretched link.
const noteOnTopJS = `(() => {
	const a = document.querySelector('dl[aria-label="Tokens"] a[href="/settings/webhooks"]');
	if (!a) return "no note link";
	const r = a.getBoundingClientRect();
	const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
	return hit === a ? "on top" : "covered by " + (hit ? hit.outerHTML.slice(0, 80) : "nothing");
})()`

// TestBrowserOverviewNotices shows the "Expiring in 7 days" card's note at
// 1366 and 390 px: "no notifications set up", a link that a click reaches
// through the card's own link, then "3 of 4 owners notified". Each fits
// and passes axe-core; with WARDEN_SCREENSHOT_DIR set it writes
// users-notices-none-<width>.png and users-notices-some-<width>.png.
func TestBrowserOverviewNotices(t *testing.T) {
	chromium := needChromium(t)
	axe := axeSource(t)
	shots := screenshotDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)

	var st *models.Store
	base := startSeededServer(t, ctx, func(ctx context.Context, s *models.Store) error {
		st = s
		return seedTokenInventory(ctx, s)
	})
	b := newBrowser(t, ctx, chromium)
	b.signIn(base, tokenInventoryAdminEmail)
	check := func(name, want string) {
		t.Helper()
		for _, w := range []int64{1366, 390} {
			b.do("set the viewport", chromedp.EmulateViewport(w, 844))
			b.navigate("open /users", base+"/users", 200)
			expectText(b, name, chromedp.Search(`//dl[@aria-label="Tokens"]//div[dt[normalize-space()="Expiring in 7 days"]]`), want)
			b.checkPage(axe, name, w)
			b.screenshot(shots, fmt.Sprintf("%s-%d.png", name, w))
			if want == "no notifications set up" {
				got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](noteOnTopJS))
				if err != nil || got != "on top" {
					t.Errorf("%s at %d px: the note link is %s (%v)", name, w, got, err)
				}
			}
		}
	}
	check("users-notices-none", "no notifications set up")

	admin, err := st.UserByHandle(ctx, tokenInventoryAdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	as := models.AsUser(admin)
	if _, _, err := st.CreateWebhookEndpoint(ctx, as, models.WebhookEndpointInput{URL: "https://hooks.example.com/", Events: []string{models.EventTokenExpiring}, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SweepTokenExpiry(ctx); err != nil {
		t.Fatal(err)
	}
	u, err := st.CreateServiceUser(ctx, as, models.NewServiceUser{Name: "Late Bot", Role: models.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.GenerateToken(ctx, as, u.ID, models.NewToken{Name: "late", Expiry: models.Expiry{Days: 4}}); err != nil {
		t.Fatal(err)
	}
	check("users-notices-some", "3 of 4 owners notified")
}
