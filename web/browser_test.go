package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/warden-console/warden/static"
)

// TestBrowserFirstRunSignInSignOut drives the real server, listening on a
// loopback port, through headless Chromium: first-run setup (with a rejected
// password first), sign-in with the keyboard, the overview, sign-out, and the
// checks that the session and the setup link are both gone afterwards.
//
// With WARDEN_SCREENSHOT_DIR set it writes setup.png, login.png and
// overview.png there, for a look at the rendered pages.
func TestBrowserFirstRunSignInSignOut(t *testing.T) {
	chromium := needChromium(t)
	shotDir := screenshotDir(t)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)

	base, setupURL := startBrowserTestServer(t, ctx)
	b := newBrowser(t, ctx, chromium)

	const (
		name  = "Grace Hopper"
		email = "grace@example.com"
	)

	// 1. First-run setup: a too-short password is refused, the form keeps
	// what was typed, then a good password creates the administrator.
	b.navigate("open the setup URL", setupURL, 200)
	b.do("wait for the setup form", chromedp.WaitVisible(chromedp.CSS(`form[action="/setup"]`)))
	b.expectStylesheet("setup page")
	b.screenshot(shotDir, "setup.png")
	b.do("fill the setup form with a short password",
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), "short"),
		chromedp.SendKeys(chromedp.ID("confirm"), "short"),
	)
	b.load("submit setup with a short password", 422, chromedp.Click(button("Create administrator")))
	expectText(b, "setup with a short password: password error", chromedp.ID("password-error"), "Use at least 15 characters")
	expectText(b, "setup with a short password: form alert", chromedp.CSS(`[role="alert"]`), "Check the highlighted fields")
	b.expectValue("setup with a short password: name kept", chromedp.ID("name"), name)
	b.expectValue("setup with a short password: email kept", chromedp.ID("email"), email)
	b.expectValue("setup with a short password: password not echoed", chromedp.ID("password"), "")
	b.do("fill the passwords again",
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.SendKeys(chromedp.ID("confirm"), testPassword),
	)
	b.load("submit setup with a good password", 200, chromedp.Click(button("Create administrator")))

	// 2. The login page, with the flash; sign in with the keyboard only.
	b.expectPath("after setup", "/login")
	b.do("wait for the login form", chromedp.WaitVisible(chromedp.CSS(`form[action="/login"]`)))
	expectText(b, "after setup: flash", chromedp.CSS(`[data-flash]`), "Your administrator account is ready")
	b.screenshot(shotDir, "login.png")
	b.do("type the email", chromedp.SendKeys(chromedp.ID("email"), email))
	b.load("sign in by pressing Enter in the password field", 200,
		chromedp.SendKeys(chromedp.ID("password"), testPassword+kb.Enter))

	// 3. The home page (the Users list), with the administrator's name in the header.
	b.expectPath("after sign-in", "/users")
	b.do("wait for the Users heading", chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space()="Users"]`)))
	b.do("wait for the account link in the header", chromedp.WaitVisible(chromedp.CSS(`header a[href="/account"]`)))
	expectText(b, "overview: administrator's name in the header", chromedp.CSS(`header a[href="/account"]`), name)
	b.screenshot(shotDir, "users.png")

	// 4. Sign out through the header's button.
	// The first Sign out is the header's; the second sits in the phone menu.
	b.load("click Sign out", 200, chromedp.Click(chromedp.CSS(`header form[action="/logout"] button`)))
	b.expectPath("after sign-out", "/login")
	expectText(b, "after sign-out: flash", chromedp.CSS(`[data-flash]`), "You have signed out.")

	// 5. The session is gone: the overview sends us to the login page.
	b.navigate("open / after sign-out", base+"/", 200)
	b.expectPath("open / after sign-out", "/login")
	b.do("open / after sign-out: login form", chromedp.WaitVisible(chromedp.CSS(`form[action="/login"]`)))

	// 6. The setup link worked once and is now dead.
	b.navigate("reopen the setup URL", setupURL, 404)
	expectText(b, "reopen the setup URL", chromedp.CSS("main"), "Warden is already set up")
	if f := b.forms(); f != 0 {
		t.Errorf("reopen the setup URL: page has %d form(s); want none", f)
	}

	b.expectCleanConsole()
}

// findChromium returns the Chromium binary to drive, or "" when there is none.
func findChromium() string {
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// needChromium returns the Chromium binary for a browser test. It skips the
// test in -short mode or when there is no Chromium, which under CI=true is
// a failure instead.
func needChromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromium := findChromium()
	if chromium == "" {
		msg := "browser test needs Chromium: /usr/bin/chromium is missing and there is no chromium on PATH (on Debian: apt-get install chromium)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; CI=true, so this is a failure, not a skip")
		}
		t.Skip(msg)
	}
	return chromium
}

// screenshotDir returns WARDEN_SCREENSHOT_DIR, created, or "" when unset:
// the browser tests then take no screenshots.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("WARDEN_SCREENSHOT_DIR")
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("WARDEN_SCREENSHOT_DIR: %v", err)
		}
	}
	return dir
}

// startBrowserTestServer runs the real server on a loopback port until the
// test ends, and returns its base URL and the one-time setup URL it logged.
func startBrowserTestServer(t *testing.T, ctx context.Context) (base, setupURL string) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DBPath = filepath.Join(t.TempDir(), "warden.db")
	logs := &syncBuffer{}
	watch := &setupURLWatcher{w: logs, found: make(chan string, 1)}
	srv, err := NewServer(ctx, cfg, slog.New(slog.NewTextHandler(watch, nil)))
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = srv.Close()
		t.Fatalf("listen: %v", err)
	}
	base = "http://" + ln.Addr().String()

	serveCtx, stop := context.WithCancel(context.Background())
	serveDone := make(chan struct{})
	var serveErr error
	go func() {
		defer close(serveDone)
		serveErr = srv.Serve(serveCtx, ln)
	}()
	// Cleanups run last-registered first: this one runs after the browser
	// has closed, so shutdown has no open connections to wait for.
	t.Cleanup(func() {
		stop()
		select {
		case <-serveDone:
			if serveErr != nil && !errors.Is(serveErr, net.ErrClosed) {
				t.Errorf("Serve returned %v", serveErr)
			}
		case <-time.After(15 * time.Second):
			t.Error("server did not shut down within 15 s")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})

	select {
	case setupURL = <-watch.found:
	case <-serveDone:
		t.Fatalf("server stopped before announcing the setup URL: %v", serveErr)
	case <-ctx.Done():
		t.Fatalf("no setup_url in the server log before the test timeout; log so far:\n%s", logs.String())
	}
	if !strings.HasPrefix(setupURL, base+"/setup?token=") {
		t.Fatalf("setup URL %q does not point at the listener %s", setupURL, base)
	}
	return base, setupURL
}

var setupURLAttr = regexp.MustCompile(`setup_url=("(?:[^"\\]|\\.)*"|\S+)`)

// setupURLWatcher passes log output on to w and delivers the first
// setup_url it sees on found (which needs room for one value). slog's text
// handler writes each record with a single Write, so a line is never split.
type setupURLWatcher struct {
	w     io.Writer
	once  sync.Once
	found chan string
}

func (s *setupURLWatcher) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if m := setupURLAttr.FindSubmatch(p); m != nil {
		v := string(m[1])
		if uq, uerr := strconv.Unquote(v); uerr == nil {
			v = uq
		}
		s.once.Do(func() { s.found <- v })
	}
	return n, err
}

// browser is one headless Chromium tab; every helper fails the test with the
// name of the step that went wrong.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string // console errors, exceptions and failed loads
}

func newBrowser(t *testing.T, ctx context.Context, execPath string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.NoSandbox, // we run as root
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // waits for Chromium to exit
	})
	b := &browser{t: t, ctx: bctx}
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", execPath, err)
	}
	if err := chromedp.Listen(bctx, b.record); err != nil {
		t.Fatalf("listen to the tab's console: %v", err)
	}
	return b
}

// record runs in the tab's event loop: it must only take notes.
func (b *browser) record(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = "exception: " + d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
		}
		msg = "console.error: " + strings.Join(parts, " ")
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		if e == nil || e.Level != cdplog.EntryLevelError {
			return
		}
		// The 422 and 404 of the setup page are expected; the test checks
		// those statuses itself. Any other failed load (a stylesheet, a
		// script, an image) is a problem.
		if e.Source == cdplog.EntrySourceNetwork {
			if u, err := url.Parse(e.URL); err == nil && u.Path == "/setup" {
				return
			}
		}
		msg = fmt.Sprintf("%s: %s %s", e.Source, e.Text, e.URL)
	default:
		return
	}
	b.mu.Lock()
	b.problems = append(b.problems, msg)
	b.mu.Unlock()
}

// expectCleanConsole fails the test if any page logged an error, threw, or
// had a resource fail to load (a CSP violation shows up here too).
func (b *browser) expectCleanConsole() {
	b.t.Helper()
	// Listen's func runs in the tab's event loop before later replies are
	// read, so after this round trip every earlier event has been recorded.
	b.do("flush the event loop", chromedp.Evaluate[chromedp.Void](`0`))
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Errorf("browser console: %s", p)
	}
}

func (b *browser) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
}

// navigate opens target and waits for the page; status is what the final
// document must have answered, after any redirect.
func (b *browser) navigate(step, target string, status int64) {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(target))
	b.expectResponse(step, resp, err, status)
}

// load runs an action that navigates (a click, Enter in a form) and waits for
// the new page, as navigate does.
func (b *browser) load(step string, status int64, action chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, action)
	b.expectResponse(step, resp, err, status)
}

func (b *browser) expectResponse(step string, resp *network.Response, err error, status int64) {
	b.t.Helper()
	if err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
	if resp == nil {
		b.t.Fatalf("%s: no response for the page", step)
	}
	if resp.Status != status {
		b.t.Fatalf("%s: %s answered %d; want %d", step, resp.URL, resp.Status, status)
	}
}

func (b *browser) location(step string) *url.URL {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("%s: read the location: %v", step, err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatalf("%s: location %q: %v", step, loc, err)
	}
	return u
}

func (b *browser) expectPath(step, path string) {
	b.t.Helper()
	if u := b.location(step); u.Path != path {
		b.t.Fatalf("%s: browser is at %s; want path %s", step, u, path)
	}
}

// expectText fails unless the visible text of sel contains want.
func expectText[S chromedp.Selectable](b *browser, step string, sel S, want string) {
	b.t.Helper()
	got, err := chromedp.Run(b.ctx, chromedp.Text(sel))
	if err != nil {
		b.t.Fatalf("%s: read text: %v", step, err)
	}
	if !strings.Contains(got, want) {
		b.t.Fatalf("%s: text is %q; want it to contain %q", step, got, want)
	}
}

func (b *browser) expectValue(step string, sel chromedp.ID, want string) {
	b.t.Helper()
	got, err := chromedp.Run(b.ctx, chromedp.Value(sel))
	if err != nil {
		b.t.Fatalf("%s: read value: %v", step, err)
	}
	if got != want {
		b.t.Fatalf("%s: field %s holds %q; want %q", step, sel, got, want)
	}
}

// expectStylesheet checks that the page's own stylesheet loaded and has
// rules, i.e. the page is styled and not bare HTML.
func (b *browser) expectStylesheet(step string) {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf(`Array.from(document.styleSheets)
		.filter(s => s.href && new URL(s.href).pathname === %q)
		.reduce((n, s) => n + s.cssRules.length, 0)`, static.Path("css/app.css"))))
	if err != nil {
		b.t.Fatalf("%s: inspect stylesheets: %v", step, err)
	}
	if n == 0 {
		b.t.Fatalf("%s: %s did not load or has no rules", step, static.Path("css/app.css"))
	}
}

func (b *browser) forms() int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.forms.length`))
	if err != nil {
		b.t.Fatalf("count forms: %v", err)
	}
	return n
}

// screenshot saves a full-page PNG into dir, when dir is set.
func (b *browser) screenshot(dir, name string) {
	b.t.Helper()
	if dir == "" {
		return
	}
	// chromedp encodes PNG only at quality 100; any other quality is JPEG.
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if !bytes.HasPrefix(buf, []byte("\x89PNG\r\n\x1a\n")) {
		b.t.Fatalf("screenshot %s: not a PNG", name)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.t.Logf("screenshot: %s", path)
}

// button selects a button by its visible label.
func button(label string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//button[normalize-space()=%q]`, label))
}
