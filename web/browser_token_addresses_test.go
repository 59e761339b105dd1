package web

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/warden-console/warden/models"
)

const addressesAdminEmail = "ines@example.com"

// TestBrowserApplyAddressSuggestion opens the allowed-addresses page of a
// token used from four addresses, three of them in one /24, reviews the
// proposal (the /24 and the fourth address) and applies it: the user page
// then shows the token's ranges, and the change is in the audit log. The
// page fits at 1366 and 390 px and passes axe; WARDEN_SCREENSHOT_DIR keeps
// screenshots.
func TestBrowserApplyAddressSuggestion(t *testing.T) {
	chromium := needChromium(t)
	axe := axeSource(t)
	shotDir := screenshotDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	var svc int64
	var toks [2]int64
	base := startSeededServer(t, ctx, func(ctx context.Context, st *models.Store) error {
		admin, err := st.CreateHumanAdmin(ctx, models.NewHuman{Name: "Ines Addresses", Email: addressesAdminEmail, Password: testPassword, Confirm: testPassword})
		if err != nil {
			return err
		}
		u, err := st.CreateServiceUser(ctx, models.AsUser(admin), models.NewServiceUser{Name: "Billing sync", Role: models.RoleAdmin})
		if err != nil {
			return err
		}
		svc = u.ID
		for i := range toks {
			tok, secret, err := st.GenerateToken(ctx, models.AsUser(admin), u.ID, models.NewToken{Name: fmt.Sprintf("sync-%d", i), Expiry: models.Expiry{Days: 30}})
			if err != nil {
				return err
			}
			toks[i] = tok.ID
			for _, ip := range []string{"203.0.113.10", "203.0.113.11", "203.0.113.12", "198.51.100.40"} {
				auth, err := st.AuthenticateTokenFrom(ctx, secret, ip)
				if err != nil {
					return err
				}
				st.RecordTokenUse(auth, ip, "billing-sync/2.1")
			}
		}
		_, err = st.FlushTokenUse(ctx)
		return err
	})
	user := "/users/" + strconv.FormatInt(svc, 10)
	b := newBrowser(t, ctx, chromium)
	b.signIn(base, addressesAdminEmail)

	for i, width := range []int64{1366, 390} {
		step := func(s string) string { return fmt.Sprintf("%d px: %s", width, s) }
		name := fmt.Sprintf("sync-%d", i)
		b.do(step("set the viewport"), chromedp.EmulateViewport(width, 844))
		b.navigate(step("open the user"), base+user, 200)
		b.do(step("open the token's menu"), chromedp.Click(chromedp.CSS(fmt.Sprintf(`#token-%d summary`, toks[i]))))
		b.load(step("open Allowed addresses"), 200, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#token-%d a[href$="/addresses"]`, toks[i]))))
		b.expectPath(step("the addresses page"), fmt.Sprintf("/tokens/%d/addresses", toks[i]))
		proposal, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(".suggestion-list .code"), c => c.textContent.trim())`))
		if err != nil || fmt.Sprint(proposal) != "[198.51.100.40/32 203.0.113.0/24]" {
			t.Fatalf("%s: proposal %v (%v); want the /24 and 198.51.100.40/32", step("review"), proposal, err)
		}
		seen, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("table tbody tr").length`))
		if err != nil || seen != 4 {
			t.Errorf("%s: %d observed addresses (%v); want 4", step("review"), seen, err)
		}
		b.checkPage(axe, "allowed addresses", width)
		b.screenshot(shotDir, fmt.Sprintf("token-addresses-%d.png", width))

		b.load(step("apply the suggestion"), 200, chromedp.Click(button("Apply 2 ranges")))
		b.expectPath(step("back on the user"), user)
		flash, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector(".alert-success").textContent`))
		if err != nil || !strings.Contains(flash, "now works only from 2 ranges") {
			t.Errorf("%s: flash %q (%v)", step("applied"), flash, err)
		}
		chips, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](fmt.Sprintf(`Array.from(document.querySelectorAll("#token-%d .token-addresses .chip"), c => c.textContent.trim())`, toks[i])))
		if err != nil || fmt.Sprint(chips) != "[198.51.100.40/32 203.0.113.0/24]" {
			t.Errorf("%s: the row shows %v (%v)", step("applied"), chips, err)
		}
		b.checkPage(axe, "user page with an allowlist", width)
		b.screenshot(shotDir, fmt.Sprintf("token-addresses-row-%d.png", width))
		b.navigate(step("the audit log"), base+"/audit?action=token.allowlist", 200)
		rows := b.auditListRows(step("audit"))
		if len(rows) == 0 || !strings.Contains(rows[0].Sentence, "Ines Addresses restricted token "+name) || !strings.Contains(rows[0].Sentence, "198.51.100.40/32, 203.0.113.0/24") {
			t.Errorf("%s: newest events %+v", step("audit"), rows)
		}
	}
	b.expectCleanConsole()
}
