package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-console/warden/models"
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
		"not host:port":        {"serve", "--addr", "8080"},
		"must be an http(s)":   {"serve", "--base-url", "ftp://x"},
		"trusted-proxies":      {"serve", "--trusted-proxies", "proxy.example"},
		"at least 1m":          {"serve", "--session-idle-timeout", "1s"},
		"go together":          {"serve", "--session-hash-key", "abc"},
		"must be text or json": {"serve", "--log-format", "xml"},
	}
	for want, args := range cases {
		code, _, errOut := runCLI(t, "", args...)
		if code != 2 || !strings.Contains(errOut, want) {
			t.Errorf("%v: code %d, stderr %q; want 2 and %q", args, code, errOut, want)
		}
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
