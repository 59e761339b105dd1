package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-console/warden/models/pgtest"
)

// TestCLIOnPostgres: the commands take --database-url like serve does:
// bootstrap an admin, a service user and a token, verify the log; backup
// says to use PostgreSQL's own tools instead of failing obscurely.
func TestCLIOnPostgres(t *testing.T) {
	ctx := context.Background()
	srv, err := pgtest.Start(ctx)
	if err != nil {
		if errors.Is(err, pgtest.ErrUnavailable) && !pgtest.Required() {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	dbURL, err := srv.NewDatabase(ctx, "cli")
	if err != nil {
		t.Fatal(err)
	}
	db := []string{"--database-url", dbURL}

	if code, out, errOut := runCLI(t, "correct horse battery staple 42\n", append([]string{"admin", "create", "--email", "ada@example.com", "--name", "Ada", "--password-stdin"}, db...)...); code != 0 {
		t.Fatalf("admin create: %d %q %q", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "", append([]string{"users", "create-service", "--name", "Nightly ETL", "--role", "member"}, db...)...); code != 0 || !strings.Contains(out, "nightly_etl@service") {
		t.Fatalf("users create-service: %d %q %q", code, out, errOut)
	}
	code, out, errOut := runCLI(t, "", append([]string{"tokens", "create", "--user", "nightly_etl@service", "--name", "prod"}, db...)...)
	if code != 0 || !strings.HasPrefix(strings.TrimSpace(out), "wdn_") {
		t.Fatalf("tokens create: %d %q %q", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "", append([]string{"audit", "verify"}, db...)...); code != 0 || !strings.Contains(out, "OK: 3 events") {
		t.Fatalf("audit verify: %d %q %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "", append([]string{"backup", "--out", filepath.Join(t.TempDir(), "copy.db")}, db...)...)
	if code != 1 || !strings.Contains(errOut, "pg_dump") {
		t.Errorf("backup on PostgreSQL: %d %q; want 1 and a pointer to pg_dump", code, errOut)
	}
}
