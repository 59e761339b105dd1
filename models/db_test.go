package models

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMigrateEmptyDatabase(t *testing.T) {
	ctx := context.Background()
	if !onPostgres() {
		// The directory is created on the way.
		path := filepath.Join(t.TempDir(), "nested", "dir", "warden.db")
		s, err := OpenSQLite(ctx, path)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		_ = s.Close()
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("database file not created: %v", err)
		}
	}
	open := testDatabase(t)
	s, err := open()
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	migrations, err := Migrations(s.Dialect())
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != len(migrations) {
		t.Fatalf("schema version = %d, %v; want %d", v, err, len(migrations))
	}
	for _, table := range []string{"users", "teams", "user_teams", "sessions", "settings", "tokens", "audit_events", "audit_daily_actions"} {
		var n int
		if err := s.db.Raw(`SELECT COUNT(*) FROM ` + table).Scan(&n).Error; err != nil {
			t.Errorf("table %s missing: %v", table, err)
		}
	}
	_ = s.Close()

	// Opening again applies nothing twice.
	s, err = open()
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	var rows int
	s.db.Raw(`SELECT COUNT(*) FROM schema_migrations`).Scan(&rows)
	if rows != len(migrations) {
		t.Fatalf("schema_migrations has %d rows, want %d", rows, len(migrations))
	}
}

// TestMigrationsMatchAcrossDialects: each database has its spelling of
// every migration, under the same version and name, so a version means the
// same schema on both.
func TestMigrationsMatchAcrossDialects(t *testing.T) {
	lite, err := Migrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := Migrations(Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) != len(pg) {
		t.Fatalf("SQLite has %d migrations, PostgreSQL %d", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].Version != pg[i].Version || lite[i].Name != pg[i].Name {
			t.Errorf("migration %d: SQLite %04d_%s, PostgreSQL %04d_%s", i+1, lite[i].Version, lite[i].Name, pg[i].Version, pg[i].Name)
		}
	}
}

func TestConnectionPragmas(t *testing.T) {
	sqliteOnly(t)
	s := openTestStore(t)
	ctx := context.Background()
	want := map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000", "synchronous": "1"}
	for name, w := range want {
		got, err := s.Pragma(ctx, name)
		if err != nil || strings.ToLower(got) != w {
			t.Errorf("PRAGMA %s = %q, %v; want %q", name, got, err, w)
		}
	}
	if _, err := s.Pragma(ctx, "writable_schema"); err == nil {
		t.Error("Pragma accepted a name outside its allow-list")
	}
}

func TestForeignKeysEnforced(t *testing.T) {
	s := openTestStore(t)
	err := s.db.Exec(`INSERT INTO user_teams (user_id, team_id) VALUES (999, 1)`).Error
	if err == nil {
		t.Fatal("insert with a dangling user_id succeeded; foreign keys are off")
	}
}

func TestMigrationRefusesNewerSchema(t *testing.T) {
	s := openTestStore(t)
	s.db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', '2030-01-01')`)
	if err := Migrate(context.Background(), s.db, s.Dialect()); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Migrate on a newer schema = %v; want a clear refusal", err)
	}
}

func TestPublicTeamSeededAndProtected(t *testing.T) {
	s := openTestStore(t)
	var team Team
	if err := s.db.Take(&team, PublicTeamID).Error; err != nil {
		t.Fatalf("Public team missing: %v", err)
	}
	if team.Name != "Public" || !team.Builtin {
		t.Fatalf("team 1 = %+v; want the built-in Public team", team)
	}
	if err := s.db.Exec(`DELETE FROM teams WHERE id = ?`, PublicTeamID).Error; err == nil {
		t.Error("deleting the Public team succeeded")
	}
	if err := s.db.Exec(`UPDATE teams SET name = 'Everyone', name_key = 'everyone' WHERE id = ?`, PublicTeamID).Error; err == nil {
		t.Error("renaming the Public team succeeded")
	}
	if err := s.db.Exec(`UPDATE teams SET description = 'All of us' WHERE id = ?`, PublicTeamID).Error; err != nil {
		t.Errorf("describing the Public team failed: %v", err)
	}
}

func TestSessionKeysStableAcrossRestart(t *testing.T) {
	ctx := context.Background()
	open := testDatabase(t)
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	h1, b1, err := s.SessionKeys(ctx)
	if err != nil || len(h1) < 64 || len(b1) < 32 {
		t.Fatalf("keys = %q, %q, %v", h1, b1, err)
	}
	s.Close()
	s, err = open()
	if err != nil {
		t.Fatal(err)
	}
	h2, b2, err := s.SessionKeys(ctx)
	if err != nil || h1 != h2 || b1 != b2 {
		t.Fatal("session keys changed across a restart")
	}
}
