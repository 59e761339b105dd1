package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-console/warden/models"
)

const (
	testOrigin   = "http://warden.test"
	testPassword = "violet kettle on a windy ridge"
)

// syncBuffer collects log output from concurrent requests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness is a real server (real SQLite file, real Argon2id, real app) driven
// through app.Test, with an injectable clock and captured logs.
type harness struct {
	t     *testing.T
	srv   *Server
	dbURL string // the PostgreSQL database when the run is on PostgreSQL
	clock *testClock
	logs  *syncBuffer
	dir   string
}

func newHarness(t *testing.T, mutate ...func(*Config)) *harness {
	t.Helper()
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.DBPath = filepath.Join(dir, "warden.db")
	if testOnPostgres() {
		cfg.DatabaseURL = startPostgres(t)
	}
	for _, m := range mutate {
		m(&cfg)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clock := &testClock{t: time.Now().UTC()}
	srv, err := NewServer(context.Background(), cfg, log, models.WithClock(clock.Now))
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return &harness{t: t, srv: srv, dbURL: cfg.DatabaseURL, clock: clock, logs: logs, dir: dir}
}

// admin creates an active human administrator.
func (h *harness) admin(email string) *models.User {
	h.t.Helper()
	u, err := h.srv.Store().CreateHumanAdmin(context.Background(), models.NewHuman{
		Name: "Ada Admin", Email: email, Password: testPassword, Confirm: testPassword,
	})
	if err != nil {
		h.t.Fatalf("create admin: %v", err)
	}
	return u
}

// client is a browser-like client: it keeps cookies, remembers the last
// CSRF token it saw, and sends same-origin Origin/Sec-Fetch-Site headers.
type client struct {
	h        *harness
	jar      *cookiejar.Jar
	csrf     string
	lastBody string
	headers  map[string]string
}

func (h *harness) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{h: h, jar: jar, headers: map[string]string{}}
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (c *client) do(req *http.Request) *http.Response {
	c.h.t.Helper()
	for _, ck := range c.jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	resp, err := c.h.srv.App().Test(req, -1)
	if err != nil {
		c.h.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	c.jar.SetCookies(req.URL, resp.Cookies())
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	c.lastBody = string(body)
	if m := csrfField.FindStringSubmatch(c.lastBody); m != nil {
		c.csrf = m[1]
	}
	return resp
}

func (c *client) get(path string) *http.Response {
	c.h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, testOrigin+path, nil)
	req.Header.Set("Sec-Fetch-Site", "none")
	return c.do(req)
}

// post submits a form as a browser on this origin would, with the last CSRF
// token seen unless form sets _csrf itself.
func (c *client) post(path string, form url.Values) *http.Response {
	c.h.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", c.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, testOrigin+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", testOrigin)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

// login signs in through the form and fails the test unless it succeeds.
func (c *client) login(email, password string) {
	c.h.t.Helper()
	c.get("/login")
	resp := c.post("/login", url.Values{"email": {email}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		c.h.t.Fatalf("login: status %d location %q body %s", resp.StatusCode, resp.Header.Get("Location"), snippet(c.lastBody))
	}
}

func (c *client) cookie(name string) *http.Cookie {
	u, _ := url.Parse(testOrigin)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

func snippet(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}

func expectStatus(t *testing.T, resp *http.Response, want int) {
	t.Helper()
	if resp.StatusCode != want {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: status %d, want %d; body: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, snippet(string(body)))
	}
}

func expectRedirect(t *testing.T, resp *http.Response, location string) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("%s %s: status %d, want a redirect to %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, location)
	}
	if got := resp.Header.Get("Location"); got != location {
		t.Fatalf("%s %s: redirect to %q, want %q", resp.Request.Method, resp.Request.URL.Path, got, location)
	}
}
