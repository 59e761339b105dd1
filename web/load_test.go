package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warden-console/warden/models"
)

// TestLoadMixedTraffic drives a real server over 127.0.0.1 with 32
// concurrent clients mixing console pages, API reads and API writes (some
// of which the rules refuse), for a bounded time: 3 s by default, longer with
// WARDEN_LOAD_SECONDS (make bench). Afterwards: no 5xx, no "database is
// locked", and the invariants hold.
func TestLoadMixedTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short")
	}
	duration := 3 * time.Second
	if s := os.Getenv("WARDEN_LOAD_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > 600 {
			t.Fatalf("WARDEN_LOAD_SECONDS=%q: want 1..600", s)
		}
		duration = time.Duration(n) * time.Second
	}
	h := newHarness(t, func(c *Config) { c.APIRateLimit, c.APIAuthFailures = 0, 0 })
	ctx := context.Background()
	st := h.srv.Store()
	ada := h.admin("ada@example.com")
	h.admin("bob@example.com")
	var adminTokens []string
	for i := 0; i < 4; i++ {
		u, err := st.CreateServiceUser(ctx, models.AsUser(ada), models.NewServiceUser{Name: fmt.Sprintf("loader %d", i), Role: models.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		_, secret, err := st.GenerateToken(ctx, models.AsUser(ada), u.ID, models.NewToken{Name: "load", Expiry: models.Expiry{Days: 30}})
		if err != nil {
			t.Fatal(err)
		}
		adminTokens = append(adminTokens, secret)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- h.srv.Serve(sctx, ln) }()
	defer func() { stop(); <-served }()

	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	defer transport.CloseIdleConnections()
	// Two signed-in browsers (one per human admin) share the console work.
	type console struct {
		client *http.Client
		csrf   string
	}
	signIn := func(email string) console {
		jar, _ := cookiejar.New(nil)
		cl := &http.Client{Jar: jar, Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := cl.Get(base + "/login")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tok := csrfField.FindSubmatch(b)[1]
		form := url.Values{"_csrf": {string(tok)}, "email": {email}, "password": {testPassword}}
		req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		if resp, err = cl.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in %s: %v %v", email, err, resp)
		}
		resp.Body.Close()
		resp, _ = cl.Get(base + "/users")
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		return console{client: cl, csrf: string(csrfField.FindSubmatch(b)[1])}
	}
	consoles := []console{signIn("ada@example.com"), signIn("bob@example.com")}
	api := &http.Client{Transport: transport}

	var requests, failures atomic.Int64
	var mu sync.Mutex
	statuses := map[int]int{}
	var serverErrors []string
	note := func(what string, status int, body string) {
		requests.Add(1)
		mu.Lock()
		statuses[status]++
		if status >= 500 {
			serverErrors = append(serverErrors, fmt.Sprintf("%s: %d %s", what, status, snippet(body)))
		}
		mu.Unlock()
	}
	apiCall := func(method, path, token, body string) (int, string) {
		req, _ := http.NewRequest(method, base+"/api/v1"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := api.Do(req)
		if err != nil {
			failures.Add(1)
			return 0, err.Error()
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		note(method+" "+path, resp.StatusCode, string(b))
		return resp.StatusCode, string(b)
	}
	idOf := regexp.MustCompile(`^\{"id":(\d+)`)

	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			token := adminTokens[w%len(adminTokens)]
			con := consoles[w%len(consoles)]
			var mine []int64 // service users this worker created
			for n := 0; time.Now().Before(deadline); n++ {
				switch r := rng.IntN(100); {
				case r < 20: // console pages
					path := []string{"/users", "/users?sort=last_active&dir=desc", "/audit", "/teams", "/users?q=loader"}[rng.IntN(5)]
					resp, err := con.client.Get(base + path)
					if err != nil {
						failures.Add(1)
						continue
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					note("GET "+path, resp.StatusCode, string(b))
				case r < 45: // API reads
					path := []string{"/me", "/users?per_page=50", "/audit?limit=50", "/teams"}[rng.IntN(4)]
					apiCall("GET", path, token, "")
				case r < 65: // create a service user with a token
					status, body := apiCall("POST", "/users", token, fmt.Sprintf(`{"name":"w%d n%d"}`, w, n))
					if m := idOf.FindStringSubmatch(body); status == http.StatusCreated && m != nil {
						id, _ := strconv.ParseInt(m[1], 10, 64)
						mine = append(mine, id)
						apiCall("POST", fmt.Sprintf("/users/%d/tokens", id), token, `{"name":"t","expires_in_days":30}`)
					}
				case r < 80 && len(mine) > 0: // try to deactivate: refused while tokens are active
					id := mine[rng.IntN(len(mine))]
					if status, _ := apiCall("POST", fmt.Sprintf("/users/%d/deactivate", id), token, ""); status == http.StatusBadRequest {
						_, body := apiCall("GET", fmt.Sprintf("/users/%d/tokens", id), token, "")
						var list struct{ Items []struct{ ID int64 } }
						_ = json.Unmarshal([]byte(body), &list)
						for _, tk := range list.Items {
							apiCall("POST", fmt.Sprintf("/tokens/%d/revoke", tk.ID), token, "")
						}
					}
				case r < 90 && len(mine) > 0: // and generate new tokens concurrently
					id := mine[rng.IntN(len(mine))]
					apiCall("POST", fmt.Sprintf("/users/%d/tokens", id), token, fmt.Sprintf(`{"name":"t%d","expires_in_days":30}`, n))
				default: // console write: admins demote each other (the last-admin rule)
					other := map[int]int64{0: 2, 1: 1}[w%2] // bob is user 2, ada user 1
					role := []string{"member", "admin"}[rng.IntN(2)]
					form := url.Values{"_csrf": {con.csrf}, "role": {role}}
					req, _ := http.NewRequest("POST", fmt.Sprintf("%s/users/%d/edit", base, other), strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("Origin", base)
					resp, err := con.client.Do(req)
					if err != nil {
						failures.Add(1)
						continue
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					note("POST /users/edit", resp.StatusCode, string(b))
				}
			}
		}(w)
	}
	wg.Wait()
	t.Logf("%d requests in %v (%.0f/s) by 32 clients; statuses %v", requests.Load(), duration,
		float64(requests.Load())/duration.Seconds(), statuses)

	if len(serverErrors) > 0 {
		t.Errorf("%d server errors, first: %s", len(serverErrors), serverErrors[0])
	}
	if failures.Load() > 0 {
		t.Errorf("%d requests failed at the transport level", failures.Load())
	}
	if strings.Contains(h.logs.String(), "database is locked") {
		var lines []string
		for _, l := range strings.Split(h.logs.String(), "\n") {
			if strings.Contains(l, "database is locked") && len(lines) < 5 {
				lines = append(lines, l)
			}
		}
		t.Errorf(`"database is locked" in the server log:\n%s`, strings.Join(lines, "\n"))
	}
	// The invariants hold afterwards.
	var admins int64
	for _, email := range []string{"ada@example.com", "bob@example.com"} {
		u, _ := st.UserByHandle(ctx, email)
		if u.IsConsoleAdmin() {
			admins++
		}
	}
	if admins == 0 {
		t.Error("no active human administrator left")
	}
	page, err := st.ListUsers(ctx, models.UserQuery{Status: "deactivated", Sort: models.SortName, Page: 1, PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range page.Rows {
		if n, _ := st.ActiveTokenCount(ctx, u.ID); n > 0 {
			t.Errorf("deactivated %s holds %d active tokens", u.Handle(), n)
		}
	}
	if res, err := st.VerifyAudit(ctx); err != nil || !res.OK() {
		t.Errorf("audit chain after load: %+v, %v", res, err)
	}
	if st.Dialect() == models.SQLite {
		if v, err := st.Pragma(ctx, "integrity_check"); err != nil || v != "ok" {
			t.Errorf("integrity_check = %q, %v", v, err)
		}
	}
}
