package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/web"
)

func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"-h"}} {
		code, out, _ := runCLI(t, "", args...)
		if code != 0 || !strings.Contains(out, "warden admin create") || !strings.Contains(out, "warden [serve]") {
			t.Errorf("%v: code %d, output %q", args, code, out)
		}
	}
	code, out, _ := runCLI(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "warden ") {
		t.Errorf("version: code %d, output %q", code, out)
	}
	for _, args := range [][]string{{"serve", "--help"}, {"admin", "create", "--help"}} {
		code, _, errOut := runCLI(t, "", args...)
		if code != 0 || !strings.Contains(errOut, "Usage: warden") {
			t.Errorf("%v: code %d, output %q", args, code, errOut)
		}
	}
	if code, _, errOut := runCLI(t, "", "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: code %d, %q", code, errOut)
	}
}

func TestServeRejectsBadConfiguration(t *testing.T) {
	cases := map[string][]string{
		"not host:port":                 {"serve", "--addr", "8080"},
		"must be an http(s)":            {"serve", "--base-url", "ftp://x"},
		"trusted-proxies":               {"serve", "--trusted-proxies", "proxy.example"},
		"at least 1m":                   {"serve", "--session-idle-timeout", "1s"},
		"go together":                   {"serve", "--session-hash-key", "abc"},
		"must be text or json":          {"serve", "--log-format", "xml"},
		"metrics-addr":                  {"serve", "--metrics-addr", "nope"},
		"must differ":                   {"serve", "--metrics-addr", "127.0.0.1:8080"},
		"postgres://user:password@host": {"serve", "--database-url", "mysql://root@db/warden"},
		"names no host":                 {"serve", "--database-url", "postgres:///warden"},
		"--database-url: ":              {"serve", "--database-url", "postgres://u:pw@db:notaport/warden"},
		// Single sign-on: the secret never on a command line, and the
		// settings checked together.
		"read from WARDEN_OIDC_CLIENT_SECRET only": {"serve", "--oidc-client-secret", "hunter2"},
		"--oidc-issuer needs --base-url":           {"serve", "--oidc-issuer", "https://idp.example.com", "--oidc-client-id", "w", "--oidc-admin-groups", "a"},
		"--password-login=false needs":             {"serve", "--password-login=false"},
	}
	for want, args := range cases {
		code, _, errOut := runCLI(t, "", args...)
		if code != 2 || !strings.Contains(errOut, want) {
			t.Errorf("%v: code %d, stderr %q; want 2 and %q", args, code, errOut, want)
		}
	}
	// A database path that cannot be created is reported, not a panic.
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "", "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(file, "warden.db")); code != 1 || !strings.Contains(errOut, "create database directory") {
		t.Errorf("unusable --db: code %d, %q", code, errOut)
	}
	// An unreachable PostgreSQL is reported with its address, never the
	// password in the URL.
	if code, _, errOut := runCLI(t, "", "serve", "--addr", "127.0.0.1:0", "--database-url",
		"postgres://warden:s3cret-pw@127.0.0.1:1/warden?connect_timeout=2"); code != 1 ||
		!strings.Contains(errOut, "connect to 127.0.0.1/warden") || strings.Contains(errOut, "s3cret-pw") {
		t.Errorf("unreachable --database-url: code %d, %q", code, errOut)
	}
	// The secret comes from its environment variable (here: present, so
	// only --base-url is missing).
	t.Setenv("WARDEN_OIDC_CLIENT_SECRET", "s3cret")
	if code, _, errOut := runCLI(t, "", "serve", "--oidc-issuer", "https://idp.example.com", "--oidc-client-id", "w", "--oidc-admin-groups", "a"); code != 2 ||
		strings.Contains(errOut, "WARDEN_OIDC_CLIENT_SECRET") || strings.Contains(errOut, "s3cret") {
		t.Errorf("secret from the environment: code %d, %q", code, errOut)
	}
	t.Setenv("WARDEN_ADDR", "nonsense")
	if code, _, errOut := runCLI(t, "", "serve"); code != 2 || !strings.Contains(errOut, `--addr "nonsense"`) {
		t.Errorf("environment twin not applied: code %d, %q", code, errOut)
	}
}

func TestAdminCreate(t *testing.T) {
	db := filepath.Join(t.TempDir(), "warden.db")
	pw := "violet kettle on a windy ridge"
	code, _, errOut := runCLI(t, pw+"\n", "admin", "create", "--email", "ada@example.com", "--name", "Ada")
	if code != 2 || !strings.Contains(errOut, "--password-stdin") {
		t.Fatalf("without --password-stdin: code %d, %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "short\n", "admin", "create", "--db", db, "--email", "ada@example.com", "--name", "Ada", "--password-stdin")
	if code != 1 || !strings.Contains(errOut, "password: Use at least 15 characters") {
		t.Fatalf("weak password: code %d, %q", code, errOut)
	}
	code, out, errOut := runCLI(t, pw+"\r\n", "admin", "create", "--db", db, "--email", "ada@example.com", "--name", "Ada", "--password-stdin")
	if code != 0 || !strings.Contains(out, "Created administrator Ada <ada@example.com>") {
		t.Fatalf("create: code %d, out %q, err %q", code, out, errOut)
	}
	if strings.Contains(out+errOut, pw) {
		t.Fatal("the password was printed")
	}
	code, _, errOut = runCLI(t, pw+"\n", "admin", "create", "--db", db, "--email", "ADA@example.com", "--name", "Ada again", "--password-stdin")
	if code != 1 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("duplicate email: code %d, %q", code, errOut)
	}
	t.Setenv("WARDEN_DB", db)
	code, _, errOut = runCLI(t, pw, "admin", "create", "--email", "bob@example.com", "--name", "Bob", "--password-stdin")
	if code != 0 {
		t.Fatalf("create via WARDEN_DB: code %d, %q", code, errOut)
	}

	store, err := models.OpenSQLite(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	u, err := store.Authenticate(context.Background(), models.Actor{Kind: models.ActorAnonymous}, "ada@example.com", pw)
	if err != nil || !u.IsConsoleAdmin() {
		t.Fatalf("the created admin cannot sign in: %v", err)
	}
	if need, _ := store.NeedsSetup(context.Background()); need {
		t.Fatal("setup still open after admin create")
	}
}

func TestAuditVerifyCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "warden.db")
	pw := "violet kettle on a windy ridge"
	for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		if code, _, errOut := runCLI(t, pw, "admin", "create", "--db", db, "--email", email, "--name", "A", "--password-stdin"); code != 0 {
			t.Fatalf("admin create: %s", errOut)
		}
	}
	code, out, _ := runCLI(t, "", "audit", "verify", "--db", db)
	if code != 0 || !strings.Contains(out, "OK: 3 events") {
		t.Fatalf("verify: code %d, %q", code, out)
	}
	store, err := models.OpenSQLite(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, sql := range []string{`DROP TRIGGER audit_events_no_update`, `UPDATE audit_events SET action = 'user.forged' WHERE id = 2`} {
		if err := store.ExecForTest(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()
	code, out, _ = runCLI(t, "", "audit", "verify", "--db", db)
	if code != 1 || !strings.Contains(out, "BROKEN at event 2") {
		t.Fatalf("verify after tampering: code %d, %q", code, out)
	}
}

func TestBootstrapCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "warden.db")
	pw := "violet kettle on a windy ridge"
	if code, _, errOut := runCLI(t, pw, "admin", "create", "--db", db, "--email", "ada@example.com", "--name", "Ada", "--password-stdin"); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut := runCLI(t, "", "users", "create-service", "--db", db, "--name", "CI Deployer", "--role", "admin")
	if code != 0 || strings.TrimSpace(out) != "ci_deployer@service" {
		t.Fatalf("create-service: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "", "users", "create-service", "--db", db, "--name", "x", "--team", "Nope"); code != 1 || !strings.Contains(errOut, `no team named "Nope"`) {
		t.Fatalf("unknown team: %d %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "", "users", "create-service", "--db", db, "--name", "ci deployer"); code != 1 || !strings.Contains(errOut, "already taken") {
		t.Fatalf("duplicate: %d %q", code, errOut)
	}
	code, out, errOut = runCLI(t, "", "tokens", "create", "--db", db, "--user", "ci_deployer@service", "--name", "bootstrap", "--expires-in-days", "30")
	secret := strings.TrimSpace(out)
	if code != 0 || models.CheckTokenFormat(secret) != nil || !strings.Contains(errOut, "shown only now") {
		t.Fatalf("tokens create: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "admin", "reset-password", "--db", db, "--email", "ADA@example.com", "--base-url", "https://warden.example.com/")
	if code != 0 || !strings.HasPrefix(out, "https://warden.example.com/set-password/") {
		t.Fatalf("reset-password: %d %q %q", code, out, errOut)
	}
	store, err := models.OpenSQLite(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	auth, err := store.AuthenticateToken(context.Background(), secret)
	if err != nil || auth.User.Role != models.RoleAdmin {
		t.Fatalf("bootstrap token: %v", err)
	}
	page, _ := store.ListAudit(context.Background(), models.AuditQuery{Actor: "command line"})
	if len(page.Events) < 4 {
		t.Fatalf("%d command-line events audited", len(page.Events))
	}
}

func TestBackupWhileWriting(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "warden.db")
	pw := "violet kettle on a windy ridge"
	if code, _, errOut := runCLI(t, pw, "admin", "create", "--db", db, "--email", "ada@example.com", "--name", "Ada", "--password-stdin"); code != 0 {
		t.Fatal(errOut)
	}
	store, err := models.OpenSQLite(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	// Writers keep going while the backup runs.
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				done <- n
				return
			default:
			}
			if _, err := store.CreateTeam(context.Background(), models.System, models.TeamInput{Name: fmt.Sprintf("team %d", n)}); err == nil {
				n++
			}
		}
	}()
	out := filepath.Join(dir, "backup.db")
	code, stdout, errOut := runCLI(t, "", "backup", "--db", db, "--out", out)
	close(stop)
	written := <-done
	store.Close()
	if code != 0 || !strings.Contains(stdout, "Backup written") {
		t.Fatalf("backup: %d %q %q", code, stdout, errOut)
	}
	if code, _, _ := runCLI(t, "", "backup", "--db", db, "--out", out); code != 1 {
		t.Fatal("backup overwrote an existing file")
	}
	// The copy is consistent: integrity, intact audit chain, and the admin
	// can sign in on a server started on it.
	copyStore, err := models.OpenSQLite(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := copyStore.Pragma(context.Background(), "integrity_check"); err != nil || v != "ok" {
		t.Fatalf("integrity_check = %q, %v", v, err)
	}
	if res, err := copyStore.VerifyAudit(context.Background()); err != nil || !res.OK() {
		t.Fatalf("audit chain in the copy: %+v, %v", res, err)
	}
	copyStore.Close()
	cfg := web.DefaultConfig()
	cfg.DBPath = out
	srv, err := web.NewServer(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("start on the restored copy: %v", err)
	}
	defer srv.Close()
	resp, err := srv.App().Test(httptest.NewRequest("GET", "/login", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	csrf := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(body)
	if csrf == nil {
		t.Fatal("no login form on the restored copy")
	}
	form := url.Values{"_csrf": {string(csrf[1])}, "email": {"ada@example.com"}, "password": {pw}}
	req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range resp.Cookies() {
		req.AddCookie(ck)
	}
	resp, err = srv.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" {
		t.Fatalf("sign-in on the restored copy: %d", resp.StatusCode)
	}
	t.Logf("%d teams written during the backup", written)
}
