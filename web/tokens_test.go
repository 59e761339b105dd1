package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/warden-console/warden/models"
)

var revealed = regexp.MustCompile(`id="token-value"[^>]*>(wdn_[0-9A-Za-z]{38})</textarea>`)

var revealLocation = regexp.MustCompile(`^/tokens/reveal/[A-Za-z0-9_-]{22}$`)

// generate creates a token through the form, follows the redirect to its
// reveal page and returns the secret shown there.
func generate(t *testing.T, c *client, userID int64, form url.Values) string {
	t.Helper()
	if form.Get("expiry") == "" {
		form.Set("expiry", "30")
	}
	c.get(fmt.Sprintf("/users/%d/tokens/new", userID))
	secret, _ := followReveal(t, c, c.post(fmt.Sprintf("/users/%d/tokens", userID), form))
	return secret
}

// followReveal checks that a generating or rotating POST answered 303 to a
// reveal page, opens it, and returns the secret it shows and its path.
func followReveal(t *testing.T, c *client, resp *http.Response) (secret, path string) {
	t.Helper()
	expectStatus(t, resp, http.StatusSeeOther)
	path = resp.Header.Get("Location")
	if !revealLocation.MatchString(path) {
		t.Fatalf("%s %s: redirect to %q; want /tokens/reveal/<id>", resp.Request.Method, resp.Request.URL.Path, path)
	}
	page := c.get(path)
	expectStatus(t, page, http.StatusOK)
	m := revealed.FindStringSubmatch(c.lastBody)
	if m == nil {
		t.Fatalf("no token revealed: %s", snippet(c.lastBody))
	}
	for _, r := range []*http.Response{resp, page} {
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s %s: Cache-Control = %q", r.Request.Method, r.Request.URL.Path, cc)
		}
		for _, ck := range r.Cookies() {
			if strings.Contains(ck.Value, m[1]) {
				t.Error("the token is in a cookie")
			}
		}
		if strings.Contains(fmt.Sprint(r.Header), m[1]) {
			t.Error("the token is in a header")
		}
	}
	return m[1], path
}

func apiGet(t *testing.T, h *harness, path string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, testOrigin+path, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := h.srv.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func TestTokenLifecycleThroughTheConsole(t *testing.T) {
	h, c, _ := signedIn(t)
	svc := createService(t, c, url.Values{"name": {"Airflow"}})
	path := fmt.Sprintf("/users/%d", svc)

	expectStatus(t, c.get(path+"/tokens/new"), http.StatusOK)
	if !strings.Contains(c.lastBody, `value="90" checked`) || strings.Contains(c.lastBody, `value="never"`) {
		t.Error("the form does not follow the default policy (90 days, no Never)")
	}
	secret := generate(t, c, svc, url.Values{"name": {"airflow-prod"}, "description": {"prod DAGs"}})
	if !strings.Contains(c.lastBody, `data-filename="airflow-prod-token.txt"`) || !strings.Contains(c.lastBody, "only time it is shown") {
		t.Error("reveal lacks the download name or the warning")
	}

	// Later pages show the hint, never the secret.
	expectStatus(t, c.get(path), http.StatusOK)
	if strings.Contains(c.lastBody, secret) {
		t.Fatal("the user page shows the secret")
	}
	if !strings.Contains(c.lastBody, models.TokenHint(secret)) || !strings.Contains(c.lastBody, "Never used") {
		t.Error("the token row lacks its hint or Never used")
	}

	// Errors keep the input.
	expectStatus(t, c.post(path+"/tokens", url.Values{"name": {"AIRFLOW-PROD"}, "expiry": {"30"}, "description": {"again"}}), http.StatusUnprocessableEntity)
	if !strings.Contains(c.lastBody, "already has a token named") || !strings.Contains(c.lastBody, ">again</textarea>") {
		t.Error("duplicate token name not explained with input kept")
	}
	expectStatus(t, c.post(path+"/tokens", url.Values{"name": {"x"}, "expiry": {"never"}}), http.StatusUnprocessableEntity)
	expectStatus(t, c.post(path+"/tokens", url.Values{"name": {"x"}, "expiry": {"custom"}, "custom_date": {"31/12/2030"}}), http.StatusUnprocessableEntity)
	expectStatus(t, c.post(path+"/tokens", url.Values{"name": {"x"}, "expiry": {"400"}}), http.StatusUnprocessableEntity)

	// The token works on the API, and its use shows up as last used.
	resp, _ := apiGet(t, h, "/api/v1/me", bearer(secret))
	expectStatus(t, resp, http.StatusOK)
	c.get(path)
	if strings.Contains(c.lastBody, "Never used") {
		t.Error("last use not shown after an API call")
	}

	// Revoke takes effect on the very next request.
	tokens, _ := h.srv.Store().TokensOf(context.Background(), svc)
	tp := fmt.Sprintf("/tokens/%d", tokens[0].ID)
	expectStatus(t, c.get(tp+"/delete"), http.StatusSeeOther) // active: no delete page
	c.get(path)
	expectRedirect(t, c.post(tp+"/revoke", nil), path)
	resp, _ = apiGet(t, h, "/api/v1/me", bearer(secret))
	expectStatus(t, resp, http.StatusUnauthorized)
	c.get(path)
	if !strings.Contains(c.lastBody, "Token “airflow-prod” revoked.") || !strings.Contains(c.lastBody, "Revoked") {
		t.Error("no flash or state after revoke")
	}
	expectRedirect(t, c.post(tp+"/restore", nil), path)
	resp, _ = apiGet(t, h, "/api/v1/me", bearer(secret))
	expectStatus(t, resp, http.StatusOK)
	c.get(path)
	c.post(tp+"/revoke", nil)
	expectStatus(t, c.get(tp+"/delete"), http.StatusOK)
	expectRedirect(t, c.post(tp+"/delete", nil), path)
	c.get(path)
	if !strings.Contains(c.lastBody, "deleted") || strings.Contains(c.lastBody, models.TokenHint(secret)) {
		t.Error("token not gone after delete")
	}
	expectStatus(t, c.post(tp+"/revoke", nil), http.StatusNotFound)
}

func TestCreateAndGenerateToken(t *testing.T) {
	_, c, _ := signedIn(t)
	c.get("/users/new?kind=service")
	resp := c.post("/users", url.Values{"kind": {"service"}, "role": {"member"}, "name": {"Two step"}, "then": {"token"}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !regexp.MustCompile(`^/users/\d+/tokens/new$`).MatchString(loc) {
		t.Fatalf("create and generate: %d %q", resp.StatusCode, loc)
	}
	expectStatus(t, c.get(loc), http.StatusOK)
	if !strings.Contains(c.lastBody, "Generate a token") || !strings.Contains(c.lastBody, "two_step@service") {
		t.Error("second step is not the token form")
	}
}

func TestDeactivationGuardInTheConsole(t *testing.T) {
	h, c, _ := signedIn(t)
	svc := createService(t, c, url.Values{"name": {"Guarded"}})
	s1 := generate(t, c, svc, url.Values{"name": {"one"}})
	generate(t, c, svc, url.Values{"name": {"two"}})
	path := fmt.Sprintf("/users/%d", svc)

	expectStatus(t, c.get(path+"/deactivate"), http.StatusOK)
	if !strings.Contains(c.lastBody, "Guarded has 2 active tokens") || !strings.Contains(c.lastBody, "Revoke all 2 tokens") {
		t.Error("the deactivate page does not explain the blocking tokens")
	}
	expectStatus(t, c.post(path+"/deactivate", url.Values{"confirm": {"deactivate"}}), http.StatusConflict)
	if !strings.Contains(c.lastBody, "has 2 active tokens") {
		t.Error("the refusal does not name the count")
	}
	expectRedirect(t, c.post(path+"/tokens/revoke-all", nil), path+"/deactivate")
	c.get(path + "/deactivate")
	if strings.Contains(c.lastBody, "Revoke all") {
		t.Error("still offers to revoke after revoking all")
	}
	expectRedirect(t, c.post(path+"/deactivate", url.Values{"confirm": {"deactivate"}}), path)
	resp, _ := apiGet(t, h, "/api/v1/me", bearer(s1))
	expectStatus(t, resp, http.StatusUnauthorized)
	// No tokens for a deactivated user.
	expectRedirect(t, c.get(path+"/tokens/new"), path)
	c.get(path)
	expectRedirect(t, c.post(path+"/tokens", url.Values{"name": {"late"}, "expiry": {"30"}}), path)
}

func TestBearerAuthentication(t *testing.T) {
	h, c, admin := signedIn(t)
	svc := createService(t, c, url.Values{"name": {"Caller"}, "description": {"calls"}})
	secret := generate(t, c, svc, url.Values{"name": {"caller"}})

	resp, body := apiGet(t, h, "/api/v1/me", bearer(secret))
	expectStatus(t, resp, http.StatusOK)
	var me map[string]any
	if err := json.Unmarshal([]byte(body), &me); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "user_id", "name", "email", "type", "role", "status", "teams", "description", "owner", "last_active_at", "created_at", "created_by", "active_token_count"} {
		if _, ok := me[k]; !ok {
			t.Errorf("/me lacks %q", k)
		}
	}
	if me["user_id"] != "caller@service" || me["type"] != "service" || me["role"] != "member" || me["active_token_count"] != float64(1) || me["email"] != nil {
		t.Errorf("/me = %v", me)
	}
	if cb, _ := me["created_by"].(map[string]any); cb["name"] != "Ada Admin" {
		t.Errorf("created_by = %v", me["created_by"])
	}
	if ts, _ := time.Parse(time.RFC3339, me["created_at"].(string)); ts.IsZero() || !strings.HasSuffix(me["created_at"].(string), "Z") {
		t.Errorf("created_at %v is not RFC 3339 UTC", me["created_at"])
	}
	lower := map[string]string{"Authorization": "bearer " + secret}
	if resp, _ := apiGet(t, h, "/api/v1/me", lower); resp.StatusCode != http.StatusOK {
		t.Error("the scheme name is case-insensitive")
	}

	// Role changes apply to the next request.
	if _, err := h.srv.Store().UpdateUser(context.Background(), models.AsUser(admin), svc, models.UserUpdate{Role: models.RoleManager}); err != nil {
		t.Fatal(err)
	}
	_, body = apiGet(t, h, "/api/v1/me", bearer(secret))
	if !strings.Contains(body, `"role":"manager"`) {
		t.Errorf("role change not seen: %s", body)
	}

	typo := []byte(secret)
	typo[8] ^= 1
	forged, _ := models.NewTokenSecret()
	sessionCookie := "warden_session=" + c.cookie("warden_session").Value
	failures := map[string]func() (*http.Response, string){
		"no header": func() (*http.Response, string) { return apiGet(t, h, "/api/v1/me", nil) },
		"query string": func() (*http.Response, string) {
			return apiGet(t, h, "/api/v1/me?access_token="+secret+"&token="+secret, nil)
		},
		"cookie session": func() (*http.Response, string) {
			return apiGet(t, h, "/api/v1/me", map[string]string{"Cookie": sessionCookie})
		},
		"token as cookie": func() (*http.Response, string) {
			return apiGet(t, h, "/api/v1/me", map[string]string{"Cookie": "token=" + secret})
		},
		"basic scheme": func() (*http.Response, string) {
			return apiGet(t, h, "/api/v1/me", map[string]string{"Authorization": "Basic " + secret})
		},
		"bare token": func() (*http.Response, string) {
			return apiGet(t, h, "/api/v1/me", map[string]string{"Authorization": secret})
		},
		"bad checksum":           func() (*http.Response, string) { return apiGet(t, h, "/api/v1/me", bearer(string(typo))) },
		"unknown token":          func() (*http.Response, string) { return apiGet(t, h, "/api/v1/me", bearer(forged)) },
		"empty bearer":           func() (*http.Response, string) { return apiGet(t, h, "/api/v1/me", bearer("")) },
		"unknown path, no token": func() (*http.Response, string) { return apiGet(t, h, "/api/v1/nothing", nil) },
	}
	var first string
	for name, call := range failures {
		resp, body := call()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, resp.StatusCode)
			continue
		}
		if resp.Header.Get("Content-Type") != "application/problem+json" || resp.Header.Get("WWW-Authenticate") != `Bearer realm="warden"` {
			t.Errorf("%s: headers %v", name, resp.Header)
		}
		norm := regexp.MustCompile(`"request_id":"[^"]*"`).ReplaceAllString(body, "")
		if first == "" {
			first = norm
		} else if norm != first {
			t.Errorf("%s: 401 body differs:\n%s\n%s", name, norm, first)
		}
	}
	// Revoked, expired-by-policy and deactivated users give the same 401.
	if _, err := h.srv.Store().RevokeAllTokens(context.Background(), models.AsUser(admin), svc); err != nil {
		t.Fatal(err)
	}
	resp, body = apiGet(t, h, "/api/v1/me", bearer(secret))
	if resp.StatusCode != http.StatusUnauthorized || regexp.MustCompile(`"request_id":"[^"]*"`).ReplaceAllString(body, "") != first {
		t.Errorf("revoked token: %d %s", resp.StatusCode, body)
	}

	// A token never opens the console.
	fresh := generate(t, c, createService(t, c, url.Values{"name": {"Other"}}), url.Values{"name": {"o"}})
	req, _ := http.NewRequest(http.MethodGet, testOrigin+"/users", nil)
	req.Header.Set("Authorization", "Bearer "+fresh)
	r, _ := h.srv.App().Test(req, -1)
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Errorf("a bearer token opened the console: %d", r.StatusCode)
	}
	// Known API path, valid token, unknown route: 404 problem.
	resp, body = apiGet(t, h, "/api/v1/nothing", bearer(fresh))
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "not-found") {
		t.Errorf("unknown API route: %d %s", resp.StatusCode, body)
	}
}

func TestDeactivatedUserTokenFails(t *testing.T) {
	h, c, admin := signedIn(t)
	svc := createService(t, c, url.Values{"name": {"Gone soon"}})
	secret := generate(t, c, svc, url.Values{"name": {"g"}})
	// Deactivate behind the guard's back, as a crash between revoke and
	// deactivate could leave it: the account check still refuses the token.
	mustExec(t, h, `UPDATE users SET status = 'deactivated' WHERE id = ?`, svc)
	resp, _ := apiGet(t, h, "/api/v1/me", bearer(secret))
	expectStatus(t, resp, http.StatusUnauthorized)
	_ = admin
}

func TestSettingsPolicy(t *testing.T) {
	h, c, _ := signedIn(t)
	expectStatus(t, c.get("/settings"), http.StatusOK)
	if !strings.Contains(c.lastBody, "30 minutes") || !strings.Contains(c.lastBody, "12 hours") {
		t.Error("session timeouts not shown")
	}
	expectStatus(t, c.post("/settings", url.Values{"default_days": {"abc"}, "max_days": {"365"}}), http.StatusUnprocessableEntity)
	expectStatus(t, c.post("/settings", url.Values{"default_days": {"400"}, "max_days": {"365"}}), http.StatusUnprocessableEntity)
	if !strings.Contains(c.lastBody, `value="400"`) {
		t.Error("the typed value was lost")
	}
	expectRedirect(t, c.post("/settings", url.Values{"default_days": {"0"}, "max_days": {""}, "allow_never": {"true"}}), "/settings")
	p, _ := h.srv.Store().TokenPolicy(context.Background())
	if !p.AllowNever || p.MaxDays != 0 || p.DefaultDays != 0 {
		t.Fatalf("policy = %+v", p)
	}
	svc := createService(t, c, url.Values{"name": {"Eternal"}})
	c.get(fmt.Sprintf("/users/%d/tokens/new", svc))
	if !strings.Contains(c.lastBody, `value="never" checked`) {
		t.Error("Never is not offered and preselected")
	}
	secret := generate(t, c, svc, url.Values{"name": {"forever"}, "expiry": {"never"}})
	if !strings.Contains(c.lastBody, "Never expires.") || secret == "" {
		t.Error("a Never token was not generated")
	}
}

// TestNoSecretAtRest runs a scenario with known secrets (passwords, a
// set-password link, tokens) and greps the database file, its WAL and the
// logs for each of them.
func TestNoSecretAtRest(t *testing.T) {
	h, c, _ := signedIn(t)
	svc := createService(t, c, url.Values{"name": {"Leaky"}})
	var secrets []string
	for _, n := range []string{"a", "b", "c"} {
		secrets = append(secrets, generate(t, c, svc, url.Values{"name": {n}}))
	}
	resp, _ := apiGet(t, h, "/api/v1/me", bearer(secrets[0]))
	expectStatus(t, resp, http.StatusOK)
	c.post("/users", url.Values{"kind": {"human"}, "name": {"Pat"}, "email": {"pat@example.com"}, "role": {"admin"}})
	link := regexp.MustCompile(`/set-password/([A-Za-z0-9_-]+)`).FindStringSubmatch(c.lastBody)[1]
	pat := h.client()
	pat.get("/set-password/" + link)
	patPassword := "pat picks a long passphrase"
	pat.post("/set-password/"+link, url.Values{"password": {patPassword}, "confirm": {patPassword}})
	pat.login("pat@example.com", patPassword)
	session := pat.cookie("warden_session").Value
	if _, err := h.srv.Store().FlushTokenUse(context.Background()); err != nil {
		t.Fatal(err)
	}

	// (A session's CSRF token is kept in the sessions table by design: it is
	// worthless without the session cookie, whose token is stored hashed.)
	secrets = append(secrets, link, patPassword, testPassword, session)
	var haystack strings.Builder
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(filepath.Join(h.dir, "warden.db") + suffix)
		if err == nil {
			haystack.Write(b)
		}
	}
	haystack.WriteString(h.logs.String())
	for _, s := range secrets {
		if strings.Contains(haystack.String(), s) {
			t.Errorf("secret %q… found in the database files or logs", s[:min(8, len(s))])
		}
	}
}

func TestRotateFromTheConsole(t *testing.T) {
	h, c, _ := signedIn(t)
	svc := createService(t, c, url.Values{"name": {"Rotator"}})
	old := generate(t, c, svc, url.Values{"name": {"deploy"}})
	tokens, _ := h.srv.Store().TokensOf(context.Background(), svc)
	path := fmt.Sprintf("/tokens/%d/rotate", tokens[0].ID)
	c.get(fmt.Sprintf("/users/%d", svc))
	if !strings.Contains(c.lastBody, `action="`+path+`"`) {
		t.Fatal("the token row offers no Rotate")
	}
	fresh, _ := followReveal(t, c, c.post(path, url.Values{"overlap": {"1h"}}))
	if fresh == old || !strings.Contains(c.lastBody, "deploy-r2") || !strings.Contains(c.lastBody, "It replaces “deploy”") {
		t.Fatalf("rotation reveal: %s", snippet(c.lastBody))
	}
	for _, s := range []string{old, fresh} {
		if r, _ := apiGet(t, h, "/api/v1/me", bearer(s)); r.StatusCode != http.StatusOK {
			t.Errorf("a token stopped working within the overlap: %d", r.StatusCode)
		}
	}
	h.clock.Advance(61 * time.Minute)
	if r, _ := apiGet(t, h, "/api/v1/me", bearer(old)); r.StatusCode != http.StatusUnauthorized {
		t.Error("the old token still works after the overlap")
	}
	if r, _ := apiGet(t, h, "/api/v1/me", bearer(fresh)); r.StatusCode != http.StatusOK {
		t.Error("the new token does not work")
	}
}
