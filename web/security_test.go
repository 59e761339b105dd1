package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/static"
)

func TestIdleTimeout(t *testing.T) {
	h := newHarness(t)
	h.admin("ada@example.com")
	c := h.client()
	c.login("ada@example.com", testPassword)
	h.clock.Advance(29 * time.Minute)
	expectStatus(t, c.get("/users"), http.StatusOK)
	h.clock.Advance(31 * time.Minute)
	expectRedirect(t, c.get("/account"), "/login?next=%2Faccount")
	c.get("/login?next=%2Faccount")
	if !strings.Contains(c.lastBody, "Your session expired") {
		t.Error("no notice that the session expired")
	}
}

func TestAbsoluteTimeout(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AbsoluteTimeout = 2 * time.Hour })
	h.admin("ada@example.com")
	c := h.client()
	c.login("ada@example.com", testPassword)
	for i := 0; i < 5; i++ { // busy every 20 minutes for 1 h 40 min
		h.clock.Advance(20 * time.Minute)
		expectStatus(t, c.get("/users"), http.StatusOK)
	}
	h.clock.Advance(20 * time.Minute)
	expectRedirect(t, c.get("/"), "/login")
}

func TestConfiguredIdleTimeout(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.IdleTimeout = 5 * time.Minute })
	h.admin("ada@example.com")
	c := h.client()
	c.login("ada@example.com", testPassword)
	h.clock.Advance(6 * time.Minute)
	expectRedirect(t, c.get("/"), "/login")
}

func TestCSRF(t *testing.T) {
	h := newHarness(t)
	h.admin("ada@example.com")
	h.admin("bob@example.com")
	c := h.client()
	c.login("ada@example.com", testPassword)
	c.get("/account")
	good := c.csrf

	other := h.client()
	other.login("bob@example.com", testPassword)
	other.get("/account")
	if other.csrf == good {
		t.Fatal("two sessions share a CSRF token")
	}

	post := func(form url.Values, headers map[string]string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, testOrigin+"/account/sessions/end-others", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		return c.do(req)
	}
	sameOrigin := map[string]string{"Origin": testOrigin, "Sec-Fetch-Site": "same-origin"}
	cases := []struct {
		name    string
		form    url.Values
		headers map[string]string
	}{
		{"missing token", url.Values{}, sameOrigin},
		{"empty token", url.Values{"_csrf": {""}}, sameOrigin},
		{"token of another session", url.Values{"_csrf": {other.csrf}}, sameOrigin},
		{"cross-origin Origin", url.Values{"_csrf": {good}}, map[string]string{"Origin": "https://evil.example"}},
		{"null Origin", url.Values{"_csrf": {good}}, map[string]string{"Origin": "null"}},
		{"Sec-Fetch-Site cross-site", url.Values{"_csrf": {good}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"Sec-Fetch-Site same-site", url.Values{"_csrf": {good}}, map[string]string{"Sec-Fetch-Site": "same-site"}},
		{"look-alike host", url.Values{"_csrf": {good}}, map[string]string{"Origin": "http://warden.test.evil.example"}},
	}
	for _, tc := range cases {
		resp := post(tc.form, tc.headers)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", tc.name, resp.StatusCode)
		} else if !strings.Contains(c.lastBody, "This form has expired or was sent from another site") {
			t.Errorf("%s: the 403 page does not explain itself", tc.name)
		}
	}
	// The htmx header carries the token as well as the form field does.
	expectRedirect(t, post(url.Values{}, map[string]string{"Origin": testOrigin, "X-CSRF-Token": good}), "/account")
	expectRedirect(t, post(url.Values{"_csrf": {good}}, sameOrigin), "/account")
	// A client that sends neither Origin nor Sec-Fetch-Site still needs the token.
	expectRedirect(t, post(url.Values{"_csrf": {good}}, nil), "/account")
}

func TestLoginFormNeedsCSRFToken(t *testing.T) {
	h := newHarness(t)
	h.admin("ada@example.com")
	c := h.client()
	c.get("/login")
	resp := c.post("/login", url.Values{"_csrf": {"forged"}, "email": {"ada@example.com"}, "password": {testPassword}})
	expectStatus(t, resp, http.StatusForbidden)
	fresh := h.client() // never saw the login page, so carries no CSRF cookie
	resp = fresh.post("/login", url.Values{"_csrf": {c.csrf}, "email": {"ada@example.com"}, "password": {testPassword}})
	expectStatus(t, resp, http.StatusForbidden)
	if fresh.cookie("warden_session") != nil {
		t.Fatal("login CSRF created a session")
	}
}

func TestBaseURLOriginCheck(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.BaseURL = "https://warden.example.com" })
	h.admin("ada@example.com")
	c := h.client()
	c.get("/login")
	// The harness sends Origin http://warden.test, which is not the configured origin.
	expectStatus(t, c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}}), http.StatusForbidden)
	c.headers["Origin"] = "https://warden.example.com"
	expectRedirect(t, c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}}), "/")
}

func TestOpenRedirect(t *testing.T) {
	h := newHarness(t)
	h.admin("ada@example.com")
	c := h.client()
	for _, next := range []string{
		"https://evil.example/", "//evil.example", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)",
		"http:evil.example", "/%2F%2Fevil.example", "%2F%2Fevil.example", "/\t/evil.example",
	} {
		c.get("/login?next=" + url.QueryEscape(next))
		resp := c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "next": {next}})
		expectRedirect(t, resp, "/")
		// Already signed in, the login page itself must not bounce there either.
		expectRedirect(t, c.get("/login?next="+url.QueryEscape(next)), "/")
		c.post("/logout", nil)
	}
	// A local path survives the round trip through the login page.
	expectRedirect(t, c.get("/account?tab=sessions"), "/login?next=%2Faccount%3Ftab%3Dsessions")
	c.get("/login?next=%2Faccount%3Ftab%3Dsessions")
	if !strings.Contains(c.lastBody, `name="next" value="/account?tab=sessions"`) {
		t.Fatal("the login form lost the next parameter")
	}
	resp := c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "next": {"/account?tab=sessions"}})
	expectRedirect(t, resp, "/account?tab=sessions")
}

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t)
	h.admin("ada@example.com")
	c := h.client()
	c.login("ada@example.com", testPassword)
	for _, path := range []string{"/", "/account", "/login", "/no-such-page", static.Path("css/app.css"), "/healthz"} {
		resp := c.get(path)
		hd := resp.Header
		csp := hd.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP allows inline or eval: %q", path, csp)
		}
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"} {
			if got := hd.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", path, k, got, want)
			}
		}
		if hd.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS sent over plain HTTP configuration", path)
		}
		if hd.Get("X-Request-ID") == "" {
			t.Errorf("%s: no X-Request-ID", path)
		}
		if !strings.HasPrefix(path, "/static/") && hd.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control = %q, want no-store", path, hd.Get("Cache-Control"))
		}
	}
	// Pages link their assets by content hash, so the assets may be cached for good.
	c.get("/users")
	if !strings.Contains(c.lastBody, `href="`+static.Path("css/app.css")+`"`) || !strings.Contains(c.lastBody, `src="`+static.Path("js/htmx.min.js")+`"`) {
		t.Fatal("pages do not link hashed assets")
	}
	if cc := c.get(static.Path("css/app.css")).Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("hashed asset Cache-Control = %q", cc)
	}
	// No inline script or style anywhere on the pages.
	signedOut := h.client()
	for _, r := range []struct {
		c    *client
		path string
	}{{signedOut, "/login"}, {c, "/users"}, {c, "/account"}} {
		r.c.get(r.path)
		if r.c.lastBody == "" || strings.Contains(r.c.lastBody, "<script>") || strings.Contains(r.c.lastBody, " onclick=") || strings.Contains(r.c.lastBody, " style=") {
			t.Errorf("%s is empty or has inline script or style, which the CSP would block", r.path)
		}
	}
}

func TestSecureCookiesOverHTTPS(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SecureCookies = true })
	h.admin("ada@example.com")
	c := h.client()
	resp := c.get("/login")
	if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=") {
		t.Errorf("HSTS = %q with secure cookies on", hsts)
	}
	var csrfCookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "__Host-warden_csrf" {
			csrfCookie = ck
		}
	}
	if csrfCookie == nil || !csrfCookie.Secure || !csrfCookie.HttpOnly || csrfCookie.Domain != "" || csrfCookie.Path != "/" {
		t.Fatalf("pre-sign-in CSRF cookie = %+v; want __Host-, Secure, HttpOnly, Path=/", csrfCookie)
	}
	// The cookie jar would not send a Secure cookie over http://, so post by hand.
	form := url.Values{"_csrf": {c.csrf}, "email": {"ada@example.com"}, "password": {testPassword}}
	req, _ := http.NewRequest(http.MethodPost, testOrigin+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: csrfCookie.Name, Value: csrfCookie.Value})
	resp, err := h.srv.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	expectRedirect(t, resp, "/")
	var sc *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "__Host-warden_session" {
			sc = ck
		}
	}
	if sc == nil || !sc.Secure || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie = %+v; want __Host-warden_session, Secure, HttpOnly, SameSite=Lax", sc)
	}
}

// TestEveryPageNeedsASession walks the console's routes signed out.
func TestEveryPageNeedsASession(t *testing.T) {
	h := newHarness(t)
	h.admin("ada@example.com")
	c := h.client()
	c.get("/login") // for a valid pre-sign-in CSRF token
	protected := []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/account"}, {"GET", "/no-such-page"}, {"GET", "/users"},
		{"POST", "/account/password"}, {"POST", "/account/sessions/end-others"}, {"POST", "/account/sessions/1/end"},
		{"GET", "/tokens/1/rotate"}, {"GET", "/tokens/1/revoke"}, {"GET", "/tokens/1/restore"}, {"GET", "/tokens/1/delete"},
		{"GET", "/users/1/tokens/revoke-all"}, {"GET", "/tokens/reveal/AAAAAAAAAAAAAAAAAAAAAA"},
	}
	for _, r := range protected {
		var resp *http.Response
		if r.method == "GET" {
			resp = c.get(r.path)
		} else {
			resp = c.post(r.path, nil)
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
			t.Errorf("%s %s signed out: status %d location %q; want a redirect to /login", r.method, r.path, resp.StatusCode, loc)
		}
	}
	expectRedirect(t, c.get("/account"), "/login?next=%2Faccount")

	// htmx requests are told to navigate instead of swapping the login page in.
	req, _ := http.NewRequest(http.MethodGet, testOrigin+"/account", nil)
	req.Header.Set("HX-Request", "true")
	resp := c.do(req)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("HX-Redirect") != "/login?next=%2Faccount" {
		t.Errorf("htmx request signed out: %d, HX-Redirect %q", resp.StatusCode, resp.Header.Get("HX-Redirect"))
	}

	public := map[string]int{"/login": 200, "/setup": 404, "/healthz": 200, "/readyz": 200, static.Path("js/app.js"): 200, static.Path("img/favicon.svg"): 200}
	for path, want := range public {
		if resp := c.get(path); resp.StatusCode != want {
			t.Errorf("GET %s signed out: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	expectStatus(t, c.get("/healthz"), http.StatusOK)
	expectStatus(t, c.get("/readyz"), http.StatusOK)
	_ = h.srv.Close()
	expectStatus(t, c.get("/readyz"), http.StatusServiceUnavailable)
	expectStatus(t, c.get("/healthz"), http.StatusOK)
}

// TestInternalErrorsStayInternal breaks the database under a signed-in
// admin: the page says what happened and gives a request id, nothing more.
func TestInternalErrorsStayInternal(t *testing.T) {
	h := newHarness(t)
	h.admin("ada@example.com")
	c := h.client()
	c.login("ada@example.com", testPassword)
	_ = h.srv.Close()
	resp := c.get("/")
	expectStatus(t, resp, http.StatusInternalServerError)
	body := strings.ToLower(c.lastBody)
	for _, leak := range []string{"sql", "database is closed", "gorm", "goroutine", ".go:", "models:"} {
		if strings.Contains(body, leak) {
			t.Errorf("error page leaks %q", leak)
		}
	}
	rid := resp.Header.Get("X-Request-ID")
	if rid == "" || !strings.Contains(c.lastBody, rid) {
		t.Error("error page does not show the request id")
	}
	if !strings.Contains(h.logs.String(), "request_id="+rid) {
		t.Error("the failure was not logged with its request id")
	}
}

func TestOneLogLinePerRequest(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	resp := c.get("/setup?token=secret-looking-token")
	rid := resp.Header.Get("X-Request-ID")
	var lines []string
	for _, l := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(l, "msg=request") && strings.Contains(l, rid) {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%d access log lines for one request: %q", len(lines), lines)
	}
	for _, want := range []string{"method=GET", "path=/setup", "status=403", "duration_ms="} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("access log line lacks %q: %s", want, lines[0])
		}
	}
	if strings.Contains(h.logs.String(), "secret-looking-token") {
		t.Error("the query string (which can carry the setup token) reached the log")
	}
}

func TestMarkupInNamesIsEscaped(t *testing.T) {
	h := newHarness(t)
	h.admin("ada@example.com")
	mustExec(t, h, `UPDATE users SET name = ? WHERE email_key = 'ada@example.com'`, `<script>alert("x")</script>&'`)
	c := h.client()
	c.login("ada@example.com", testPassword)
	for _, path := range []string{"/users", "/account"} {
		c.get(path)
		if strings.Contains(c.lastBody, `<script>alert`) {
			t.Errorf("%s renders a name as markup", path)
		}
		if !strings.Contains(c.lastBody, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;&#39;`) {
			t.Errorf("%s does not show the escaped name", path)
		}
	}
}

func TestAnonymousCSRFRejectionsCannotFloodTheAuditLog(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	for i := 0; i < 25; i++ {
		resp := c.post("/login", url.Values{"_csrf": {"forged"}, "email": {"x@example.com"}, "password": {"y"}})
		expectStatus(t, resp, http.StatusForbidden)
	}
	page, err := h.srv.Store().ListAudit(context.Background(), models.AuditQuery{Actions: []string{"security.csrf_rejected"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(page.Events); n != 10 {
		t.Fatalf("%d anonymous CSRF rejections audited from one address; want the cap of 10", n)
	}
	if !strings.Contains(h.logs.String(), "CSRF rejection not audited") {
		t.Error("rejections over the cap are not logged")
	}
}
