// Package pgtest gives tests a real PostgreSQL server: the one named by
// WARDEN_TEST_POSTGRES_URL, or else a throwaway cluster started from the
// PostgreSQL binaries on the machine (Debian's postgresql package puts them
// in /usr/lib/postgresql/N/bin). Each test gets its own database on it.
//
// Set WARDEN_REQUIRE_POSTGRES=1 (CI does) to turn "no PostgreSQL here" from a
// skip into a failure.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrUnavailable means neither a server URL nor PostgreSQL binaries were found.
var ErrUnavailable = errors.New("pgtest: no PostgreSQL: set WARDEN_TEST_POSTGRES_URL or install Debian's postgresql package")

// Required reports whether a missing PostgreSQL must fail the tests.
func Required() bool { return os.Getenv("WARDEN_REQUIRE_POSTGRES") == "1" }

// Server is a PostgreSQL server the tests may create databases on.
type Server struct {
	// Template, when set, is the database new ones are copied from (one
	// that already has the schema: copying beats migrating every time).
	Template string

	admin  *url.URL // a superuser connection to the "postgres" database
	dir    string   // the throwaway cluster's directory, "" for an external server
	pgCtl  []string // how to run pg_ctl (as the postgres user when we are root)
	nextDB atomic.Int64
}

// Start connects to WARDEN_TEST_POSTGRES_URL, or starts a throwaway cluster.
func Start(ctx context.Context) (*Server, error) {
	if raw := os.Getenv("WARDEN_TEST_POSTGRES_URL"); raw != "" {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("pgtest: WARDEN_TEST_POSTGRES_URL: %w", err)
		}
		s := &Server{admin: u}
		return s, s.ping(ctx)
	}
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	return startCluster(ctx, bin)
}

// binDir finds initdb and pg_ctl: WARDEN_PG_BIN, Debian's layout (newest
// version first), or PATH.
func binDir() (string, error) {
	if d := os.Getenv("WARDEN_PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", ErrUnavailable
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// startCluster runs initdb into a temporary directory and starts the server
// on a free loopback port, tuned for tests (no fsync: a crash loses a test
// database, nothing else).
func startCluster(ctx context.Context, bin string) (*Server, error) {
	// As root the cluster runs as postgres, which must be able to reach its
	// directory: /tmp rather than a TMPDIR that may be private to root.
	parent := ""
	if os.Geteuid() == 0 {
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, "warden-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{dir: dir}
	// PostgreSQL refuses to run as root; CI runs as root, so the cluster
	// belongs to the postgres account the Debian package creates.
	var as []string
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: running as root needs the postgres account: %w", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
		as = []string{"runuser", "-u", "postgres", "--"}
	}
	run := func(name string, args ...string) error {
		argv := append(append(append([]string{}, as...), filepath.Join(bin, name)), args...)
		out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("pgtest: %s: %w\n%s", name, err, out)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := run("initdb", "-D", data, "-U", "warden", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	opts := strings.Join([]string{
		"-c listen_addresses=127.0.0.1", "-p " + strconv.Itoa(port), "-k " + dir,
		"-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
		"-c max_connections=300", "-c shared_buffers=64MB",
	}, " ")
	s.pgCtl = append(append([]string{}, as...), filepath.Join(bin, "pg_ctl"))
	if err := run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "server.log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s.admin = &url.URL{Scheme: "postgres", User: url.User("warden"), Host: "127.0.0.1:" + strconv.Itoa(port), Path: "/postgres", RawQuery: "sslmode=disable"}
	if err := s.ping(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) ping(ctx context.Context) error {
	return s.exec(ctx, "SELECT 1")
}

func (s *Server) exec(ctx context.Context, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.admin.String())
	if err != nil {
		return fmt.Errorf("pgtest: connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("pgtest: %s: %w", sql, err)
	}
	return nil
}

// NewDatabase creates an empty database and returns its URL. The database
// is named after prefix and a sequence number, unique for this process.
func (s *Server) NewDatabase(ctx context.Context, prefix string) (string, error) {
	name := fmt.Sprintf("%s_%d_%d", sanitize(prefix), os.Getpid(), s.nextDB.Add(1))
	create := `CREATE DATABASE "` + name + `"`
	if s.Template != "" {
		create += ` TEMPLATE "` + s.Template + `"`
	}
	if err := s.exec(ctx, create); err != nil {
		return "", err
	}
	u := *s.admin
	u.Path = "/" + name
	return u.String(), nil
}

// DatabaseName is the database of a URL made by NewDatabase.
func DatabaseName(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

// DropDatabase removes a database made by NewDatabase, ending its sessions.
func (s *Server) DropDatabase(ctx context.Context, dbURL string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return s.exec(ctx, `DROP DATABASE IF EXISTS "`+strings.TrimPrefix(u.Path, "/")+`" WITH (FORCE)`)
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	if len(out) > 40 {
		out = out[:40]
	}
	return out
}

// Stop shuts a throwaway cluster down and deletes it; an external server is
// left alone.
func (s *Server) Stop() {
	if s == nil || s.dir == "" {
		return
	}
	argv := append(append([]string{}, s.pgCtl...), "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop")
	_ = exec.Command(argv[0], argv[1:]...).Run()
	_ = os.RemoveAll(s.dir)
}
