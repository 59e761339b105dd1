package web

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warden-console/warden/models"
)

func TestLoginSuccess(t *testing.T) {
	h := newHarness(t)
	h.admin("ada@example.com")
	c := h.client()
	expectStatus(t, c.get("/login"), http.StatusOK)
	if !strings.Contains(c.lastBody, `name="password"`) || c.csrf == "" {
		t.Fatal("login page has no password field or CSRF token")
	}
	resp := c.post("/login", url.Values{"email": {"ADA@example.com"}, "password": {testPassword}})
	expectRedirect(t, resp, "/")

	var sc *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "warden_session" {
			sc = ck
		}
	}
	if sc == nil {
		t.Fatal("no session cookie after sign-in")
	}
	if !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.Secure {
		t.Errorf("session cookie attributes: HttpOnly=%v SameSite=%v Path=%q Secure=%v", sc.HttpOnly, sc.SameSite, sc.Path, sc.Secure)
	}
	if sc.MaxAge <= 0 || sc.MaxAge > 12*3600 {
		t.Errorf("session cookie Max-Age = %d; want the 12 h absolute limit", sc.MaxAge)
	}
	expectStatus(t, c.get("/users"), http.StatusOK)
	if !strings.Contains(c.lastBody, "Ada Admin") || !strings.Contains(c.lastBody, "Sign out") {
		t.Fatal("home page does not show the signed-in admin and a sign-out button")
	}
}

// TestSessionCookieCarriesOnlyAnOpaqueID decodes nothing: it checks the
// cookie is encrypted (not the raw token, no user data) and that the sessions
// table holds a hash, not the token.
func TestSessionCookieCarriesOnlyAnOpaqueID(t *testing.T) {
	h := newHarness(t)
	u := h.admin("ada@example.com")
	c := h.client()
	c.login("ada@example.com", testPassword)
	raw := c.cookie("warden_session").Value
	// securecookie's format is base64(date|base64(ciphertext)|mac): the
	// decoded outer layer must not show the account in clear.
	outer, err := base64.URLEncoding.DecodeString(raw)
	if err != nil {
		t.Fatalf("cookie is not securecookie-encoded: %v", err)
	}
	for _, leak := range []string{"ada", "example.com", "admin", "user_id"} {
		if strings.Contains(strings.ToLower(string(outer)), leak) {
			t.Errorf("session cookie shows %q in clear", leak)
		}
	}
	list, err := h.srv.Store().Sessions(context.Background(), u.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("sessions = %v, %v", list, err)
	}
	if strings.Contains(raw, list[0].TokenHash) {
		t.Error("the cookie carries the stored hash")
	}
}

func TestLoginFailuresAreGeneric(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	st := h.srv.Store()
	h.admin("ada@example.com")
	gone := h.admin("gus@example.com")
	if _, err := st.CreateHumanAdmin(ctx, models.NewHuman{Name: "Mia", Email: "mia@example.com", Password: testPassword, Confirm: testPassword}); err != nil {
		t.Fatal(err)
	}
	mustExec(t, h, `UPDATE users SET status = 'deactivated' WHERE id = ?`, gone.ID)
	mustExec(t, h, `UPDATE users SET role = 'member' WHERE email_key = 'mia@example.com'`)
	mustExec(t, h, `INSERT INTO users (kind, name, user_id, role, status, created_at, updated_at) VALUES ('service', 'Bot', 'bot@service', 'admin', 'active', ?, ?)`, time.Now().UTC(), time.Now().UTC())

	cases := []struct{ name, email, password string }{
		{"unknown user", "nobody@example.com", testPassword},
		{"wrong password", "ada@example.com", "not the right password at all"},
		{"deactivated admin", "gus@example.com", testPassword},
		{"service user", "bot@service", testPassword},
		{"empty form", "", ""},
		{"oversized password", "ada@example.com", strings.Repeat("x", 5000)},
	}
	var bodies []string
	for _, tc := range cases {
		c := h.client()
		c.get("/login")
		resp := c.post("/login", url.Values{"email": {tc.email}, "password": {tc.password}})
		expectStatus(t, resp, http.StatusUnauthorized)
		if !strings.Contains(c.lastBody, "The email or password is not correct.") {
			t.Errorf("%s: generic message missing", tc.name)
		}
		if c.cookie("warden_session") != nil {
			t.Errorf("%s: a session cookie was set", tc.name)
		}
		if tc.email != "" && !strings.Contains(c.lastBody, `value="`+tc.email+`"`) {
			t.Errorf("%s: the email typed was not kept in the form", tc.name)
		}
		// Apart from the echoed email and the per-client CSRF token, every
		// failure renders the same page.
		if tc.email != "" { // with nothing typed, focus starts on the email field instead
			body := strings.ReplaceAll(c.lastBody, tc.email, "EMAIL")
			bodies = append(bodies, anyCSRF.ReplaceAllString(body, ""))
		}
	}
	for i := 1; i < len(bodies); i++ {
		if bodies[i] != bodies[0] {
			t.Errorf("failure page %d differs from the first one", i)
		}
	}

	// A Member who typed the right password is told the console is for
	// administrators, and gets no session.
	c := h.client()
	c.get("/login")
	resp := c.post("/login", url.Values{"email": {"mia@example.com"}, "password": {testPassword}})
	expectStatus(t, resp, http.StatusForbidden)
	if !strings.Contains(c.lastBody, "The console is for administrators") {
		t.Error("non-admin page missing")
	}
	if c.cookie("warden_session") != nil {
		t.Error("a non-admin got a session cookie")
	}
	expectRedirect(t, c.get("/"), "/login")

	if strings.Contains(h.logs.String(), testPassword) {
		t.Error("a password reached the log")
	}
}

var anyCSRF = regexp.MustCompile(`(name="_csrf" value|name="csrf-token" content)="[^"]+"`)

func mustExec(t *testing.T, h *harness, sql string, args ...any) {
	t.Helper()
	if err := h.srv.Store().ExecForTest(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestLoginThrottlePerAccount(t *testing.T) {
	h := newHarness(t)
	h.admin("ada@example.com")
	h.admin("bob@example.com")
	c := h.client()
	c.get("/login")
	for i := 0; i < accountFailureLimit; i++ {
		resp := c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {fmt.Sprintf("wrong password number %d", i)}})
		expectStatus(t, resp, http.StatusUnauthorized)
	}
	// Even the right password is refused while the account is throttled.
	resp := c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
	expectStatus(t, resp, http.StatusTooManyRequests)
	if resp.Header.Get("Retry-After") == "" || !strings.Contains(c.lastBody, "Too many failed sign-in attempts") {
		t.Error("throttled response lacks Retry-After or an explanation")
	}
	if c.cookie("warden_session") != nil {
		t.Fatal("a throttled sign-in created a session")
	}
	// Another account from the same client is not affected.
	c.login("bob@example.com", testPassword)
}

func TestLoginThrottlePerIPIgnoresSpoofedForwardedFor(t *testing.T) {
	h := newHarness(t)
	h.admin("ada@example.com")
	c := h.client()
	c.get("/login")
	// Spray different accounts, claiming a new address each time. The peer is
	// not a trusted proxy, so the header must be ignored.
	for i := 0; i < ipFailureLimit; i++ {
		c.headers["X-Forwarded-For"] = fmt.Sprintf("198.51.100.%d", i+1)
		resp := c.post("/login", url.Values{"email": {fmt.Sprintf("user%d@example.com", i)}, "password": {"wrong password for spraying"}})
		expectStatus(t, resp, http.StatusUnauthorized)
	}
	c.headers["X-Forwarded-For"] = "203.0.113.250"
	resp := c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
	expectStatus(t, resp, http.StatusTooManyRequests)
}

func TestLoginThrottleHonoursTrustedProxy(t *testing.T) {
	// app.Test connections come from 0.0.0.0; trusting it makes the header
	// the source of the client address, so different clients count apart.
	h := newHarness(t, func(c *Config) { c.TrustedProxies = "0.0.0.0/32" })
	h.admin("ada@example.com")
	c := h.client()
	c.get("/login")
	for i := 0; i < ipFailureLimit; i++ {
		c.headers["X-Forwarded-For"] = "198.51.100.7"
		c.post("/login", url.Values{"email": {fmt.Sprintf("user%d@example.com", i)}, "password": {"wrong password for spraying"}})
	}
	c.headers["X-Forwarded-For"] = "198.51.100.7"
	expectStatus(t, c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}}), http.StatusTooManyRequests)
	// A client-forged entry to the left of the proxy's does not help.
	c.headers["X-Forwarded-For"] = "10.9.9.9, 198.51.100.7"
	expectStatus(t, c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}}), http.StatusTooManyRequests)
	// Another real client behind the proxy signs in normally.
	c.headers["X-Forwarded-For"] = "198.51.100.8"
	resp := c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
	expectRedirect(t, resp, "/")
}

func TestSessionIDRotatesOnLogin(t *testing.T) {
	h := newHarness(t)
	h.admin("ada@example.com")
	c := h.client()
	c.login("ada@example.com", testPassword)
	first := c.cookie("warden_session").Value

	// Signing in again while holding a session replaces it.
	c.login("ada@example.com", testPassword)
	second := c.cookie("warden_session").Value
	if first == second {
		t.Fatal("the session cookie did not change on sign-in")
	}
	old := h.client()
	old.jar.SetCookies(mustURL(testOrigin), []*http.Cookie{{Name: "warden_session", Value: first}})
	expectRedirect(t, old.get("/"), "/login")

	// Fixation: a victim signing in with a cookie the attacker planted (here
	// the attacker's own valid session) gets a new session; the planted one dies.
	attacker := h.client()
	attacker.login("ada@example.com", testPassword)
	planted := attacker.cookie("warden_session").Value
	victim := h.client()
	victim.jar.SetCookies(mustURL(testOrigin), []*http.Cookie{{Name: "warden_session", Value: planted}})
	victim.get("/users") // the page the victim is on carries the planted session's CSRF token
	expectRedirect(t, victim.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}}), "/")
	if got := victim.cookie("warden_session").Value; got == planted {
		t.Fatal("the planted session id survived sign-in")
	}
	expectRedirect(t, attacker.get("/"), "/login")
}

func TestForgedSessionCookieIsIgnored(t *testing.T) {
	h := newHarness(t)
	h.admin("ada@example.com")
	c := h.client()
	c.jar.SetCookies(mustURL(testOrigin), []*http.Cookie{{Name: "warden_session", Value: "MTcwMDAwMDAwMHxmb3JnZWR8"}})
	expectRedirect(t, c.get("/"), "/login")
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestLogoutEndsSessionServerSide(t *testing.T) {
	h := newHarness(t)
	h.admin("ada@example.com")
	c := h.client()
	c.login("ada@example.com", testPassword)
	copied := c.cookie("warden_session").Value
	c.get("/")
	expectRedirect(t, c.post("/logout", nil), "/login")
	if ck := c.cookie("warden_session"); ck != nil {
		t.Error("logout did not clear the cookie")
	}
	replay := h.client()
	replay.jar.SetCookies(mustURL(testOrigin), []*http.Cookie{{Name: "warden_session", Value: copied}})
	expectRedirect(t, replay.get("/"), "/login")
	// A GET to /logout does nothing: signing out is a POST.
	resp := c.get("/logout")
	if resp.StatusCode == http.StatusOK {
		t.Error("GET /logout answered 200")
	}
}

// TestSignInAndConsoleUseSetLastActive: signing in makes a person active,
// and using the console keeps the time current to the minute.
func TestSignInAndConsoleUseSetLastActive(t *testing.T) {
	h := newHarness(t)
	ada := h.admin("ada@example.com")
	lastActive := func() *time.Time {
		t.Helper()
		u, err := h.srv.Store().UserByID(context.Background(), ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u.LastActiveAt
	}
	c := h.client()
	c.login("ada@example.com", testPassword)
	signedIn := h.srv.Store().Now()
	if got := lastActive(); got == nil || !got.Equal(signedIn) {
		t.Fatalf("after signing in, last active = %v; want %v", got, signedIn)
	}
	h.clock.Advance(2 * time.Minute)
	expectStatus(t, c.get("/users/"+strconv.FormatInt(ada.ID, 10)), http.StatusOK)
	if got := lastActive(); got == nil || !got.Equal(h.srv.Store().Now()) {
		t.Fatalf("after a page two minutes on, last active = %v; want %v", got, h.srv.Store().Now())
	}
	if strings.Contains(c.lastBody, ">Never<") {
		t.Error("Ada's own page still says she was never active")
	}
}
