package models

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/warden-console/warden/models/pgtest"
)

// The store tests run against SQLite by default and against PostgreSQL
// with WARDEN_TEST_DB=postgres (`make test` runs both). pgServer is the
// PostgreSQL server of the second kind of run.
var pgServer *pgtest.Server

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if os.Getenv("WARDEN_TEST_DB") == "postgres" {
		srv, err := pgtest.Start(context.Background())
		if err != nil {
			fmt.Fprintln(os.Stderr, "models tests on PostgreSQL:", err)
			if pgtest.Required() {
				return 1
			}
			fmt.Fprintln(os.Stderr, "SKIPPED: the PostgreSQL run of the store tests (install postgresql to run it)")
			return 0
		}
		defer srv.Stop()
		// Migrate once into a template; each test's database is a copy.
		tmpl, err := srv.NewDatabase(context.Background(), "template")
		if err == nil {
			var st *Store
			if st, err = OpenPostgres(context.Background(), tmpl); err == nil {
				err = st.Close()
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "models tests on PostgreSQL: template:", err)
			return 1
		}
		srv.Template = pgtest.DatabaseName(tmpl)
		pgServer = srv
	}
	return m.Run()
}

// onPostgres reports whether this run's stores are PostgreSQL ones.
func onPostgres() bool { return pgServer != nil }

// raceRounds is how many fresh databases a race test plays on: 100 files,
// or 40 PostgreSQL databases (each costs a CREATE DATABASE, ~0.3 s).
func raceRounds() int {
	if onPostgres() {
		return 40
	}
	return 100
}

// sqliteOnly skips a test about SQLite itself (pragmas, files, its SQL).
func sqliteOnly(t *testing.T) {
	t.Helper()
	if onPostgres() {
		t.Skip("about SQLite itself")
	}
}

// testClock is a settable clock for expiry tests.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
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

// testHasher keeps Argon2id real but small, so store tests stay quick; the
// production parameters have their own test.
var testHasher = NewPasswordHasher(1024, 1, 1)

func openTestStore(t *testing.T, opts ...Option) *Store {
	t.Helper()
	s, err := testDatabase(t)(opts...)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	return s
}

// testDatabase makes a fresh, empty database of this run's kind (a file in
// a temporary directory, or a database on the PostgreSQL server) and returns
// a function that opens a store on it; calling it again reopens the same
// database. Stores are closed when the test ends.
func testDatabase(t *testing.T) func(opts ...Option) (*Store, error) {
	t.Helper()
	ctx := context.Background()
	open := func(opts []Option) (*Store, error) {
		path := filepath.Join(t.TempDir(), "warden.db")
		return OpenSQLite(ctx, path, opts...)
	}
	if onPostgres() {
		dbURL, err := pgServer.NewDatabase(ctx, t.Name())
		if err != nil {
			t.Fatalf("create database: %v", err)
		}
		t.Cleanup(func() { _ = pgServer.DropDatabase(ctx, dbURL) })
		open = func(opts []Option) (*Store, error) { return OpenPostgres(ctx, dbURL, opts...) }
	} else {
		path := filepath.Join(t.TempDir(), "warden.db")
		open = func(opts []Option) (*Store, error) { return OpenSQLite(ctx, path, opts...) }
	}
	return func(opts ...Option) (*Store, error) {
		s, err := open(append([]Option{WithPasswordHasher(testHasher)}, opts...))
		if err == nil {
			t.Cleanup(func() { _ = s.Close() })
		}
		return s, err
	}
}

// twoStores opens two stores on one fresh database, as two replicas (or a
// server and the command line) would; opts apply to both.
func twoStores(t *testing.T, opts ...Option) (*Store, *Store) {
	t.Helper()
	open := testDatabase(t)
	var stores [2]*Store
	for i := range stores {
		s, err := open(opts...)
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = s
	}
	return stores[0], stores[1]
}

const testPassword = "violet kettle on a windy ridge"

func mustAdmin(t *testing.T, s *Store, email string) *User {
	t.Helper()
	u, err := s.CreateHumanAdmin(context.Background(), NewHuman{
		Name: "Ada Admin", Email: email, Password: testPassword, Confirm: testPassword,
	})
	if err != nil {
		t.Fatalf("create admin: %v", err)
	}
	return u
}
