package web

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/warden-console/warden/models"
)

// tokenRowXPath selects the row of the token named name on a user's page.
func tokenRowXPath(name string) string {
	return fmt.Sprintf(`//section[@aria-labelledby="tokens-heading"]//tr[.//div[normalize-space()=%q]]`, name)
}

// openTokenDialog opens the menu of the token row named token, picks item
// ("Revoke…") and waits for its confirmation dialog.
func (b *browser) openTokenDialog(token, item string) {
	b.t.Helper()
	row := tokenRowXPath(token)
	b.do("open the menu of "+token, chromedp.Click(chromedp.Search(row+`//summary`)))
	b.do("choose "+item, chromedp.Click(chromedp.Search(fmt.Sprintf(`%s//a[normalize-space()=%q]`, row, item))))
	b.waitUntil("the "+item+" dialog is open", `document.querySelector("dialog.confirm-dialog")?.open === true`)
}

// TestBrowserTokenConfirmDialogs: a token row's menu opens a modal
// confirmation naming the token and its owner; Escape closes it with the
// focus back on the menu and nothing changed; Rotate's dialog carries the
// overlap and leads to the reveal.
func TestBrowserTokenConfirmDialogs(t *testing.T) {
	chromium := needChromium(t)
	axe := axeSource(t)
	shots := screenshotDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	var seed consoleSeed
	base := startSeededServer(t, ctx, func(ctx context.Context, st *models.Store) (err error) {
		seed, err = seedConsole(ctx, st)
		return err
	})
	b := newBrowser(t, ctx, chromium)
	b.do("set the viewport", chromedp.EmulateViewport(1366, 900))
	b.signIn(base, consoleAdminEmail)
	userPage := base + "/users/" + strconv.FormatInt(seed.ServiceID, 10)
	b.navigate("open the service user", userPage, 200)

	// The menu closes on Escape, with the focus back on its button, and on a
	// click elsewhere.
	menu := `document.querySelector('summary[aria-label="Actions for token airflow-prod"]').parentElement`
	b.do("open the menu", chromedp.Click(chromedp.Search(tokenRowXPath("airflow-prod")+`//summary`)))
	b.waitUntil("the menu is open", menu+`.open`)
	b.do("press Escape in the menu", chromedp.KeyEvent(kb.Escape))
	b.waitUntil("Escape closed the menu", `!`+menu+`.open && document.activeElement === `+menu+`.querySelector("summary")`)
	b.do("open the menu again", chromedp.Click(chromedp.Search(tokenRowXPath("airflow-prod")+`//summary`)))
	b.do("click the page's heading", chromedp.Click(chromedp.CSS(`main h1`)))
	b.waitUntil("a click elsewhere closed the menu", `!`+menu+`.open`)

	// Revoke…: a modal naming the token and owner, the focus on Cancel.
	b.openTokenDialog("airflow-prod", "Revoke…")
	b.waitUntil("the dialog is modal", `document.querySelector("dialog.confirm-dialog").matches(":modal")`)
	expectText(b, "the dialog's heading", chromedp.CSS(`dialog.confirm-dialog h1`), "Revoke the token “airflow-prod” of Airflow ETL?")
	b.waitUntil("the focus is on Cancel", `document.activeElement.closest("dialog") !== null && document.activeElement.textContent.trim() === "Cancel"`)
	for _, w := range []int64{1366, 390} {
		b.do("set the viewport", chromedp.EmulateViewport(w, 844))
		b.checkPage(axe, "revoke dialog", w)
		b.screenshot(shots, fmt.Sprintf("token-revoke-dialog-%d.png", w))
	}
	b.do("set the viewport", chromedp.EmulateViewport(1366, 900))

	// Escape closes it; the focus returns to the row's menu; nothing changed.
	b.do("press Escape", chromedp.KeyEvent(kb.Escape))
	b.waitUntil("the dialog is gone", `document.querySelector("dialog") === null`)
	b.waitUntil("the focus is back on the row's menu", `document.activeElement.matches("summary") &&
		document.activeElement.getAttribute("aria-label") === "Actions for token airflow-prod"`)
	expectText(b, "after Escape: state", chromedp.Search(tokenRowXPath("airflow-prod")), "Active")

	// Cancel closes it too; confirming revokes.
	b.openTokenDialog("airflow-prod", "Revoke…")
	b.do("click Cancel", chromedp.Click(chromedp.Search(`//dialog//a[normalize-space()="Cancel"]`)))
	b.waitUntil("the dialog is gone after Cancel", `document.querySelector("dialog") === null`)
	b.openTokenDialog("airflow-prod", "Revoke…")
	b.load("confirm the revocation", 200, chromedp.Click(chromedp.Search(`//dialog//button[normalize-space()="Revoke token"]`)))
	expectText(b, "after Revoke: flash", chromedp.CSS(`[data-flash]`), "Token “airflow-prod” revoked.")
	expectText(b, "after Revoke: state", chromedp.Search(tokenRowXPath("airflow-prod")), "Revoked")

	// Rotate…: the overlap is chosen in the dialog (24 hours preselected and
	// focused); confirming shows the replacement once.
	b.openTokenDialog("airflow-staging", "Rotate…")
	b.waitUntil("the focus is on the 24 hours overlap", `document.activeElement.name === "overlap" && document.activeElement.value === "24h"`)
	b.do("choose 1 hour", chromedp.Click(chromedp.Search(`//dialog//label[normalize-space()="Keeps working 1 hour"]`)))
	b.load("confirm the rotation", 200, chromedp.Click(chromedp.Search(`//dialog//button[normalize-space()="Rotate token"]`)))
	b.do("wait for the reveal", chromedp.WaitVisible(chromedp.ID("token-value")))
	expectText(b, "the reveal", chromedp.CSS(`#token-reveal`), "airflow-staging-r2")
	b.expectCleanConsole()
}

// TestBrowserTokenFormCustomDate: the token form's custom date shows only
// while "Custom date" is chosen.
func TestBrowserTokenFormCustomDate(t *testing.T) {
	chromium := needChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	var seed consoleSeed
	base := startSeededServer(t, ctx, func(ctx context.Context, st *models.Store) (err error) {
		seed, err = seedConsole(ctx, st)
		return err
	})
	b := newBrowser(t, ctx, chromium)
	b.signIn(base, consoleAdminEmail)
	b.navigate("open the token form", base+"/users/"+strconv.FormatInt(seed.ServiceID, 10)+"/tokens/new", 200)
	b.waitUntil("the custom date is hidden with 90 days", `document.getElementById("custom_date").closest("[data-custom-date]").hidden`)
	b.do("choose Custom date", chromedp.Click(chromedp.Search(`//label[normalize-space()="Custom date"]`)))
	b.waitUntil("the custom date shows", `!document.getElementById("custom_date").closest("[data-custom-date]").hidden && !document.getElementById("custom_date").disabled`)
	b.do("choose 30 days", chromedp.Click(chromedp.Search(`//label[normalize-space()="30 days"]`)))
	b.waitUntil("the custom date hides again", `document.getElementById("custom_date").closest("[data-custom-date]").hidden`)
	b.expectCleanConsole()
}
