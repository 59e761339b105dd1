package web

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/warden-console/warden/models"
)

const scopesAdminEmail = "sam@example.com"

// TestBrowserTokenWithScopes generates a token through the form with two
// Warden scopes checked and downstream ones typed, then finds them on the
// token's row: three chips and "+N". The form and the user page fit at
// 1366 and 390 px and pass axe; WARDEN_SCREENSHOT_DIR keeps screenshots.
func TestBrowserTokenWithScopes(t *testing.T) {
	chromium := needChromium(t)
	axe := axeSource(t)
	shotDir := screenshotDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	var svc int64
	base := startSeededServer(t, ctx, func(ctx context.Context, st *models.Store) error {
		admin, err := st.CreateHumanAdmin(ctx, models.NewHuman{Name: "Sam Scopes", Email: scopesAdminEmail, Password: testPassword, Confirm: testPassword})
		if err != nil {
			return err
		}
		u, err := st.CreateServiceUser(ctx, models.AsUser(admin), models.NewServiceUser{Name: "Deploy bot", Role: models.RoleAdmin})
		if err != nil {
			return err
		}
		svc = u.ID
		_, _, err = st.GenerateToken(ctx, models.AsUser(admin), u.ID, models.NewToken{Name: "everything", Expiry: models.Expiry{Days: 30}})
		return err
	})
	user := "/users/" + strconv.FormatInt(svc, 10)
	b := newBrowser(t, ctx, chromium)
	b.signIn(base, scopesAdminEmail)

	for _, width := range []int64{1366, 390} {
		step := func(s string) string { return fmt.Sprintf("%d px: %s", width, s) }
		name := fmt.Sprintf("deploy-%d", width)
		b.do(step("set the viewport"), chromedp.EmulateViewport(width, 844))
		b.navigate(step("open the token form"), base+user+"/tokens/new", 200)
		b.checkPage(axe, "token form with scopes", width)
		b.screenshot(shotDir, fmt.Sprintf("token-scopes-form-%d.png", width))

		b.do(step("name the token"), chromedp.SendKeys(chromedp.ID("name"), name))
		b.do(step("check tokens:write and audit:read"),
			chromedp.Click(chromedp.CSS(`input[name="scopes"][value="tokens:write"]`)),
			chromedp.Click(chromedp.CSS(`input[name="scopes"][value="audit:read"]`)))
		b.do(step("type downstream scopes"), chromedp.SendKeys(chromedp.ID("downstream_scopes"), "deploy:run releases.read"))
		b.do(step("generate the token"), chromedp.Click(button("Generate token")), chromedp.WaitVisible(chromedp.ID("token-value")))
		b.navigate(step("back to the user"), base+user, 200)

		// The row shows three scopes in order, then +1 naming the fourth.
		row := fmt.Sprintf(`Array.from(document.querySelectorAll("tr[id^=token-]")).find(r => r.textContent.includes(%q))`, name)
		chips, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`Array.from(`+row+`.querySelectorAll(".token-scopes .chip"), c => c.textContent.trim())`))
		if err != nil {
			t.Fatalf("%s: read the chips: %v", step("the row"), err)
		}
		if want := []string{"tokens:write", "audit:read", "deploy:run", "releases.read"}; fmt.Sprint(chips) != fmt.Sprint(want) {
			t.Errorf("%s: chips %v, want %v", step("the row"), chips, want)
		}
		everything, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("tr[id^=token-]")).find(r => r.textContent.includes("everything")).querySelector(".token-scopes").textContent.replace(/\s+/g, " ").trim()`))
		if err != nil || everything != "Scopes: All of Admin’s" {
			t.Errorf("%s: the unscoped token says %q (%v); want “All of Admin’s”", step("the row"), everything, err)
		}
		b.checkPage(axe, "user page with scoped tokens", width)
		b.screenshot(shotDir, fmt.Sprintf("token-scopes-row-%d.png", width))
	}
	b.expectCleanConsole()
}
