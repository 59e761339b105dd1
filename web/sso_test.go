package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/warden-console/warden/models"
)

const adminGroup = "warden-admins"

// testIDP is a real OpenID provider (oauth2-proxy/mockoidc) served over
// HTTP on a loopback port, with its own RSA key, JWKS and discovery
// document. forge, when set, rewrites the ID token its token endpoint
// issues (after the endpoint has checked the code and the PKCE verifier),
// for the attacks that need a token the provider would never sign.
type testIDP struct {
	m  *mockoidc.MockOIDC
	mu sync.Mutex
	// forge gets the claims of the ID token issued and returns the token to
	// send instead.
	forge func(t *testing.T, claims map[string]any) string
	// replace, when set, is sent as the ID token as it is.
	replace string
	// issued are the ID tokens the token endpoint sent, in order.
	issued []string
	// jwks, when set, is the key set published instead of the provider's
	// own (a key rotation).
	jwks *mockoidc.Keypair
	t    *testing.T
}

func startIDP(t *testing.T) *testIDP {
	t.Helper()
	m, err := mockoidc.NewServer(newRSAKey(t)) // its own key: mockoidc's default one is public
	if err != nil {
		t.Fatal(err)
	}
	p := &testIDP{m: m, t: t}
	if err := m.AddMiddleware(p.tokenMiddleware); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return p
}

// tokenMiddleware lets the token endpoint answer, then swaps its ID token
// when the test asks for it.
func (p *testIDP) tokenMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		jwks := p.jwks
		p.mu.Unlock()
		if r.URL.Path == mockoidc.JWKSEndpoint && jwks != nil {
			b, err := jwks.JWKS()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(b)
			return
		}
		if r.URL.Path != mockoidc.TokenEndpoint {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var resp map[string]any
		if rec.Code == http.StatusOK && json.Unmarshal(body, &resp) == nil {
			p.mu.Lock()
			raw, _ := resp["id_token"].(string)
			switch {
			case p.replace != "":
				raw = p.replace
			case p.forge != nil:
				raw = p.forge(p.t, claimsOf(p.t, raw))
			}
			p.issued = append(p.issued, raw)
			p.mu.Unlock()
			resp["id_token"] = raw
			body, _ = json.Marshal(resp)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

func (p *testIDP) setForge(f func(t *testing.T, claims map[string]any) string) {
	p.mu.Lock()
	p.forge, p.replace = f, ""
	p.mu.Unlock()
}

// rotate publishes only the new key k from now on.
func (p *testIDP) rotate(k *mockoidc.Keypair) {
	p.mu.Lock()
	p.jwks = k
	p.mu.Unlock()
}

func (p *testIDP) setReplace(raw string) {
	p.mu.Lock()
	p.forge, p.replace = nil, raw
	p.mu.Unlock()
}

func (p *testIDP) lastIssued() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.issued) == 0 {
		return ""
	}
	return p.issued[len(p.issued)-1]
}

// signed signs claims with the provider's own key (RS256, its kid).
func (p *testIDP) signed(t *testing.T, claims map[string]any) string {
	t.Helper()
	raw, err := p.m.Keypair.SignJWT(jwt.MapClaims(claims))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func newRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func claimsOf(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// unsignedJWT builds a token with the given header, unsigned or signed
// with HMAC-SHA256 under key.
func unsignedJWT(t *testing.T, header, claims map[string]any, hmacKey []byte) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	s := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	if hmacKey == nil {
		return s + "."
	}
	mac := hmac.New(sha256.New, hmacKey)
	mac.Write([]byte(s))
	return s + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func person(subject, email string, verified bool, groups ...string) *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: subject, Email: email, EmailVerified: verified, PreferredUsername: subject, Groups: groups}
}

// newSSOHarness is a harness whose console signs in with p.
func newSSOHarness(t *testing.T, p *testIDP, mutate ...func(*Config)) *harness {
	t.Helper()
	t.Setenv(EnvName("oidc-client-secret"), "") // never read here: the config carries it
	return newHarness(t, append([]func(*Config){func(c *Config) {
		c.BaseURL = testOrigin
		c.OIDCIssuer = p.m.Issuer()
		c.OIDCClientID = p.m.ClientID
		c.OIDCClientSecret = p.m.ClientSecret
		c.OIDCAdminGroups = adminGroup + ",security"
		c.OIDCDisplayName = "Test IdP"
	}}, mutate...)...)
}

// noRedirects is a client for the provider's pages that stops at each
// redirect, as the test follows them itself.
var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// ssoStart follows "Sign in with Test IdP" and returns where the console
// sends the browser: the provider's authorization endpoint.
func (c *client) ssoStart(next string) string {
	c.h.t.Helper()
	c.get("/login")
	if !strings.Contains(c.lastBody, "Sign in with Test IdP") {
		c.h.t.Fatalf("login page without the provider's button: %s", snippet(c.lastBody))
	}
	if !strings.Contains(c.lastBody, `href="/login/sso"`) {
		c.h.t.Fatalf("the button does not start a sign-in: %s", snippet(c.lastBody))
	}
	resp := c.get("/login/sso?next=" + url.QueryEscape(next))
	if resp.StatusCode != http.StatusSeeOther {
		c.h.t.Fatalf("GET /login/sso: %d %s", resp.StatusCode, snippet(c.lastBody))
	}
	for _, sc := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, "warden_sso=") && (!strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") || !strings.Contains(sc, "max-age=600")) {
			c.h.t.Fatalf("pre-session cookie %q: want HttpOnly, SameSite=Lax, 10 minutes", sc)
		}
	}
	return resp.Header.Get("Location")
}

// authorize visits the provider's authorization endpoint (which signs in
// the next queued person at once) and returns the console callback it
// redirects to, as a path with its query.
func authorize(t *testing.T, authURL string) string {
	t.Helper()
	resp, err := noRedirects.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Scheme+"://"+loc.Host != testOrigin || loc.Path != "/login/sso/callback" {
		t.Fatalf("the provider redirected to %q, not to the console's callback", resp.Header.Get("Location"))
	}
	return loc.RequestURI()
}

// ssoSignIn walks the whole flow for who and returns the callback's answer.
func (c *client) ssoSignIn(p *testIDP, who mockoidc.User, next string) *http.Response {
	c.h.t.Helper()
	authURL := c.ssoStart(next)
	p.m.QueueUser(who)
	return c.get(authorize(c.h.t, authURL))
}

// ssoEventsSince returns "action/outcome/reason" of the events after id.
func ssoEventsSince(t *testing.T, h *harness, after int64) []string {
	t.Helper()
	page, err := h.srv.Store().ListAudit(context.Background(), models.AuditQuery{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(page.Events) - 1; i >= 0; i-- {
		if e := page.Events[i]; e.ID > after {
			out = append(out, e.Action+"/"+e.Outcome+"/"+e.Reason)
		}
	}
	return out
}

func lastAuditID(t *testing.T, h *harness) int64 {
	t.Helper()
	page, err := h.srv.Store().ListAudit(context.Background(), models.AuditQuery{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) == 0 {
		return 0
	}
	return page.Events[0].ID
}

func hasSession(t *testing.T, c *client) bool {
	t.Helper()
	resp := c.get("/users")
	return resp.StatusCode == http.StatusOK
}

// TestSSOSignInFlow walks the whole redirect flow with a cookie jar against
// a real provider: authorization code with PKCE S256, state and nonce in
// the pre-session cookie, a just-in-time Admin, `next` followed only to a
// local path; then the person leaves the admin groups and is refused at the
// next sign-in, and their open console session ends.
func TestSSOSignInFlow(t *testing.T) {
	p := startIDP(t)
	h := newSSOHarness(t, p)
	h.admin("ada@example.com")

	c := h.client()
	authURL := c.ssoStart("/audit?outcome=failed")
	u, _ := url.Parse(authURL)
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("state") == "" || q.Get("nonce") == "" ||
		q.Get("redirect_uri") != testOrigin+"/login/sso/callback" || q.Get("scope") != "openid email profile groups" ||
		q.Get("response_type") != "code" || q.Get("client_id") != p.m.ClientID {
		t.Fatalf("authorization request %v", q)
	}
	if strings.Contains(authURL, "code_verifier") || strings.Contains(authURL, p.m.ClientSecret) {
		t.Fatal("the verifier or the client secret went to the browser")
	}
	if pre := c.cookie("warden_sso"); pre == nil || strings.Contains(pre.Value, q.Get("state")) {
		t.Fatalf("pre-session cookie %+v: want one, sealed", pre)
	}

	before := lastAuditID(t, h)
	p.m.QueueUser(person("grace-sub", "grace@example.com", true, "engineering", adminGroup))
	resp := c.get(authorize(t, authURL))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/audit?outcome=failed" {
		t.Fatalf("callback: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), snippet(c.lastBody))
	}
	if c.cookie("warden_sso") != nil {
		t.Error("the pre-session cookie outlived its callback")
	}
	if !hasSession(t, c) {
		t.Fatal("no console session after single sign-on")
	}
	if got := ssoEventsSince(t, h, before); strings.Join(got, " ") != "user.sso_create/success/ auth.sso_login/success/" {
		t.Errorf("events %v", got)
	}
	grace, err := h.srv.Store().UserByHandle(context.Background(), "grace@example.com")
	if err != nil || !grace.SSO() || grace.Role != models.RoleAdmin || *grace.SSOIssuer != p.m.Issuer() || *grace.SSOSubject != "grace-sub" {
		t.Fatalf("Grace: %+v %v", grace, err)
	}

	// The API's user shape says it too: sign_in.
	st := h.srv.Store()
	ada, _ := st.UserByHandle(context.Background(), "ada@example.com")
	bot, err := st.CreateServiceUser(context.Background(), models.AsUser(ada), models.NewServiceUser{Name: "Reader", Role: models.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := st.GenerateToken(context.Background(), models.AsUser(ada), bot.ID, models.NewToken{Name: "main", Expiry: models.Expiry{Days: 30}})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/api/v1/users/" + itoa(grace.ID):  `"sign_in":"sso"`,
		"/api/v1/users/" + itoa(ada.ID):    `"sign_in":"password"`,
		"/api/v1/users/" + itoa(bot.ID):    `"sign_in":null`,
		"/api/v1/users?type=human&q=grace": `"sign_in":"sso"`,
	} {
		if resp, body := apiGet(t, h, path, map[string]string{"Authorization": "Bearer " + secret}); resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d %s, want %s", path, resp.StatusCode, snippet(body), want)
		}
	}
	c.get("/settings")
	if text := visibleText(c.lastBody); !strings.Contains(text, "Single sign-on --oidc-issuerOn") || !strings.Contains(text, "Password sign-in --password-loginOn") {
		t.Errorf("settings do not show how administrators sign in: %s", text)
	}
	// The Users list says how each person signs in; Grace's page has no
	// set-password link.
	c.get("/users?type=human")
	if !strings.Contains(c.lastBody, `data-sign-in="sso"`) || !strings.Contains(c.lastBody, `data-sign-in="password"`) {
		t.Errorf("Users list does not say how people sign in")
	}
	c.get("/users/" + itoa(grace.ID))
	if strings.Contains(c.lastBody, "password-link") || !strings.Contains(c.lastBody, `data-sign-in="sso"`) {
		t.Errorf("Grace's page offers a set-password link or hides how she signs in")
	}
	resp = c.post("/users/"+itoa(grace.ID)+"/password-link", nil)
	if resp.StatusCode == http.StatusOK && strings.Contains(c.lastBody, "/set-password/") {
		t.Error("a set-password link was issued for an SSO person")
	}

	// Grace leaves the admin groups: her next sign-in is refused and her
	// open session (c) ends.
	other := h.client()
	before = lastAuditID(t, h)
	resp = other.ssoSignIn(p, person("grace-sub", "grace@example.com", true, "engineering"), "/")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(other.lastBody, "The console is for administrators") {
		t.Fatalf("out of the groups: %d %s", resp.StatusCode, snippet(other.lastBody))
	}
	if hasSession(t, other) {
		t.Error("a person out of the admin groups got a session")
	}
	if hasSession(t, c) {
		t.Error("Grace's console session survived leaving the admin groups")
	}
	if got := ssoEventsSince(t, h, before); strings.Join(got, " ") != "user.sso_role_lost/success/ auth.sso_denied/denied/not_in_group" {
		t.Errorf("events %v", got)
	}
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newFlagSet() *flag.FlagSet { return flag.NewFlagSet("warden serve", flag.ContinueOnError) }

// TestSSOAttacksFailClosed: each forged, replayed or mismatched answer
// signs nobody in, is audited with its reason, and shows the sign-in page
// with a way to try again, never a 500.
func TestSSOAttacksFailClosed(t *testing.T) {
	p := startIDP(t)
	// Each attack comes from its own address (app.Test connects from
	// 0.0.0.0, trusted here as a proxy), so the cases stay clear of the
	// per-address limit on failed sign-ins (TestSSOCallbackThrottled).
	h := newSSOHarness(t, p, func(c *Config) { c.TrustedProxies = "0.0.0.0/32" })
	h.admin("ada@example.com")
	clients := 0
	newClient := func() *client {
		clients++
		c := h.client()
		c.headers["X-Forwarded-For"] = fmt.Sprintf("198.51.100.%d", clients)
		return c
	}
	grace := func() *mockoidc.MockUser { return person("grace-sub", "grace@example.com", true, adminGroup) }

	// expectRefused checks the answer and the event of a refused sign-in.
	expectRefused := func(t *testing.T, c *client, resp *http.Response, before int64, status int, reason string) string {
		t.Helper()
		page := c.lastBody
		if resp.StatusCode != status {
			t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, snippet(page))
		}
		if !strings.Contains(page, `href="/login/sso"`) {
			t.Error("no way to try again on the page")
		}
		if hasSession(t, c) {
			t.Fatal("signed in")
		}
		got := ssoEventsSince(t, h, before)
		if len(got) != 1 || !strings.HasSuffix(got[0], "/"+reason) || !strings.HasPrefix(got[0], "auth.sso_failed/failed/") {
			t.Fatalf("events %v, want one auth.sso_failed with %s", got, reason)
		}
		return page
	}
	// flowWith runs a flow whose ID token forge rewrites.
	flowWith := func(t *testing.T, who mockoidc.User, forge func(t *testing.T, c map[string]any) string) (*client, *http.Response, int64) {
		t.Helper()
		p.setForge(forge)
		t.Cleanup(func() { p.setForge(nil) })
		c := newClient()
		before := lastAuditID(t, h)
		return c, c.ssoSignIn(p, who, "/"), before
	}

	t.Run("state mismatch", func(t *testing.T) {
		c := newClient()
		authURL := c.ssoStart("/")
		p.m.QueueUser(grace())
		cb := authorize(t, authURL)
		u, _ := url.Parse(cb)
		q := u.Query()
		q.Set("state", "x"+q.Get("state"))
		before := lastAuditID(t, h)
		expectRefused(t, c, c.get(u.Path+"?"+q.Encode()), before, http.StatusBadRequest, models.SSOBadState)
	})
	t.Run("no pre-session", func(t *testing.T) {
		c := newClient()
		authURL := c.ssoStart("/")
		p.m.QueueUser(grace())
		cb := authorize(t, authURL)
		stranger := newClient() // another browser: no pre-session cookie
		before := lastAuditID(t, h)
		expectRefused(t, stranger, stranger.get(cb), before, http.StatusBadRequest, models.SSOExpiredPreSession)
	})
	t.Run("expired pre-session", func(t *testing.T) {
		c := newClient()
		authURL := c.ssoStart("/")
		p.m.QueueUser(grace())
		cb := authorize(t, authURL)
		h.clock.Advance(11 * time.Minute)
		defer h.clock.Advance(-11 * time.Minute) // the provider's tokens follow the real clock
		before := lastAuditID(t, h)
		page := expectRefused(t, c, c.get(cb), before, http.StatusBadRequest, models.SSOExpiredPreSession)
		if !strings.Contains(page, "took too long") {
			t.Errorf("no clear message for an expired pre-session: %s", visibleText(page))
		}
	})
	t.Run("provider error", func(t *testing.T) {
		c := newClient()
		authURL := c.ssoStart("/")
		state := mustQuery(t, authURL, "state")
		before := lastAuditID(t, h)
		resp := c.get("/login/sso/callback?error=access_denied&error_description=%3Cscript%3E&state=" + url.QueryEscape(state))
		page := expectRefused(t, c, resp, before, http.StatusUnauthorized, models.SSOProviderError)
		if !strings.Contains(page, "access_denied") || strings.Contains(page, "<script>") {
			t.Errorf("the provider's error is not named, or its description is echoed: %s", visibleText(page))
		}
	})
	t.Run("replayed code", func(t *testing.T) {
		c := newClient()
		authURL := c.ssoStart("/")
		p.m.QueueUser(grace())
		cb := authorize(t, authURL)
		if resp := c.get(cb); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("first use of the code: %d %s", resp.StatusCode, snippet(c.lastBody))
		}
		// A second browser starts its own flow and presents the used code
		// with its own state.
		d := newClient()
		authURL = d.ssoStart("/")
		u, _ := url.Parse(cb)
		q := u.Query()
		q.Set("state", mustQuery(t, authURL, "state"))
		before := lastAuditID(t, h)
		expectRefused(t, d, d.get(u.Path+"?"+q.Encode()), before, http.StatusUnauthorized, models.SSOCodeRejected)
	})
	t.Run("replayed nonce", func(t *testing.T) {
		// An ID token from an earlier sign-in, sent again by the token
		// endpoint for a new flow, carries the old nonce.
		c := newClient()
		if resp := c.ssoSignIn(p, grace(), "/"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("first sign-in: %d", resp.StatusCode)
		}
		old := p.lastIssued()
		p.setReplace(old)
		t.Cleanup(func() { p.setReplace("") })
		d := newClient()
		before := lastAuditID(t, h)
		expectRefused(t, d, d.ssoSignIn(p, grace(), "/"), before, http.StatusUnauthorized, models.SSONonceMismatch)
	})
	t.Run("replayed pre-session and authorization request", func(t *testing.T) {
		// Someone who copied the pre-session cookie and the authorization
		// URL gets a fresh code for the same nonce: the ID token verifies
		// and its nonce matches, but it was already used to sign in.
		c := newClient()
		authURL := c.ssoStart("/")
		pre := c.cookie("warden_sso")
		p.m.QueueUser(grace())
		if resp := c.get(authorize(t, authURL)); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("first sign-in: %d", resp.StatusCode)
		}
		thief := newClient()
		thief.get("/login")
		u, _ := url.Parse(testOrigin)
		thief.jar.SetCookies(u, []*http.Cookie{{Name: pre.Name, Value: pre.Value, Path: "/"}})
		p.m.QueueUser(grace())
		cb := authorize(t, authURL)
		before := lastAuditID(t, h)
		expectRefused(t, thief, thief.get(cb), before, http.StatusUnauthorized, models.SSONonceReplayed)
	})
	t.Run("key rotation", func(t *testing.T) {
		// The provider rotates its key: the next token, signed with the new
		// key under a new kid, verifies (the key set is fetched again); a
		// token signed with the retired key no longer does.
		c := newClient()
		if resp := c.ssoSignIn(p, grace(), "/"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("before the rotation: %d", resp.StatusCode)
		}
		next, err := mockoidc.NewKeypair(newRSAKey(t))
		if err != nil {
			t.Fatal(err)
		}
		p.rotate(next)
		t.Cleanup(func() { p.rotate(nil) })
		c, resp, _ := flowWith(t, grace(), func(t *testing.T, cl map[string]any) string {
			raw, err := next.SignJWT(jwt.MapClaims(cl))
			if err != nil {
				t.Fatal(err)
			}
			return raw
		})
		if resp.StatusCode != http.StatusSeeOther || !hasSession(t, c) {
			t.Fatalf("after the rotation: %d %s", resp.StatusCode, snippet(c.lastBody))
		}
		c, resp, before := flowWith(t, grace(), func(t *testing.T, cl map[string]any) string { return p.signed(t, cl) })
		expectRefused(t, c, resp, before, http.StatusUnauthorized, models.SSOBadSignature)
	})
	t.Run("another issuer", func(t *testing.T) {
		c, resp, before := flowWith(t, grace(), func(t *testing.T, cl map[string]any) string {
			cl["iss"] = "https://evil.example.com"
			return p.signed(t, cl)
		})
		expectRefused(t, c, resp, before, http.StatusUnauthorized, models.SSOIssuerMismatch)
	})
	t.Run("another audience", func(t *testing.T) {
		c, resp, before := flowWith(t, grace(), func(t *testing.T, cl map[string]any) string {
			cl["aud"] = []string{"another-client"}
			return p.signed(t, cl)
		})
		expectRefused(t, c, resp, before, http.StatusUnauthorized, models.SSOAudienceMismatch)
	})
	t.Run("expired ID token", func(t *testing.T) {
		c, resp, before := flowWith(t, grace(), func(t *testing.T, cl map[string]any) string {
			now := h.clock.Now()
			cl["iat"], cl["nbf"], cl["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
			return p.signed(t, cl)
		})
		expectRefused(t, c, resp, before, http.StatusUnauthorized, models.SSOTokenExpired)
	})
	t.Run("alg none", func(t *testing.T) {
		c, resp, before := flowWith(t, grace(), func(t *testing.T, cl map[string]any) string {
			return unsignedJWT(t, map[string]any{"alg": "none", "typ": "JWT"}, cl, nil)
		})
		expectRefused(t, c, resp, before, http.StatusUnauthorized, models.SSOBadSignature)
	})
	t.Run("HS256 with the client secret", func(t *testing.T) {
		kid, _ := p.m.Keypair.KeyID()
		c, resp, before := flowWith(t, grace(), func(t *testing.T, cl map[string]any) string {
			return unsignedJWT(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}, cl, []byte(p.m.ClientSecret))
		})
		expectRefused(t, c, resp, before, http.StatusUnauthorized, models.SSOBadSignature)
	})
	t.Run("signed by another key", func(t *testing.T) {
		other, err := mockoidc.NewServer(newRSAKey(t))
		if err != nil {
			t.Fatal(err)
		}
		c, resp, before := flowWith(t, grace(), func(t *testing.T, cl map[string]any) string {
			raw, err := other.Keypair.SignJWT(jwt.MapClaims(cl))
			if err != nil {
				t.Fatal(err)
			}
			return raw
		})
		expectRefused(t, c, resp, before, http.StatusUnauthorized, models.SSOBadSignature)
	})
	t.Run("unverified email of an admin", func(t *testing.T) {
		c := newClient()
		before := lastAuditID(t, h)
		resp := c.ssoSignIn(p, person("mallory-sub", "ada@example.com", false, adminGroup), "/")
		expectRefused(t, c, resp, before, http.StatusUnauthorized, models.SSOUnverifiedEmail)
		if ada, _ := h.srv.Store().UserByHandle(context.Background(), "ada@example.com"); ada.SSO() {
			t.Error("an unverified email linked the admin's account")
		}
	})
	t.Run("groups claim missing", func(t *testing.T) {
		c := newClient()
		before := lastAuditID(t, h)
		resp := c.ssoSignIn(p, person("nogroups-sub", "nogroups@example.com", true), "/")
		expectRefused(t, c, resp, before, http.StatusUnauthorized, models.SSOGroupsMissing)
	})
	t.Run("groups claim of the wrong type", func(t *testing.T) {
		for _, v := range []any{adminGroup, map[string]any{"0": adminGroup}, []any{1, 2}, true} {
			c, resp, before := flowWith(t, grace(), func(t *testing.T, cl map[string]any) string {
				cl["groups"] = v
				return p.signed(t, cl)
			})
			expectRefused(t, c, resp, before, http.StatusUnauthorized, models.SSOGroupsInvalid)
		}
	})
	t.Run("open redirect through next", func(t *testing.T) {
		for _, next := range []string{"//evil.example.com/", "https://evil.example.com/", `/\evil.example.com`, "/%2F%2Fevil.example.com"} {
			c := newClient()
			resp := c.ssoSignIn(p, grace(), next)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
				t.Errorf("next=%q: %d to %q, want / ", next, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	})
	if strings.Contains(h.logs.String(), p.m.ClientSecret) {
		t.Error("the client secret is in the log")
	}
}

// TestSSOCallbackThrottled: failed callbacks count against the client's
// address with failed password sign-ins; past the limit the callback
// answers 429 without trying the code or writing to the audit log.
func TestSSOCallbackThrottled(t *testing.T) {
	p := startIDP(t)
	h := newSSOHarness(t, p)
	c := h.client()
	for i := 0; i < ipFailureLimit; i++ {
		if resp := c.get("/login/sso/callback?error=access_denied"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, resp.StatusCode)
		}
	}
	before := lastAuditID(t, h)
	resp := c.get("/login/sso/callback?error=access_denied")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("past the limit: %d", resp.StatusCode)
	}
	if got := ssoEventsSince(t, h, before); len(got) != 0 {
		t.Errorf("a throttled callback wrote %v", got)
	}
}

func mustQuery(t *testing.T, rawURL, key string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(key)
}

// TestPasswordLoginOff: --password-login=false hides the form and refuses
// password posts; --allow-break-glass lets the accounts made by `warden
// admin create` in through /login?password=1, and nobody else.
func TestPasswordLoginOff(t *testing.T) {
	p := startIDP(t)
	h := newSSOHarness(t, p, func(c *Config) { c.PasswordLogin = false })
	h.admin("ada@example.com")
	c := h.client()
	c.get("/login")
	if strings.Contains(c.lastBody, `action="/login"`) || strings.Contains(c.lastBody, "Break-glass") {
		t.Error("the login page shows the password form or the break-glass link")
	}
	// The page has no form, but a post with the page's CSRF token (from
	// its meta tag) is refused all the same.
	m := regexp.MustCompile(`name="csrf-token" content="([^"]+)"`).FindStringSubmatch(c.lastBody)
	if m == nil {
		t.Fatal("no CSRF token on the login page")
	}
	before := lastAuditID(t, h)
	resp := c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "_csrf": {m[1]}})
	if resp.StatusCode != http.StatusForbidden || hasSession(t, c) {
		t.Fatalf("password post with password sign-in off: %d", resp.StatusCode)
	}
	if got := ssoEventsSince(t, h, before); len(got) != 1 || got[0] != "auth.login_failed/failed/password_login_off" {
		t.Errorf("events %v", got)
	}

	bg := newSSOHarness(t, p, func(c *Config) { c.PasswordLogin, c.AllowBreakGlass = false, true })
	bg.admin("ada@example.com")
	// Bob: an admin made in the console, with a password of his own.
	store := bg.srv.Store()
	ada, _ := store.UserByHandle(context.Background(), "ada@example.com")
	_, link, err := store.CreateHumanUser(context.Background(), models.AsUser(ada), models.NewHumanUser{Name: "Bob", Email: "bob@example.com", Role: models.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SetPasswordWithLink(context.Background(), models.Actor{Kind: models.ActorAnonymous}, link, testPassword, testPassword); err != nil {
		t.Fatal(err)
	}
	c = bg.client()
	c.get("/login")
	if strings.Contains(c.lastBody, `action="/login"`) || !strings.Contains(c.lastBody, `href="/login?password=1"`) {
		t.Error("break-glass: the form shows, or the link to it is missing")
	}
	c.get("/login?password=1")
	if !strings.Contains(c.lastBody, `action="/login"`) {
		t.Fatal("/login?password=1 has no password form")
	}
	resp = c.post("/login", url.Values{"email": {"bob@example.com"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusUnauthorized || hasSession(t, c) {
		t.Fatalf("a non-break-glass password: %d", resp.StatusCode)
	}
	c.login("ada@example.com", testPassword)
	if !hasSession(t, c) {
		t.Fatal("the break-glass account could not sign in")
	}
	// Linked by her first SSO sign-in, she keeps the password: the Users
	// list says both, as her page does.
	linked := bg.client()
	if resp := linked.ssoSignIn(p, person("ada-sub", "ada@example.com", true, adminGroup), "/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("Ada's SSO sign-in: %d", resp.StatusCode)
	}
	for _, path := range []string{"/users?type=human&q=ada", "/users/" + itoa(ada.ID)} {
		linked.get(path)
		if !strings.Contains(linked.lastBody, `data-sign-in="sso+password"`) {
			t.Errorf("%s does not say Ada signs in with SSO and a password", path)
		}
	}
}

// TestSSOConfigChecked: the configuration is checked at start; an
// unreachable issuer or a bad discovery document is a clear error.
func TestSSOConfigChecked(t *testing.T) {
	p := startIDP(t)
	base := DefaultConfig()
	base.BaseURL = testOrigin
	base.OIDCIssuer, base.OIDCClientID, base.OIDCClientSecret, base.OIDCAdminGroups = p.m.Issuer(), "id", "secret", adminGroup
	if err := base.Validate(); err != nil {
		t.Fatalf("good configuration: %v", err)
	}
	for _, c := range []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.BaseURL = "" }, "--oidc-issuer needs --base-url"},
		{func(c *Config) { c.OIDCClientSecret = "" }, "WARDEN_OIDC_CLIENT_SECRET"},
		{func(c *Config) { c.OIDCAdminGroups = " , " }, "--oidc-admin-groups"},
		{func(c *Config) { c.OIDCScopes = "email profile" }, "must include openid"},
		{func(c *Config) { c.OIDCIssuer = "http://idp.example.com" }, "must be https://"},
		{func(c *Config) { c.OIDCIssuer = "" }, "need --oidc-issuer"},
		{func(c *Config) {
			c.OIDCIssuer, c.OIDCClientID, c.OIDCClientSecret, c.OIDCAdminGroups, c.PasswordLogin = "", "", "", "", false
		}, "--password-login=false needs --oidc-issuer"},
	} {
		cfg := base
		c.mutate(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate: %v, want %q", err, c.want)
		}
	}

	// Discovery at start: nobody listening, and a document naming another issuer.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	wrong := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"issuer":"https://elsewhere.example.com","authorization_endpoint":"x","token_endpoint":"y","jwks_uri":"z"}`))
	}))
	defer wrong.Close()
	notJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>")) }))
	defer notJSON.Close()
	for _, c := range []struct{ issuer, want string }{
		{dead, "discovery at " + dead + "/.well-known/openid-configuration failed"},
		{wrong.URL, `names the issuer "https://elsewhere.example.com"`},
		{notJSON.URL, "discovery at " + notJSON.URL},
	} {
		cfg := base
		cfg.DBPath = t.TempDir() + "/warden.db"
		cfg.OIDCIssuer = c.issuer
		srv, err := NewServer(context.Background(), cfg, discardLogger())
		if err == nil {
			srv.Close()
			t.Errorf("issuer %s: started", c.issuer)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "--oidc-issuer: ") {
			t.Errorf("issuer %s: %v, want %q", c.issuer, err, c.want)
		}
	}
}

// TestSSOClientSecretNeverAFlag: the secret comes from the environment
// only; on the command line it is refused.
func TestSSOClientSecretNeverAFlag(t *testing.T) {
	cfg := DefaultConfig()
	fs := newFlagSet()
	cfg.RegisterFlags(fs)
	var out bytes.Buffer
	fs.SetOutput(&out)
	if err := fs.Parse([]string{"--oidc-client-secret", "hunter2"}); err == nil || !strings.Contains(err.Error(), "WARDEN_OIDC_CLIENT_SECRET") {
		t.Fatalf("secret as a flag: %v", err)
	}
	fs = newFlagSet()
	cfg = DefaultConfig()
	cfg.RegisterFlags(fs)
	_ = fs.Parse(nil)
	env := map[string]string{"WARDEN_OIDC_CLIENT_SECRET": "s3cret", "WARDEN_OIDC_ISSUER": "https://idp.example.com"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	if err := ApplyEnv(fs, lookup); err != nil {
		t.Fatalf("ApplyEnv: %v", err)
	}
	cfg.LoadSecrets(lookup)
	if cfg.OIDCClientSecret != "s3cret" || cfg.OIDCIssuer != "https://idp.example.com" {
		t.Fatalf("from the environment: secret %q issuer %q", cfg.OIDCClientSecret, cfg.OIDCIssuer)
	}
}
