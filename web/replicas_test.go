package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/models/pgtest"
)

// The web tests run on SQLite; with WARDEN_TEST_DB=postgres the harness's
// servers run on PostgreSQL instead. sharedPG is that run's server (and the
// one the replica test uses), started on first use and stopped by TestMain.
var (
	sharedPGOnce sync.Once
	sharedPG     *pgtest.Server
	sharedPGErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedPG != nil {
		sharedPG.Stop()
	}
	os.Exit(code)
}

func testOnPostgres() bool { return os.Getenv("WARDEN_TEST_DB") == "postgres" }

// startPostgres gives the test a fresh database on a real PostgreSQL
// server, or skips it where there is none (CI sets
// WARDEN_REQUIRE_POSTGRES=1, which makes that a failure).
func startPostgres(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	sharedPGOnce.Do(func() { sharedPG, sharedPGErr = pgtest.Start(ctx) })
	if sharedPGErr != nil {
		if errors.Is(sharedPGErr, pgtest.ErrUnavailable) && !pgtest.Required() {
			t.Skip(sharedPGErr)
		}
		t.Fatal(sharedPGErr)
	}
	dbURL, err := sharedPG.NewDatabase(ctx, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sharedPG.DropDatabase(context.Background(), dbURL) })
	return dbURL
}

// replica is one Warden server process's worth of state (its own store,
// pool, caches, throttles and last-use buffer) serving on a real listener.
type replica struct {
	base string
	srv  *Server
	logs *syncBuffer
}

func startReplica(t *testing.T, cfg Config) *replica {
	t.Helper()
	r := &replica{logs: &syncBuffer{}}
	srv, err := NewServer(context.Background(), cfg, slog.New(slog.NewTextHandler(r.logs, nil)))
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	r.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = srv.Close()
		t.Fatal(err)
	}
	r.base = "http://" + ln.Addr().String()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, net.ErrClosed) {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("replica did not shut down within 15 s")
		}
		if t.Failed() {
			t.Logf("log of %s:\n%s", r.base, r.logs.String())
		}
	})
	return r
}

// replicaClient is a browser that talks to whichever replica it is told,
// with one cookie jar, as behind a load balancer.
type replicaClient struct {
	t    *testing.T
	http *http.Client
	csrf string
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (c *replicaClient) do(method string, r *replica, path string, form url.Values, header http.Header) (int, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, r.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", r.base)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s%s: %v", method, r.base, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfInput.FindStringSubmatch(string(b)); m != nil {
		c.csrf = m[1]
	}
	return resp.StatusCode, string(b)
}

func (c *replicaClient) get(r *replica, path string) (int, string) {
	c.t.Helper()
	return c.do(http.MethodGet, r, path, nil, nil)
}

func (c *replicaClient) post(r *replica, path string, form url.Values) (int, string) {
	c.t.Helper()
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", c.csrf)
	}
	return c.do(http.MethodPost, r, path, form, nil)
}

func (c *replicaClient) bearer(r *replica, path, token string) int {
	c.t.Helper()
	status, _ := c.do(http.MethodGet, r, path, nil, http.Header{"Authorization": {"Bearer " + token}})
	return status
}

func newReplicaClient(t *testing.T) *replicaClient {
	jar, _ := cookiejar.New(nil) // cookies belong to the host, not the port: both replicas see them
	return &replicaClient{t: t, http: &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// TestTwoReplicasOnePostgres runs two servers against one PostgreSQL
// database, as behind a load balancer, and shows that what each keeps in
// memory does not make them disagree: a session made on one works on the
// other (and ends on both), a token revoked through one is refused by the
// other on the very next request, failed sign-ins count across both, and
// counts follow writes made through the other.
func TestTwoReplicasOnePostgres(t *testing.T) {
	dbURL := startPostgres(t)
	cfg := DefaultConfig()
	cfg.DatabaseURL = dbURL
	cfg.DBPath = ""
	a := startReplica(t, cfg)
	b := startReplica(t, cfg)
	ctx := context.Background()

	st := a.srv.Store()
	if st.Dialect() != models.Postgres {
		t.Fatalf("store runs on %s", st.Dialect())
	}
	admin, err := st.CreateHumanAdmin(ctx, models.NewHuman{Name: "Ada Admin", Email: "ada@example.com", Password: testPassword, Confirm: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := st.CreateServiceUser(ctx, models.AsUser(admin), models.NewServiceUser{Name: "Airflow", Role: models.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	tok, secret, err := st.GenerateToken(ctx, models.AsUser(admin), svc.ID, models.NewToken{Name: "prod", Expiry: models.Expiry{Days: 30}})
	if err != nil {
		t.Fatal(err)
	}

	// Sessions: sign in on A, carry on on B.
	c := newReplicaClient(t)
	c.get(a, "/login")
	if status, body := c.post(a, "/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}}); status != http.StatusSeeOther {
		t.Fatalf("sign-in on A: %d %s", status, snippet(body))
	}
	if status, body := c.get(b, "/users"); status != http.StatusOK || !strings.Contains(body, "Airflow") {
		t.Fatalf("the session from A on B: %d %s", status, snippet(body))
	}
	// A form served by B, posted to A: the CSRF token is the session's.
	c.get(b, "/teams")
	if status, body := c.post(a, "/teams", url.Values{"name": {"Data"}}); status != http.StatusSeeOther {
		t.Fatalf("create a team on A with B's form: %d %s", status, snippet(body))
	}
	// B's counts follow the write made through A.
	if _, body := c.get(b, "/teams"); !strings.Contains(body, "Data") {
		t.Error("B does not list the team created through A")
	}

	// Tokens: valid on both; revoked through A, refused by B at once.
	for _, r := range []*replica{a, b} {
		if status := c.bearer(r, "/api/v1/me", secret); status != http.StatusOK {
			t.Fatalf("GET /api/v1/me on %s: %d", r.base, status)
		}
	}
	if status, body := c.post(a, "/tokens/"+strconv.FormatInt(tok.ID, 10)+"/revoke", url.Values{}); status != http.StatusSeeOther {
		t.Fatalf("revoke on A: %d %s", status, snippet(body))
	}
	if status := c.bearer(b, "/api/v1/me", secret); status != http.StatusUnauthorized {
		t.Errorf("B answered %d to the token A revoked the request before; want 401", status)
	}

	// Last use: buffered on B, written by B's flush, seen through A.
	if _, err := b.srv.Store().FlushTokenUse(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := st.TokenByID(ctx, tok.ID); err != nil || got.LastUsedAt == nil {
		t.Errorf("A does not see the last use B recorded: %+v, %v", got, err)
	}

	// Sign-in throttle: failures alternate between replicas and still add
	// up to one limit (five per account).
	bad := newReplicaClient(t)
	for i := range accountFailureLimit {
		r := []*replica{a, b}[i%2]
		bad.get(r, "/login")
		if status, _ := bad.post(r, "/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong " + strconv.Itoa(i)}}); status != http.StatusUnauthorized {
			t.Fatalf("failed sign-in %d on %s: %d", i+1, r.base, status)
		}
	}
	for _, r := range []*replica{a, b} {
		bad.get(r, "/login")
		if status, _ := bad.post(r, "/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}}); status != http.StatusTooManyRequests {
			t.Errorf("sign-in on %s after %d failures spread over both replicas: %d, want 429", r.base, accountFailureLimit, status)
		}
	}

	// Signing out on B ends the session on A too.
	if status, _ := c.post(b, "/logout", url.Values{}); status != http.StatusSeeOther {
		t.Fatalf("sign out on B: %d", status)
	}
	if status, _ := c.get(a, "/users"); status != http.StatusSeeOther {
		t.Errorf("A still serves the session signed out on B: %d", status)
	}
}
