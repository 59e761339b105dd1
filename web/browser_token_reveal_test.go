package web

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/warden-console/warden/models"
)

const revealAdminEmail = "reveal@example.com"

// revealState is what the reveal page looks like to the test.
type revealState struct {
	Open, Modal, FocusOnCopy, FullWidth, NoSideScroll, AllVisible, ActionsBelow, InViewport bool
	Focused                                                                                 string
}

const revealStateJS = `(() => {
	const d = document.querySelector("dialog");
	const ta = document.getElementById("token-value");
	if (!d || !ta) return {Focused: document.activeElement ? document.activeElement.outerHTML.slice(0, 80) : ""};
	const sec = ta.parentElement, cs = getComputedStyle(sec);
	const copy = d.querySelector("[data-copy]"), box = d.getBoundingClientRect(), field = ta.getBoundingClientRect();
	return {
		Open: d.open,
		Modal: d.matches(":modal"),
		FocusOnCopy: document.activeElement === copy,
		Focused: document.activeElement ? document.activeElement.outerHTML.slice(0, 80) : "",
		FullWidth: Math.abs(field.width - (sec.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight))) < 1,
		NoSideScroll: ta.scrollWidth <= ta.clientWidth,
		AllVisible: ta.scrollHeight <= ta.clientHeight + 1,
		ActionsBelow: copy.offsetParent !== null && copy.getBoundingClientRect().top >= field.bottom,
		InViewport: box.left >= 0 && box.right <= innerWidth,
	};
})()`

// TestBrowserTokenReveal generates a token in headless Chromium at 1366 and
// 390 px: the reveal is a modal dialog with the focus on Copy, the token
// wraps in a full-width field with Copy and Download below, Escape closes
// it and puts the focus on the token's row, and a reload says the token
// was shown once. Without JavaScript the reveal is a section of the page,
// and another session opening a reveal's address never sees the secret.
//
// With WARDEN_SCREENSHOT_DIR set it saves the reveal and the "shown once"
// page at both widths, and the reveal without JavaScript.
func TestBrowserTokenReveal(t *testing.T) {
	chromium := needChromium(t)
	shotDir := screenshotDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	var svc int64
	base := startSeededServer(t, ctx, func(ctx context.Context, st *models.Store) error {
		admin, err := st.CreateHumanAdmin(ctx, models.NewHuman{Name: "Rita Reveal", Email: revealAdminEmail, Password: testPassword, Confirm: testPassword})
		if err != nil {
			return err
		}
		u, err := st.CreateServiceUser(ctx, models.AsUser(admin), models.NewServiceUser{Name: "Nightly ETL", Role: models.RoleMember})
		if err != nil {
			return err
		}
		svc = u.ID
		_, _, err = st.GenerateToken(ctx, models.AsUser(admin), u.ID, models.NewToken{Name: "older", Expiry: models.Expiry{Days: 30}})
		return err
	})
	user := "/users/" + strconv.FormatInt(svc, 10)
	b := newBrowser(t, ctx, chromium)
	b.signIn(base, revealAdminEmail)

	revealPath := regexp.MustCompile(`^/tokens/reveal/[A-Za-z0-9_-]{22}$`)
	var lastReveal string
	for _, width := range []int64{1366, 390} {
		step := func(s string) string { return fmt.Sprintf("%d px: %s", width, s) }
		name := fmt.Sprintf("ci-%d", width)
		b.do(step("set the viewport"), chromedp.EmulateViewport(width, 844))
		b.navigate(step("open the token form"), base+user+"/tokens/new", 200)
		b.do(step("name the token"), chromedp.SendKeys(chromedp.ID("name"), name))
		b.load(step("generate the token"), 200, chromedp.Click(button("Generate token")))
		lastReveal = b.location(step("the reveal")).Path
		if !revealPath.MatchString(lastReveal) {
			t.Fatalf("%s: browser is at %s; want /tokens/reveal/<id>", step("the reveal"), lastReveal)
		}
		st, err := chromedp.Run(b.ctx, chromedp.Evaluate[revealState](revealStateJS))
		if err != nil {
			t.Fatalf("%s: %v", step("inspect the reveal"), err)
		}
		switch {
		case !st.Open || !st.Modal:
			t.Fatalf("%s: the reveal is not an open modal dialog: %+v", step("the reveal"), st)
		case !st.FocusOnCopy:
			t.Errorf("%s: the focus is on %s; want the Copy button", step("the reveal"), st.Focused)
		case !st.FullWidth || !st.NoSideScroll || !st.AllVisible:
			t.Errorf("%s: the token field is not full width, wrapped and whole: %+v", step("the reveal"), st)
		case !st.ActionsBelow || !st.InViewport:
			t.Errorf("%s: Copy is not below the field, or the dialog leaves the viewport: %+v", step("the reveal"), st)
		}
		secret, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("token-value")))
		if err != nil || !anySecret.MatchString(secret) {
			t.Fatalf("%s: the field holds %q (%v); want a token", step("the reveal"), secret, err)
		}
		b.screenshot(shotDir, fmt.Sprintf("token-reveal-modal-%d.png", width))

		b.do(step("press Escape"), chromedp.KeyEvent(kb.Escape))
		b.waitUntil(step("the dialog closed"), `document.querySelector("dialog") === null`)
		row := fmt.Sprintf(`(() => { const a = document.activeElement; return a.tagName === "TR" && /^token-\d+$/.test(a.id) && a.textContent.includes(%q); })()`, name)
		if ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](row)); err != nil || !ok {
			focused, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement.outerHTML.slice(0, 120)`))
			t.Fatalf("%s: the focus is on %s; want the row of %s", step("after Escape"), focused, name)
		}
		b.expectNoSecret(step("after Escape"), secret)
		b.screenshot(shotDir, fmt.Sprintf("token-reveal-closed-%d.png", width))

		b.load(step("reload the reveal"), 200, chromedp.Reload())
		expectText(b, step("after reload"), chromedp.CSS("main h1"), "This token was shown once")
		expectText(b, step("after reload"), chromedp.CSS("main"), "“"+name+"”")
		b.expectNoSecret(step("after reload"), secret)
		b.screenshot(shotDir, fmt.Sprintf("token-shown-once-%d.png", width))
	}

	// Without JavaScript, in a session of its own.
	nb := b.withoutJavaScript()
	nb.signIn(base, revealAdminEmail)
	nb.do("no JS: set the viewport", chromedp.EmulateViewport(390, 844))
	nb.navigate("no JS: another session opens a reveal", base+lastReveal, 200)
	expectText(nb, "no JS: another session", chromedp.CSS("main h1"), "This token was shown once")
	nb.navigate("no JS: open the token form", base+user+"/tokens/new", 200)
	nb.do("no JS: name the token", chromedp.SendKeys(chromedp.ID("name"), "no-js"))
	nb.load("no JS: generate the token", 200, chromedp.Click(button("Generate token")))
	section, err := chromedp.Run(nb.ctx, chromedp.Evaluate[map[string]any](`(() => {
		const s = document.getElementById("token-reveal"), ta = document.getElementById("token-value");
		return {dialog: document.querySelector("dialog") !== null, section: !!s && s.offsetParent !== null,
			value: ta ? ta.value : "", actions: getComputedStyle(s.querySelector(".reveal-actions")).display,
			noSideScroll: !!ta && ta.scrollWidth <= ta.clientWidth};
	})()`))
	if err != nil {
		t.Fatalf("no JS: inspect the reveal: %v", err)
	}
	if section["dialog"] != false || section["section"] != true || !anySecret.MatchString(fmt.Sprint(section["value"])) || section["actions"] != "none" || section["noSideScroll"] != true {
		t.Errorf("no JS: the reveal is not a page section with the token, without Copy: %v", section)
	}
	nb.screenshot(shotDir, "token-reveal-nojs-390.png")
	noJS := nb.location("no JS: the reveal").Path
	nb.expectCleanConsole()

	// Back in the first session: the other session's reveal stays its own.
	b.navigate("another session's reveal", base+noJS, 200)
	expectText(b, "another session's reveal", chromedp.CSS("main h1"), "This token was shown once")
	b.expectNoSecret("another session's reveal", fmt.Sprint(section["value"]))
	b.expectCleanConsole()
}

// expectNoSecret fails if the page holds secret anywhere.
func (b *browser) expectNoSecret(step, secret string) {
	b.t.Helper()
	found, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.documentElement.outerHTML.includes(%q)`, secret)))
	if err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
	if found {
		b.t.Fatalf("%s: the page still holds the secret", step)
	}
}
