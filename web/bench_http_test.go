package web

// make bench: the real server binary on a large seeded database, driven over
// 127.0.0.1 by a bounded load generator (16 clients, fixed duration per
// scenario), with requests/s, p50, p99 and the server's peak RSS printed as
// a table. Skipped unless WARDEN_BENCH=1, so `make test` never runs it.
//
//	WARDEN_BENCH=1 go test ./web -run '^TestBenchHTTP$' -count=1 -v -timeout 20m
//
// Sizes: WARDEN_BENCH_USERS (100000), WARDEN_BENCH_TOKENS (200000),
// WARDEN_BENCH_EVENTS (1000000); WARDEN_BENCH_SECONDS (5) per scenario.
// WARDEN_BENCH_KEEP=1 keeps the seeded database (its path is logged) for
// EXPLAIN QUERY PLAN and friends; WARDEN_BENCH_ONLY=text[,text…] runs only
// the scenarios whose names contain one of the texts (to attach a profiler
// to the server, whose pid is logged). WARDEN_BENCH_AGAINST=path runs each
// scenario against that server binary too, three turns each on the same
// database, for a device's before and after in one run:
//
//	git stash && go build -o /tmp/warden-before . && git stash pop
//	WARDEN_BENCH=1 WARDEN_BENCH_AGAINST=/tmp/warden-before WARDEN_BENCH_ONLY=search go test ./web -run '^TestBenchHTTP$' -v
//
// WARDEN_BENCH_AGAINST_SQL=statements runs the other binary on a copy of
// the database with the statements run on it, for a schema device (an
// index, say): WARDEN_BENCH_AGAINST_SQL='DROP INDEX users_list' with this
// very binary as the other.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // database/sql driver "sqlite3" for bulk seeding

	"github.com/valyala/fasthttp"

	"github.com/warden-console/warden/models"
)

const (
	benchClients      = 16
	benchTeams        = 50     // including the built-in Public team (id 1)
	benchRowsPerStmt  = 500    // rows per multi-row INSERT (18 columns × 500 < 32766 variables)
	benchRowsPerTx    = 50_000 // rows per seeding transaction
	benchAdminEmail   = "bench-admin@example.com"
	benchIntrospected = 2000 // seeded secrets kept for POST /introspect
	benchTokenOwners  = 5000 // active service users the token-creation scenario rotates over
)

func benchEnvInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// TestBenchHTTP is `make bench`.
func TestBenchHTTP(t *testing.T) {
	if os.Getenv("WARDEN_BENCH") != "1" {
		t.Skip("benchmark: set WARDEN_BENCH=1 (make bench)")
	}
	nUsers := benchEnvInt(t, "WARDEN_BENCH_USERS", 100_000)
	nTokens := benchEnvInt(t, "WARDEN_BENCH_TOKENS", 200_000)
	nEvents := benchEnvInt(t, "WARDEN_BENCH_EVENTS", 1_000_000)
	duration := time.Duration(benchEnvInt(t, "WARDEN_BENCH_SECONDS", 5)) * time.Second
	ctx := context.Background()

	dir := t.TempDir()
	if os.Getenv("WARDEN_BENCH_KEEP") == "1" {
		d, err := os.MkdirTemp("", "warden-bench-")
		if err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	dbPath := filepath.Join(dir, "bench.db")

	// The binary first: RSS is only measurable in a process of its own.
	start := time.Now()
	bin := filepath.Join(dir, "warden")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built %s in %v", bin, time.Since(start).Round(time.Millisecond))

	// The schema comes from the real code: NewServer runs the migrations.
	cfg := DefaultConfig()
	cfg.DBPath = dbPath
	srv, err := NewServer(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	data := benchSeed(t, dbPath, nUsers, nTokens, nEvents)

	st, err := models.OpenSQLite(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	benchFinishSeed(t, st, data)
	// Credentials, as `warden admin create` and the console would make them.
	admin, err := st.CreateHumanAdmin(ctx, models.NewHuman{Name: "Bench Admin", Email: benchAdminEmail, Password: testPassword, Confirm: testPassword})
	if err != nil {
		t.Fatalf("create admin: %v", err)
	}
	loader, err := st.CreateServiceUser(ctx, models.AsUser(admin), models.NewServiceUser{Name: "Bench loader", Role: models.RoleAdmin})
	if err != nil {
		t.Fatalf("create service user: %v", err)
	}
	_, apiToken, err := st.GenerateToken(ctx, models.AsUser(admin), loader.ID, models.NewToken{Name: "bench", Expiry: models.Expiry{Days: 30}})
	if err != nil {
		t.Fatalf("generate token: %v", err)
	}
	// Issue 19's token path: scopes and an allowlist of 32 ranges, the
	// load generator's address in the last one.
	pinnedRanges := make([]string, 31, 32)
	for i := range pinnedRanges {
		pinnedRanges[i] = fmt.Sprintf("10.%d.0.0/16", i)
	}
	_, pinnedToken, err := st.GenerateToken(ctx, models.AsUser(admin), loader.ID, models.NewToken{Name: "bench pinned", Expiry: models.Expiry{Days: 30},
		Scopes: []string{"users:read", "tokens:read", "introspect", "deploy.run"}, AllowedCIDRs: append(pinnedRanges, "127.0.0.0/8")})
	if err != nil {
		t.Fatalf("generate pinned token: %v", err)
	}
	// The cursor a user following "Older" holds 10,000 events down (or as
	// deep as a small log allows while still filling a page).
	var deepBefore int64
	if err := st.SQLDB().QueryRowContext(ctx, `SELECT id FROM audit_events ORDER BY id DESC LIMIT 1
		OFFSET MIN(10000, MAX((SELECT COUNT(*) FROM audit_events) - 51, 0))`).Scan(&deepBefore); err != nil {
		t.Fatalf("deep audit cursor: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("WARDEN_BENCH_KEEP") == "1" {
		t.Logf("database kept at %s", dbPath)
	}

	// WARDEN_BENCH_AGAINST_SQL: the other build runs on a copy of the
	// database with this SQL run on it (undoing a schema change, say).
	otherDB := dbPath
	if q := os.Getenv("WARDEN_BENCH_AGAINST_SQL"); q != "" {
		otherDB = benchCopyDB(t, dbPath, q)
	}
	addr, pid := benchServe(t, bin, dbPath)
	base := "http://" + addr
	transport := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	defer transport.CloseIdleConnections()
	client := &http.Client{
		Transport:     transport,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	cookie := benchSignIn(t, client, base)
	if otherDB != dbPath { // the copy predates the sign-in
		benchCopySessions(t, dbPath, otherDB)
	}

	page := func(path string) (*http.Request, error) {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err == nil {
			req.Header.Set("Cookie", cookie)
		}
		return req, err
	}
	api := func(method, path, body string) (*http.Request, error) {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, base+"/api/v1"+path, rd)
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+apiToken)
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
		}
		return req, err
	}
	searches := []string{"deploy", "billing bot", "sync_worker", "hopper", "ingest pipeline 4"}
	scenarios := []benchScenario{
		// No work at all: the ceiling of this machine, server and
		// generator together, against which to read the others.
		{"GET /healthz", func(w, n int) (*http.Request, error) { return http.NewRequest(http.MethodGet, base+"/healthz", nil) }, ``, 1},
		{"users: default", func(w, n int) (*http.Request, error) { return page("/users") }, `href="/users/`, 1},
		{"users: sort last active", func(w, n int) (*http.Request, error) { return page("/users?sort=last_active&dir=desc") }, `href="/users/`, 1},
		{"users: team filter", func(w, n int) (*http.Request, error) {
			return page(fmt.Sprintf("/users?team=%d", data.teams[(w*7+n)%len(data.teams)]))
		}, `href="/users/`, len(data.teams)},
		{"users: search", func(w, n int) (*http.Request, error) {
			return page("/users?q=" + url.QueryEscape(searches[(w+n)%len(searches)]))
		}, `href="/users/`, len(searches)},
		{"audit: first page", func(w, n int) (*http.Request, error) { return page("/audit") }, `href="/audit/`, 1},
		{"audit: filtered (action)", func(w, n int) (*http.Request, error) { return page("/audit?action=token.create") }, `href="/audit/`, 1},
		{"audit: 10,000 deep", func(w, n int) (*http.Request, error) { return page(fmt.Sprintf("/audit?before=%d", deepBefore)) }, `href="/audit/`, 1},
		{"tokens: default", func(w, n int) (*http.Request, error) { return page("/tokens") }, `href="/audit?target_kind=token`, 1},
		{"tokens: by state", func(w, n int) (*http.Request, error) {
			return page("/tokens?state=" + []string{"revoked", "expired", "replaced"}[(w+n)%3])
		}, `href="/audit?target_kind=token`, 3},
		{"tokens: by expiry", func(w, n int) (*http.Request, error) {
			return page("/tokens?expires_within=" + []string{"7", "30", "90"}[(w+n)%3])
		}, `href="/audit?target_kind=token`, 3},
		{"tokens: by health", func(w, n int) (*http.Request, error) {
			return page("/tokens?health=" + []string{"never_used", "idle", "no_expiry"}[(w+n)%3])
		}, `href="/audit?target_kind=token`, 3},
		{"tokens: by owner", func(w, n int) (*http.Request, error) {
			if (w+n)%2 == 0 {
				return page("/tokens?role=" + []string{"admin", "manager", "member"}[(w+n)/2%3])
			}
			return page(fmt.Sprintf("/tokens?team=%d", data.teams[(w*7+n)%len(data.teams)]))
		}, `href="/audit?target_kind=token`, 6 * len(data.teams)},
		{"tokens: search", func(w, n int) (*http.Request, error) {
			return page("/tokens?q=" + url.QueryEscape(searches[(w+n)%len(searches)]))
		}, `href="/audit?target_kind=token`, len(searches)},
		{"GET /api/v1/tokens", func(w, n int) (*http.Request, error) {
			return api(http.MethodGet, "/tokens?"+[]string{"", "expires_within=30", "health=never_used", "state=revoked"}[(w+n)%4], "")
		}, `"next_cursor"`, 4},
		{"GET /api/v1/me", func(w, n int) (*http.Request, error) { return api(http.MethodGet, "/me", "") }, `"bench_loader@service"`, 1},
		{"GET /api/v1/me (scopes, 32 ranges)", func(w, n int) (*http.Request, error) {
			req, err := api(http.MethodGet, "/me", "")
			if err == nil {
				req.Header.Set("Authorization", "Bearer "+pinnedToken)
			}
			return req, err
		}, `"bench_loader@service"`, 1},
		{"POST /api/v1/introspect", func(w, n int) (*http.Request, error) {
			return api(http.MethodPost, "/introspect", `{"token":"`+data.introspect[(w*131+n)%len(data.introspect)]+`"}`)
		}, `"active":true`, len(data.introspect)},
		{"POST /api/v1/users/{id}/tokens", func(w, n int) (*http.Request, error) {
			owner := data.tokenOwners[(w*997+n)%len(data.tokenOwners)]
			return api(http.MethodPost, fmt.Sprintf("/users/%d/tokens", owner), fmt.Sprintf(`{"name":"bench-w%d-n%d","expires_in_days":30}`, w, n))
		}, `"token":"wdn_`, 0},
	}

	t.Logf("server pid %d on %s", pid, base)
	// WARDEN_BENCH_AGAINST=binary: every scenario also runs against that
	// server binary (another build), on the same database, taking turns.
	var other string
	var compared [][2]benchResult
	if bin := os.Getenv("WARDEN_BENCH_AGAINST"); bin != "" {
		a, p := benchServe(t, bin, otherDB)
		other = a
		t.Logf("other build %s: pid %d on %s", bin, p, a)
	}
	// The load generator (this process) runs on one P: it needs a few
	// percent of the CPU, and with two Ps its goroutines and garbage
	// collector compete with the server's threads for the same two cores,
	// which showed as a longer tail (p99 of a page 92 -> 62 ms, throughput
	// 780 -> 1,050 pages/s with one P).
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	// For the same reason it collects garbage less often, and each worker
	// builds each distinct request once (benchScenario.cycle): net/http's
	// request building was a quarter of the bytes the two processes
	// allocated during GET /api/v1/me.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	loadStart := benchLoadAvg()
	results := make([]benchResult, 0, len(scenarios))
	selected := func(name string) bool {
		only := os.Getenv("WARDEN_BENCH_ONLY") // comma-separated substrings of scenario names
		if only == "" {
			return true
		}
		for _, o := range strings.Split(only, ",") {
			if o != "" && strings.Contains(name, o) {
				return true
			}
		}
		return false
	}
	for _, sc := range scenarios {
		if !selected(sc.name) {
			continue
		}
		benchCheck(t, client, sc)
		if other != "" {
			this, that := benchCompare(addr, other, sc, duration)
			compared = append(compared, [2]benchResult{this, that})
			t.Logf("%-32s this build %7.0f req/s p99 %6.2f ms; the other %7.0f req/s p99 %6.2f ms",
				sc.name, this.rate(), benchMS(this.p99), that.rate(), benchMS(that.p99))
			continue
		}
		r := benchRun(addr, sc, duration, 0)
		r.hwm, _ = benchProcStatus(pid, "VmHWM")
		results = append(results, r)
		t.Logf("%-32s %7.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d", r.name, r.rate(), benchMS(r.p50), benchMS(r.p99), r.errs)
	}
	hwm, err := benchProcStatus(pid, "VmHWM")
	if err != nil {
		t.Fatalf("peak RSS: %v", err)
	}
	rss, _ := benchProcStatus(pid, "VmRSS")

	var b strings.Builder
	fmt.Fprintf(&b, "\nwarden bench: %d users in %d teams, %d tokens, %d audit events; %d clients, %v per scenario\n",
		data.users, benchTeams, data.tokens, data.events, benchClients, duration)
	fmt.Fprintf(&b, "seeded in %s\n\n", data.seedTimes())
	if len(results) > 0 { // none when every scenario was compared with another build
		fmt.Fprintf(&b, "| %-32s | %8s | %8s | %7s | %7s | %6s | %7s |\n", "scenario", "requests", "req/s", "p50 ms", "p99 ms", "errors", "HWM MB")
		fmt.Fprintf(&b, "|%s|%s|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 34), strings.Repeat("-", 10), strings.Repeat("-", 10),
			strings.Repeat("-", 9), strings.Repeat("-", 9), strings.Repeat("-", 8), strings.Repeat("-", 9))
	}
	for _, r := range results {
		fmt.Fprintf(&b, "| %-32s | %8d | %8.0f | %7.2f | %7.2f | %6d | %7.1f |\n", r.name, r.n, r.rate(), benchMS(r.p50), benchMS(r.p99), r.errs, float64(r.hwm)/1024)
	}
	// The token-path budgets (issues 15 and 19): at least half of /healthz
	// in the same run.
	var healthz float64
	for _, r := range results {
		if r.name == "GET /healthz" {
			healthz = r.rate()
		}
	}
	for _, r := range results {
		if healthz > 0 && (strings.HasPrefix(r.name, "GET /api/v1/me") || r.name == "POST /api/v1/introspect") {
			fmt.Fprintf(&b, "%s: %.2f× /healthz (budget 0.5×)\n", r.name, r.rate()/healthz)
		}
	}
	if len(compared) > 0 {
		fmt.Fprintf(&b, "\nagainst %s (medians of 3 turns each):\n\n", os.Getenv("WARDEN_BENCH_AGAINST"))
		fmt.Fprintf(&b, "| %-32s | %12s | %12s | %8s | %12s | %12s |\n", "scenario", "this req/s", "other req/s", "ratio", "this p99 ms", "other p99 ms")
		fmt.Fprintf(&b, "|%s|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 34), strings.Repeat("-", 14), strings.Repeat("-", 14),
			strings.Repeat("-", 10), strings.Repeat("-", 14), strings.Repeat("-", 14))
		for _, c := range compared {
			fmt.Fprintf(&b, "| %-32s | %12.0f | %12.0f | %7.2f× | %12.2f | %12.2f |\n", c[0].name, c[0].rate(), c[1].rate(),
				c[0].rate()/c[1].rate(), benchMS(c[0].p99), benchMS(c[1].p99))
		}
	}
	fmt.Fprintf(&b, "\nserver peak RSS (VmHWM) %.1f MB, RSS at end %.1f MB\n", float64(hwm)/1024, float64(rss)/1024)
	fmt.Fprintf(&b, "machine: %d CPUs (%s), %s %s/%s; load generator on the same machine; load average %s at start, %s at end\n",
		runtime.NumCPU(), benchCPUModel(), runtime.Version(), runtime.GOOS, runtime.GOARCH, loadStart, benchLoadAvg())
	if rev, err := exec.Command("git", "-C", "..", "rev-parse", "--short", "HEAD").Output(); err == nil {
		fmt.Fprintf(&b, "commit: %s\n", strings.TrimSpace(string(rev)))
	}
	fmt.Print(b.String())

	for _, c := range compared {
		results = append(results, c[0], c[1])
	}
	for _, r := range results {
		if r.errs > 0 {
			t.Errorf("%s: %d of %d requests failed, first: %s", r.name, r.errs, r.n, r.firstErr)
		}
	}
}

// benchWaitHealthy polls /healthz until it answers 200, the process exits or
// 30 s pass.
func benchWaitHealthy(t *testing.T, client *http.Client, base string, exited <-chan error, stderr *syncBuffer) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := client.Get(base + "/healthz"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("server exited before answering: %v\n%s", err, stderr.String())
		case <-deadline:
			t.Fatalf("server did not answer /healthz within 30s\n%s", stderr.String())
		case <-tick.C:
		}
	}
}

// benchSignIn signs the bench admin in through the form and returns the
// Cookie header of the session.
func benchSignIn(t *testing.T, client *http.Client, base string) string {
	t.Helper()
	cookies := map[string]string{}
	header := func() string {
		parts := make([]string, 0, len(cookies))
		for k, v := range cookies {
			parts = append(parts, k+"="+v)
		}
		sort.Strings(parts)
		return strings.Join(parts, "; ")
	}
	keep := func(resp *http.Response) {
		for _, c := range resp.Cookies() {
			if c.MaxAge < 0 || c.Value == "" {
				delete(cookies, c.Name)
			} else {
				cookies[c.Name] = c.Value
			}
		}
	}
	resp, err := client.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	keep(resp)
	m := csrfField.FindSubmatch(body)
	if m == nil {
		t.Fatalf("GET /login: status %d, no CSRF field: %s", resp.StatusCode, snippet(string(body)))
	}
	form := url.Values{"_csrf": {string(m[1])}, "email": {benchAdminEmail}, "password": {testPassword}}
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	req.Header.Set("Cookie", header())
	if resp, err = client.Do(req); err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("POST /login: status %d location %q: %s", resp.StatusCode, resp.Header.Get("Location"), snippet(string(body)))
	}
	keep(resp)
	return header()
}

type benchScenario struct {
	name string
	// req builds request n of worker w; it must be safe for concurrent use.
	req func(w, n int) (*http.Request, error)
	// want, when set, must appear in the body of the untimed check request.
	want string
	// cycle: request n is request n mod cycle (1: every request is the
	// same), so each worker builds each once; 0: every request differs.
	cycle int
}

type benchResult struct {
	name     string
	n, errs  int
	elapsed  time.Duration
	p50, p99 time.Duration
	firstErr string
	hwm      int64 // server VmHWM after the scenario, KiB
}

func (r benchResult) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

func benchMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchCheck sends one request of the scenario (not timed) and fails the
// test unless it succeeds, so a broken scenario is not measured as a fast one.
func benchCheck(t *testing.T, client *http.Client, sc benchScenario) {
	t.Helper()
	req, err := sc.req(benchClients, 0)
	if err != nil {
		t.Fatalf("%s: %v", sc.name, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", sc.name, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 || !strings.Contains(string(body), sc.want) {
		t.Fatalf("%s: %s %s: status %d, want %q in: %s", sc.name, req.Method, req.URL.RequestURI(), resp.StatusCode, sc.want, snippet(string(body)))
	}
}

// benchRun drives one scenario with benchClients goroutines for d, each
// recording the latency of every request into its own slice, after a
// second of the same requests untimed (caches fill, connections open, as
// on a server in use; the store benchmarks time the cold paths).
//
// The generator is fasthttp's client, not net/http's: it shares the two
// cores with the server, and net/http's client costs several times more
// CPU per request (two goroutines per connection, more allocation), which
// the server's figures would pay for.
func benchRun(addr string, sc benchScenario, d time.Duration, run int) benchResult {
	hc := &fasthttp.HostClient{Addr: addr, MaxConns: benchClients, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	// Each run numbers its requests apart: token names must not repeat.
	benchDrive(hc, sc, run<<21, time.Second)
	return benchDrive(hc, sc, run<<21+1<<20, d)
}

// benchCompare runs sc against this build (at addr) and the one at other,
// three times each on the same database, in the order ABBAAB so that
// neither always goes first, and returns the median of each build's rate
// and p99.
func benchCompare(addr, other string, sc benchScenario, d time.Duration) (this, that benchResult) {
	var mine, theirs []benchResult
	for round := range 3 {
		a := func() { mine = append(mine, benchRun(addr, sc, d, 1+2*round)) }
		b := func() { theirs = append(theirs, benchRun(other, sc, d, 2+2*round)) }
		if round == 1 {
			a, b = b, a
		}
		a()
		b()
	}
	median := func(rs []benchResult) benchResult {
		sort.Slice(rs, func(i, j int) bool { return rs[i].rate() < rs[j].rate() })
		r := rs[1]
		p99 := []time.Duration{rs[0].p99, rs[1].p99, rs[2].p99}
		slices.Sort(p99)
		r.p99 = p99[1]
		return r
	}
	return median(mine), median(theirs)
}

// benchDrive sends the scenario's requests from number first on, for d.
func benchDrive(hc *fasthttp.HostClient, sc benchScenario, first int, d time.Duration) benchResult {
	lat := make([][]time.Duration, benchClients)
	errs := make([]int, benchClients)
	var (
		mu       sync.Mutex
		firstErr string
		wg       sync.WaitGroup
	)
	fail := func(msg string) {
		mu.Lock()
		if firstErr == "" {
			firstErr = msg
		}
		mu.Unlock()
	}
	start := time.Now()
	deadline := start.Add(d)
	for w := range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 1<<15)
			fresp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseResponse(fresp)
			// Requests are built before the clock starts, and once each
			// where they repeat: building them is the generator's work.
			built := make([]*fasthttp.Request, max(sc.cycle, 1))
			for n := first; time.Now().Before(deadline); n++ {
				i := 0
				if sc.cycle > 0 {
					i = n % sc.cycle
				}
				freq := built[i]
				if freq == nil || sc.cycle == 0 {
					if freq == nil {
						freq = fasthttp.AcquireRequest()
						built[i] = freq
					}
					req, err := sc.req(w, n)
					if err == nil {
						err = benchFastRequest(req, freq)
					}
					if err != nil {
						errs[w]++
						fail(err.Error())
						continue
					}
				}
				t0 := time.Now()
				err := hc.Do(freq, fresp)
				mine = append(mine, time.Since(t0))
				switch status := fresp.StatusCode(); {
				case err != nil:
					errs[w]++
					fail(err.Error())
				case status/100 != 2:
					errs[w]++
					fail(fmt.Sprintf("%s %s: %d %.400s", freq.Header.Method(), freq.RequestURI(), status, fresp.Body()))
				}
			}
			for _, freq := range built {
				if freq != nil {
					fasthttp.ReleaseRequest(freq)
				}
			}
			lat[w] = mine
		}()
	}
	wg.Wait()
	r := benchResult{name: sc.name, elapsed: time.Since(start), firstErr: firstErr}
	var all []time.Duration
	for w := range benchClients {
		all = append(all, lat[w]...)
		r.errs += errs[w]
	}
	r.n = len(all)
	if r.n > 0 {
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		rank := func(p float64) time.Duration { // nearest rank
			i := int(float64(len(all))*p+0.999999) - 1
			return all[min(max(i, 0), len(all)-1)]
		}
		r.p50, r.p99 = rank(0.50), rank(0.99)
	}
	return r
}

// benchFastRequest copies a scenario's request into a fasthttp request.
func benchFastRequest(req *http.Request, freq *fasthttp.Request) error {
	freq.Reset()
	freq.Header.SetMethod(req.Method)
	freq.SetRequestURI(req.URL.String())
	for k, vs := range req.Header {
		for _, v := range vs {
			freq.Header.Add(k, v)
		}
	}
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return err
		}
		freq.SetBodyRaw(body)
	}
	return nil
}

// benchProcStatus reads a "kB" field of /proc/<pid>/status, in KiB.
func benchProcStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("%s not in /proc/%d/status", field, pid)
}

// benchLoadAvg is the 1-minute load average: other work on the machine
// skews the figures, so the table says how busy it was.
func benchLoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func benchCPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// ---- seeding ----

// benchData is what the scenarios need to know about the seeded database.
type benchData struct {
	users, tokens, events int
	teams                 []int64  // the seeded teams (not Public)
	tokenOwners           []int64  // active service users to create tokens for
	introspect            []string // secrets of usable seeded tokens
	tUsers, tTokens       time.Duration
	tEvents, tIndexes     time.Duration
	tCounts, tAnalyze     time.Duration
	total                 time.Duration
}

// benchLoader writes rows through prepared multi-row INSERTs on one
// connection, committing every benchRowsPerTx rows.
type benchLoader struct {
	t      *testing.T
	db     *sql.DB
	tx     *sql.Tx
	rows   int
	tables []*benchTable
}

type benchTable struct {
	l    *benchLoader
	name string
	cols []string
	args []any
	stmt *sql.Stmt // the full-batch INSERT, prepared in the open transaction
}

func (l *benchLoader) table(name string, cols ...string) *benchTable {
	b := &benchTable{l: l, name: name, cols: cols, args: make([]any, 0, benchRowsPerStmt*len(cols))}
	l.tables = append(l.tables, b)
	return b
}

func (b *benchTable) insertSQL(rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(b.cols)), ",") + ")"
	return "INSERT INTO " + b.name + " (" + strings.Join(b.cols, ", ") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

// add buffers one row, its values in the order of cols.
func (b *benchTable) add(vals ...any) {
	if len(vals) != len(b.cols) {
		b.l.t.Fatalf("seed %s: %d values for %d columns", b.name, len(vals), len(b.cols))
	}
	b.args = append(b.args, vals...)
	if len(b.args) == benchRowsPerStmt*len(b.cols) {
		b.flush()
	}
}

func (b *benchTable) flush() {
	if len(b.args) > 0 {
		b.exec(b.args)
		b.args = b.args[:0]
	}
}

// exec inserts the rows args holds in the open transaction.
func (b *benchTable) exec(args []any) {
	l := b.l
	if l.tx == nil {
		tx, err := l.db.Begin()
		if err != nil {
			l.t.Fatalf("seed: begin: %v", err)
		}
		l.tx = tx
	}
	rows := len(args) / len(b.cols)
	var err error
	if rows == benchRowsPerStmt {
		if b.stmt == nil {
			if b.stmt, err = l.tx.Prepare(b.insertSQL(rows)); err != nil {
				l.t.Fatalf("seed %s: prepare: %v", b.name, err)
			}
		}
		_, err = b.stmt.Exec(args...)
	} else {
		_, err = l.tx.Exec(b.insertSQL(rows), args...)
	}
	if err != nil {
		l.t.Fatalf("seed: insert into %s: %v", b.name, err)
	}
	l.rows += rows
}

// maybeCommit commits once the transaction holds benchRowsPerTx rows; call
// it between complete items.
func (l *benchLoader) maybeCommit() {
	if l.rows >= benchRowsPerTx {
		l.commit()
	}
}

func (l *benchLoader) commit() {
	for _, b := range l.tables {
		b.flush()
	}
	for _, b := range l.tables {
		if b.stmt != nil {
			_ = b.stmt.Close()
			b.stmt = nil
		}
	}
	if l.tx != nil {
		if err := l.tx.Commit(); err != nil {
			l.t.Fatalf("seed: commit: %v", err)
		}
	}
	l.tx, l.rows = nil, 0
}

var (
	benchTeamNames = []string{"Platform", "Payments", "Search", "Data Engineering", "Mobile", "Identity", "Billing",
		"Growth", "Infrastructure", "Security", "Observability", "Checkout", "Messaging", "Analytics",
		"Machine Learning", "Storage", "Networking", "Frontend", "API Gateway", "Fraud", "Compliance",
		"Support Tools", "Release Engineering", "Developer Experience", "Ads"}
	benchServicePrefixes = []string{"Deploy", "Billing", "Sync", "Backup", "Report", "Ingest", "Alert", "Cache",
		"Search", "Payments", "Metrics", "Mailer", "Export", "Import", "Audit", "Scheduler", "Airflow", "Terraform"}
	benchServiceWords = []string{"bot", "service", "worker", "job", "pipeline", "runner", "exporter"}
	benchFirstNames   = []string{"Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Alan",
		"Radia", "Edsger", "Hedy", "Donald", "Karen", "Leslie", "Joan", "Tim", "Sophie", "John", "Mary"}
	benchLastNames = []string{"Lovelace", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen",
		"Turing", "Perlman", "Dijkstra", "Lamarr", "Knuth", "Jones", "Lamport", "Clarke", "Wilson", "Müller"}
	benchTokenPurposes = []string{"ci-deploy", "airflow-prod", "grafana", "backup-nightly", "terraform", "github-actions",
		"k8s-operator", "staging", "cron", "local-dev"}
	benchBrowsers = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
	}
	benchClientsUA = []string{"warden-cli/1.4.2", "python-requests/2.32.3", "Go-http-client/1.1", "curl/8.5.0", "terraform-provider-warden/0.9.1"}
	benchHumanActs = []string{"auth.login", "auth.login", "auth.login", "auth.logout", "auth.session_end", "token.create",
		"token.revoke", "token.delete", "service_user.create", "service_user.update", "service_user.deactivate",
		"user.update", "user.create", "user.password_link_issued", "team.update", "team.create", "settings.update"}
	benchServiceActs = []string{"token.create", "token.create", "token.revoke", "token.rotate", "token.delete",
		"service_user.create", "service_user.update", "service_user.update", "team.update"}
	benchSystemActs = []string{"auth.session_end", "auth.session_end", "auth.session_end", "user.password_link_issued", "settings.update"}
	benchDenyReason = []string{"last_admin", "builtin_team", "not_revoked", "deactivated", "not_service"}
	benchFailReason = []string{"invalid_input", "conflict"}
)

func benchTokenName(id int64) string {
	return fmt.Sprintf("%s-%d", benchTokenPurposes[id%int64(len(benchTokenPurposes))], id)
}

const benchBase62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// benchSecret makes a well-formed token (prefix, 32 base62 characters, the
// CRC32 checksum in 6 base62 digits) from a seeded generator: fast, and
// accepted by models.CheckTokenFormat.
func benchSecret(rng *rand.Rand) string {
	b := make([]byte, 0, models.TokenLen)
	b = append(b, models.TokenPrefix...)
	for range 32 {
		b = append(b, benchBase62[rng.IntN(62)])
	}
	c := crc32.ChecksumIEEE(b)
	sum := make([]byte, 6)
	for i := 5; i >= 0; i-- {
		sum[i] = benchBase62[c%62]
		c /= 62
	}
	return string(append(b, sum...))
}

func benchHex(rng *rand.Rand) string {
	var b [32]byte
	for i := 0; i < 32; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return hex.EncodeToString(b[:])
}

func benchNullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

func benchNullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// benchSeed bulk-loads the database the migrations created: teams, users
// with their memberships, tokens and audit events, consistent with what the
// store writes (team_count, search_text, derived user_ids, token hashes and
// hints; the audit hash chain is well-formed hex but not verifiable). The
// tables are loaded without their secondary indexes, which are rebuilt from
// their own definitions at the end; benchFinishSeed completes the job.
func benchSeed(t *testing.T, path string, nUsers, nTokens, nEvents int) *benchData {
	t.Helper()
	start := time.Now()
	q := url.Values{}
	// No journal while loading (the database is scratch until the end);
	// WAL again afterwards, as the store expects.
	q.Set("_journal_mode", "OFF")
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "off") // rows are consistent by construction
	q.Set("_loc", "UTC")
	db, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, p := range []string{"PRAGMA synchronous = OFF", "PRAGMA cache_size = -262144", "PRAGMA temp_store = MEMORY", "PRAGMA threads = 2", "PRAGMA mmap_size = 4294967296"} {
		if _, err := db.Exec(p); err != nil {
			t.Fatalf("seed: %s: %v", p, err)
		}
	}
	var existing int64
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM teams WHERE builtin = 0)`).Scan(&existing); err != nil || existing != 0 {
		t.Fatalf("seed: the database is not fresh (%d rows, %v)", existing, err)
	}

	// Secondary indexes are built once at the end: sorting once is much
	// faster than growing every B-tree row by row. The audit log's
	// append-only triggers go too (one of them runs a lookup per insert)
	// and come back with the indexes, from their own definitions.
	var dropped, defs []string
	rows, err := db.Query(`SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL
		AND tbl_name IN ('users', 'user_teams', 'tokens', 'audit_events')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var typ, name, def string
		if err := rows.Scan(&typ, &name, &def); err != nil {
			t.Fatal(err)
		}
		dropped, defs = append(dropped, "DROP "+strings.ToUpper(typ)+` "`+name+`"`), append(defs, def)
	}
	rows.Close()
	for _, drop := range dropped {
		if _, err := db.Exec(drop); err != nil {
			t.Fatalf("seed: %s: %v", drop, err)
		}
	}

	now := time.Now().UTC()
	rng := rand.New(rand.NewPCG(7, uint64(nUsers)))
	data := &benchData{users: nUsers, tokens: nTokens, events: nEvents}
	l := &benchLoader{t: t, db: db}

	// Teams and users.
	phase := time.Now()
	teams := l.table("teams", "id", "name", "name_key", "description", "builtin", "created_at", "updated_at")
	users := l.table("users", "id", "kind", "name", "user_id", "email", "email_key", "role", "status", "description",
		"owner_team_id", "last_active_at", "created_at", "updated_at", "deactivated_at", "team_count", "search_text")
	members := l.table("user_teams", "user_id", "team_id")
	teamName := map[int64]string{models.PublicTeamID: "Public"}
	for id := int64(2); id <= benchTeams; id++ {
		name := benchTeamNames[(id-2)%int64(len(benchTeamNames))]
		if id-2 >= int64(len(benchTeamNames)) {
			name += " EU"
		}
		created := now.Add(-time.Duration(4*365-id) * 24 * time.Hour).Truncate(time.Second)
		teams.add(id, name, strings.ToLower(name), "Owns the "+strings.ToLower(name)+" services.", 0, created, created)
		data.teams = append(data.teams, id)
		teamName[id] = name
	}
	type benchUser struct {
		service, active, admin bool
		label                  string
		created                time.Time
		deactivated            *time.Time
		lastActive             *time.Time
	}
	all := make([]benchUser, nUsers+1) // by id
	var services, admins, humans []int64
	span := 3 * 365 * 24 * time.Hour
	year := 365 * 24 * time.Hour
	picked := make([]int64, 0, 3)
	for i := 1; i <= nUsers; i++ {
		id := int64(i)
		u := &all[i]
		u.created = now.Add(-span + span/time.Duration(nUsers)*time.Duration(i-1)).Truncate(time.Microsecond)
		var (
			kind                = models.KindService
			name, desc          string
			userID, email, ekey any
			uid, mail           *string
			role                = models.RoleMember
			ownerTeam           int64
		)
		if i%20 == 1 { // one in twenty is a person
			kind = models.KindHuman
			first, last := benchFirstNames[rng.IntN(len(benchFirstNames))], benchLastNames[rng.IntN(len(benchLastNames))]
			name = first + " " + last
			e := fmt.Sprintf("%s.%s.%d@example.com", strings.ToLower(first), strings.ToLower(strings.ReplaceAll(last, "ü", "u")), id)
			mail, email, ekey = &e, e, strings.ToLower(e)
			switch r := rng.IntN(100); {
			case r < 10:
				role = models.RoleAdmin
			case r < 35:
				role = models.RoleManager
			}
			u.label = e
		} else {
			name = fmt.Sprintf("%s %s %d", benchServicePrefixes[rng.IntN(len(benchServicePrefixes))],
				benchServiceWords[rng.IntN(len(benchServiceWords))], id)
			d := models.DeriveUserID(name)
			uid, userID = &d, d
			switch r := rng.IntN(100); {
			case r < 5:
				role = models.RoleAdmin
			case r < 25:
				role = models.RoleManager
			}
			if rng.IntN(10) < 3 {
				ownerTeam = 2 + rng.Int64N(benchTeams-1)
			}
			if rng.IntN(3) == 0 {
				desc = "Calls the " + strings.ToLower(benchServicePrefixes[rng.IntN(len(benchServicePrefixes))]) + " API on a schedule."
			}
			u.service, u.label = true, d
		}
		if u.admin = role == models.RoleAdmin; u.admin {
			admins = append(admins, id)
		}
		if !u.service {
			humans = append(humans, id)
		}
		status := models.StatusActive
		u.active = true
		if rng.IntN(100) < 5 {
			status, u.active = models.StatusDeactivated, false
			d := now.Add(-time.Duration(rng.Int64N(int64(year)))).Truncate(time.Microsecond)
			if d.Before(u.created) {
				d = u.created
			}
			u.deactivated = &d
		}
		if rng.IntN(100) < 70 { // active at some point in the last year
			la := now.Add(-time.Duration(rng.Int64N(int64(year)))).Truncate(time.Microsecond)
			if la.Before(u.created) {
				la = u.created
			}
			u.lastActive = &la
		}
		picked = picked[:0]
		for extra := rng.IntN(4); len(picked) < extra; {
			tid := 2 + rng.Int64N(benchTeams-1)
			dup := false
			for _, p := range picked {
				dup = dup || p == tid
			}
			if !dup {
				picked = append(picked, tid)
			}
		}
		search := models.SearchText(name, uid, mail)
		users.add(id, string(kind), name, userID, email, ekey, string(role), string(status), desc,
			benchNullID(ownerTeam), benchNullTime(u.lastActive), u.created, u.created, benchNullTime(u.deactivated),
			1+len(picked), search)
		members.add(id, models.PublicTeamID)
		for _, tid := range picked {
			members.add(id, tid)
		}
		if u.service {
			services = append(services, id)
			if u.active && len(data.tokenOwners) < benchTokenOwners {
				data.tokenOwners = append(data.tokenOwners, id)
			}
		}
		l.maybeCommit()
	}
	l.commit()
	data.tUsers = time.Since(phase)
	if len(services) == 0 || len(data.tokenOwners) == 0 {
		t.Fatal("seed: no active service users")
	}

	// Tokens: each on a random service user (about two each), mixed states.
	// A deactivated user's tokens are all revoked, as the store requires.
	phase = time.Now()
	tokens := l.table("tokens", "id", "user_id", "name", "name_key", "description", "token_hash", "hint",
		"expires_at", "revoked_at", "last_used_at", "last_used_ip", "last_used_ua", "created_at")
	for i := 1; i <= nTokens; i++ {
		id := int64(i)
		uid := services[rng.IntN(len(services))]
		u := &all[uid]
		secret := benchSecret(rng)
		sum := sha256.Sum256([]byte(secret))
		created := u.created.Add(time.Duration(rng.Int64N(int64(now.Sub(u.created)) + 1))).Truncate(time.Microsecond)
		var expires, revoked, lastUsed *time.Time
		var ip, ua any
		usable := false
		switch r := rng.IntN(100); {
		case !u.active:
			revoked = u.deactivated
		case r < 15:
			rv := created.Add(time.Duration(rng.Int64N(int64(now.Sub(created)) + 1))).Truncate(time.Microsecond)
			revoked = &rv
		case r < 30:
			ex := now.Add(-time.Duration(1 + rng.Int64N(int64(90*24*time.Hour)))).Truncate(time.Second)
			expires = &ex
		case r < 75:
			ex := now.Add(time.Duration(1 + rng.Int64N(int64(year)))).Truncate(time.Second)
			expires, usable = &ex, true
		default: // never expires
			usable = true
		}
		if usable && rng.IntN(100) < 60 {
			lu := now.Add(-time.Duration(rng.Int64N(int64(180 * 24 * time.Hour)))).Truncate(time.Microsecond)
			if lu.Before(created) {
				lu = created
			}
			lastUsed = &lu
			ip, ua = fmt.Sprintf("10.0.%d.%d", rng.IntN(64), 1+rng.IntN(254)), benchClientsUA[rng.IntN(len(benchClientsUA))]
		}
		if usable && len(data.introspect) < benchIntrospected {
			data.introspect = append(data.introspect, secret)
		}
		name := benchTokenName(id)
		tokens.add(id, uid, name, name, "", hex.EncodeToString(sum[:]), models.TokenHint(secret),
			benchNullTime(expires), benchNullTime(revoked), benchNullTime(lastUsed), ip, ua, created)
		l.maybeCommit()
	}
	l.commit()
	data.tTokens = time.Since(phase)
	if len(data.introspect) == 0 {
		t.Fatal("seed: no usable tokens to introspect")
	}
	if err := models.CheckTokenFormat(data.introspect[0]); err != nil {
		t.Fatalf("seed: token format: %v", err)
	}

	// Audit events, in id and time order over the last year. One goroutine
	// makes the rows while this one inserts them.
	phase = time.Now()
	events := l.table("audit_events", "id", "occurred_at", "actor_kind", "actor_id", "actor_label", "token_id",
		"action", "outcome", "reason", "target_kind", "target_id", "target_label", "changes", "ip", "user_agent",
		"request_id", "prev_hash", "hash")
	batches := make(chan []any, 8)
	go func() {
		defer close(batches)
		erng := rand.New(rand.NewPCG(11, uint64(nEvents)))
		from := now.Add(-year)
		step := year / time.Duration(nEvents)
		prev := strings.Repeat("0", 64)
		// Only admins can change anything, so they are the actors of
		// nearly every event, a few of them very busy (Zipf, ranks
		// scattered so the busy ones are not simply the oldest); everyone
		// else appears when refused a route above their role.
		if len(admins) == 0 {
			admins = services
		}
		busy := rand.NewZipf(erng, 1.1, 1, uint64(len(admins)-1))
		width := len(events.cols)
		args := make([]any, 0, benchRowsPerStmt*width)
		for i := range nEvents {
			at := from.Add(step * time.Duration(i)).Truncate(time.Microsecond)
			var (
				kind, label, action, reason, tkind, tlabel, changes, ip, ua string
				actorID, tokenID, targetID                                  int64
			)
			outcome := models.OutcomeSuccess
			switch r := erng.IntN(100); {
			case r < 8:
				kind, label, action = "system", "system", benchSystemActs[erng.IntN(len(benchSystemActs))]
			case r < 12: // a failed sign-in, under the email typed
				kind, action, outcome, reason = "anonymous", "auth.login_failed", models.OutcomeFailed, "bad_credentials"
				label = fmt.Sprintf("guess%d@example.org", erng.IntN(1000))
				if len(humans) > 0 && erng.IntN(3) > 0 {
					label = all[humans[erng.IntN(len(humans))]].label
				}
				ip, ua = fmt.Sprintf("198.51.100.%d", 1+erng.IntN(254)), benchBrowsers[erng.IntN(len(benchBrowsers))]
			case r < 16: // an API caller below the route's role
				actorID = services[erng.IntN(len(services))]
				kind, label, action, outcome, reason = "service", all[actorID].label, "auth.denied", models.OutcomeDenied, "needs_admin"
				tokenID = 1 + erng.Int64N(int64(max(nTokens, 1)))
				ip, ua = fmt.Sprintf("10.0.%d.%d", erng.IntN(64), 1+erng.IntN(254)), benchClientsUA[erng.IntN(len(benchClientsUA))]
			default:
				actorID = admins[(busy.Uint64()*7919)%uint64(len(admins))]
				a := &all[actorID]
				label = a.label
				if a.service {
					kind, action = "service", benchServiceActs[erng.IntN(len(benchServiceActs))]
					tokenID = 1 + erng.Int64N(int64(max(nTokens, 1)))
					ip, ua = fmt.Sprintf("10.0.%d.%d", erng.IntN(64), 1+erng.IntN(254)), benchClientsUA[erng.IntN(len(benchClientsUA))]
				} else {
					kind, action = "human", benchHumanActs[erng.IntN(len(benchHumanActs))]
					ip, ua = fmt.Sprintf("10.20.%d.%d", erng.IntN(8), 1+erng.IntN(254)), benchBrowsers[erng.IntN(len(benchBrowsers))]
				}
				switch r := erng.IntN(100); {
				case r < 10:
					outcome, reason = models.OutcomeDenied, benchDenyReason[erng.IntN(len(benchDenyReason))]
				case r < 15:
					outcome, reason = models.OutcomeFailed, benchFailReason[erng.IntN(len(benchFailReason))]
				}
			}
			verb := action[strings.IndexByte(action, '.')+1:]
			switch {
			case strings.HasPrefix(action, "token."):
				targetID = 1 + erng.Int64N(int64(max(nTokens, 1)))
				tkind, tlabel = "token", benchTokenName(targetID)
				if verb == "create" {
					changes = `{"expires_at":{"before":null,"after":"` + at.Add(90*24*time.Hour).Format("2006-01-02") + `"},"name":{"before":null,"after":"` + tlabel + `"}}`
				}
			case strings.HasPrefix(action, "user.") || strings.HasPrefix(action, "service_user."):
				targetID = int64(1 + erng.IntN(nUsers))
				tkind, tlabel = "user", all[targetID].label
				if verb == "update" {
					changes = `{"role":{"before":"member","after":"manager"}}`
				}
			case strings.HasPrefix(action, "team."):
				targetID = 2 + erng.Int64N(benchTeams-1)
				tkind, tlabel = "team", teamName[targetID]
				if verb == "update" {
					changes = `{"description":{"before":"","after":"Owned by the platform team."}}`
				}
			case action == "settings.update":
				tkind, tlabel, changes = "settings", "session_idle_timeout", `{"session_idle_timeout":{"before":"8h0m0s","after":"12h0m0s"}}`
			case action == "auth.denied":
				tkind, tlabel = "route", "POST /api/v1/users"
			case action == "auth.login" || action == "auth.logout" || action == "auth.session_end":
				targetID = actorID
				if targetID == 0 {
					targetID = int64(1 + erng.IntN(nUsers))
				}
				tkind, tlabel = "user", all[targetID].label
			}
			if outcome != models.OutcomeSuccess {
				changes = ""
			}
			requestID := ""
			if kind != "system" {
				requestID = fmt.Sprintf("%016x%08x", erng.Uint64(), erng.Uint32())
			}
			hash := benchHex(erng)
			args = append(args, int64(i+1), at, kind, benchNullID(actorID), label, benchNullID(tokenID), action, outcome,
				reason, tkind, benchNullID(targetID), tlabel, changes, ip, ua, requestID, prev, hash)
			prev = hash
			if len(args) == cap(args) || i == nEvents-1 {
				batches <- args
				args = make([]any, 0, benchRowsPerStmt*width)
			}
		}
	}()
	for b := range batches {
		events.exec(b)
		l.maybeCommit()
	}
	l.commit()
	data.tEvents = time.Since(phase)

	phase = time.Now()
	for _, def := range defs {
		if _, err := db.Exec(def); err != nil {
			t.Fatalf("seed: %s: %v", def, err)
		}
	}
	data.tIndexes = time.Since(phase)
	if _, err := db.Exec("PRAGMA journal_mode = WAL"); err != nil {
		t.Fatalf("seed: WAL: %v", err)
	}
	data.total = time.Since(start)
	return data
}

// benchFinishSeed does what the store must do after a bulk load: rebuild
// the audit log's per-day counts (with the store's own code), and what the
// users' triggers keep (the counts, the search index), then ANALYZE.
func benchFinishSeed(t *testing.T, st *models.Store, data *benchData) {
	t.Helper()
	ctx := context.Background()
	phase := time.Now()
	if err := st.RebuildAuditCounts(ctx); err != nil {
		t.Fatalf("rebuild audit counts: %v", err)
	}
	for _, q := range []string{
		`DELETE FROM user_counts`,
		`INSERT INTO user_counts (kind, role, status, n) SELECT kind, role, status, COUNT(*) FROM users GROUP BY 1, 2, 3`,
		`DELETE FROM team_counts`,
		`INSERT INTO team_counts (team_id, kind, role, status, n) SELECT ut.team_id, u.kind, u.role, u.status, COUNT(*)
			FROM user_teams ut JOIN users u ON u.id = ut.user_id GROUP BY 1, 2, 3, 4`,
		`INSERT INTO users_fts (users_fts) VALUES ('rebuild')`,
		// One working token in 97 was rotated and is in its overlap.
		`UPDATE tokens SET replaced_by = id + 1 WHERE id % 97 = 0 AND revoked_at IS NULL AND expires_at > CURRENT_TIMESTAMP
			AND id < (SELECT MAX(id) FROM tokens)`,
	} {
		if _, err := st.SQLDB().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	data.tCounts = time.Since(phase)
	phase = time.Now()
	if _, err := st.SQLDB().ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatalf("ANALYZE: %v", err)
	}
	data.tAnalyze = time.Since(phase)
	data.total += data.tCounts + data.tAnalyze
	t.Logf("seeded %d users in %d teams, %d tokens, %d audit events in %s", data.users, benchTeams, data.tokens, data.events, data.seedTimes())
}

// seedTimes is the seeding's breakdown, for the log and the table.
func (d *benchData) seedTimes() string {
	r := func(x time.Duration) time.Duration { return x.Round(time.Millisecond) }
	return fmt.Sprintf("%v: users %v, tokens %v, events %v, indexes %v, audit counts %v, analyze %v",
		r(d.total), r(d.tUsers), r(d.tTokens), r(d.tEvents), r(d.tIndexes), r(d.tCounts), r(d.tAnalyze))
}

// benchCopyDB copies the closed database at dbPath, runs query on the copy
// and returns the copy's path.
func benchCopyDB(t *testing.T, dbPath, query string) string {
	t.Helper()
	if _, err := os.Stat(dbPath + "-wal"); err == nil {
		t.Fatalf("%s-wal exists: the database is still open, a copy of the file alone would miss it", dbPath)
	}
	dst := strings.TrimSuffix(dbPath, ".db") + "-other.db"
	src, err := os.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, src); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	benchRunSQL(t, dst, query)
	return dst
}

// benchRunSQL runs query on the database at path.
func benchRunSQL(t *testing.T, path, query string) {
	t.Helper()
	db := benchOpenDB(t, path)
	defer db.Close()
	if _, err := db.Exec(query); err != nil {
		t.Fatalf("%s: %s: %v", path, query, err)
	}
}

// benchCopySessions copies the console sessions signed in at from to the
// database at to.
func benchCopySessions(t *testing.T, from, to string) {
	t.Helper()
	db := benchOpenDB(t, to)
	defer db.Close()
	if _, err := db.Exec("ATTACH DATABASE ? AS m", "file:"+from+"?mode=ro"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO sessions SELECT * FROM m.sessions WHERE id NOT IN (SELECT id FROM main.sessions)"); err != nil {
		t.Fatalf("copy the sessions to %s: %v", to, err)
	}
}

// benchOpenDB opens the database at path on one connection: an ATTACH
// holds for its connection only.
func benchOpenDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return db
}

// benchServe starts the server binary bin on dbPath, on a port picked here
// (at --log-level error it does not log its address), stops it when the
// test ends, and returns its address and pid once it answers /healthz.
func benchServe(t *testing.T, bin, dbPath string) (string, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	stderr := &syncBuffer{}
	cmd := exec.Command(bin, "serve", "--db", dbPath, "--addr", addr,
		"--api-rate-limit", "0", "--introspect-rate-limit", "0", "--api-auth-failures", "0", "--log-level", "error")
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	for _, kv := range os.Environ() { // only the flags above configure it
		if !strings.HasPrefix(kv, "WARDEN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if s := stderr.String(); strings.TrimSpace(s) != "" {
			t.Logf("server log (errors) of %s:\n%s", bin, snippet(s))
		}
		select {
		case <-exited:
			return
		default:
		}
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	benchWaitHealthy(t, client, "http://"+addr, exited, stderr)
	return addr, cmd.Process.Pid
}
