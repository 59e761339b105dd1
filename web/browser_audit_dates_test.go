package web

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/warden-console/warden/models"
)

// TestBrowserAuditCustomDates: with JavaScript, choosing "Custom date"
// shows the From and To inputs and any other period hides and disables
// them, so the filter sent is the one shown.
func TestBrowserAuditCustomDates(t *testing.T) {
	chromium := needChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	base := startSeededServer(t, ctx, func(ctx context.Context, st *models.Store) error {
		_, err := st.CreateHumanAdmin(ctx, models.NewHuman{Name: "Ada Admin", Email: consoleAdminEmail, Password: testPassword, Confirm: testPassword})
		return err
	})
	b := newBrowser(t, ctx, chromium)
	b.signIn(base, consoleAdminEmail)

	state := func(step, want string) {
		t.Helper()
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`["from", "to"].map(id =>
			(document.getElementById("custom-" + id).hidden ? "hidden" : "shown") + "," +
			(document.getElementById(id).disabled ? "disabled" : "enabled")).join(" ")`))
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if got != want {
			t.Errorf("%s: the date inputs are %q, want %q", step, got, want)
		}
	}
	choose := func(period string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("range");
			s.value = "` + period + `"; s.dispatchEvent(new Event("change", {bubbles: true})); })()`)
	}
	b.navigate("open the audit log", base+"/audit", 200)
	state("all time", "hidden,disabled hidden,disabled")
	b.do("choose Custom date", choose("custom"))
	state("Custom date chosen", "shown,enabled shown,enabled")
	today := time.Now().UTC().Format("2006-01-02")
	b.do("set From", chromedp.SetValue(chromedp.ID("from"), today))
	b.load("filter", 200, chromedp.Click(button("Filter")))
	if got := b.location("after filtering").Query(); got.Get("from") != today || got.Get("range") != "custom" {
		t.Errorf("the custom period was sent as %v", got)
	}
	state("custom period shown", "shown,enabled shown,enabled")
	b.do("choose 7 days", choose("7d"))
	state("7 days chosen", "hidden,disabled hidden,disabled")
	b.load("filter again", 200, chromedp.Click(button("Filter")))
	if got := b.location("after the second filter").Query(); got.Has("from") || got.Get("range") != "7d" {
		t.Errorf("hidden dates were sent: %v", got)
	}
	b.expectCleanConsole()
}
