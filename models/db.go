// Package models holds Warden's entities, its schema migrations and the Store,
// whose methods are the only place business rules are enforced.
package models

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Open opens the configured database: PostgreSQL when databaseURL is set
// (several replicas may share it), else the SQLite file at path.
func Open(ctx context.Context, path, databaseURL string, opts ...Option) (*Store, error) {
	if databaseURL != "" {
		return OpenPostgres(ctx, databaseURL, opts...)
	}
	return OpenSQLite(ctx, path, opts...)
}

// gormConfig is shared by both databases.
func gormConfig() *gorm.Config {
	return &gorm.Config{
		// Multi-statement operations open their own transactions explicitly;
		// wrapping every single statement in one only costs a round trip.
		SkipDefaultTransaction: true,
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		TranslateError:         true,
	}
}

// sqliteHeapLimit bounds the memory SQLite uses for all its connections,
// page caches included, so the process stays under 100 MB.
const sqliteHeapLimit = 32 << 20

// DefaultDBPath is where `make run` keeps its database when no --db is given.
const DefaultDBPath = "data/warden.db"

// sqliteDSN builds the connection string for mattn/go-sqlite3.
//
// Every connection of the pool gets the same pragmas, which is why they live in
// the DSN instead of being executed once after opening:
//   - WAL lets readers run while one writer commits;
//   - busy_timeout makes a connection wait for the write lock instead of
//     failing at once with "database is locked";
//   - foreign keys are off by default in SQLite and must be enabled per connection;
//   - _txlock=immediate takes the write lock at BEGIN, so two transactions that
//     read and then write cannot deadlock while upgrading their locks (the
//     classic source of SQLITE_BUSY that busy_timeout cannot resolve);
//   - synchronous=NORMAL is durable across application crashes in WAL mode;
//   - cache_size gives each connection 8 MiB of pages instead of 2 MiB, so
//     the Users list's indexes stay in memory (the soft heap limit set in
//     OpenSQLite bounds all connections together);
//   - _loc=UTC reads timestamps back as UTC.
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "on")
	q.Set("_txlock", "immediate")
	q.Set("_synchronous", "NORMAL")
	q.Set("_cache_size", "-8192")
	q.Set("_loc", "UTC")
	return "file:" + path + "?" + q.Encode()
}

// OpenSQLite opens (creating if needed) the SQLite database at path, applies
// pending migrations and returns a ready Store.
func OpenSQLite(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if path == "" {
		return nil, errors.New("models: empty database path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("models: create database directory: %w", err)
		}
	}
	db, err := gorm.Open(sqlite.Open(sqliteDSN(path)), gormConfig())
	if err != nil {
		return nil, fmt.Errorf("models: open %s: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("models: pool: %w", err)
	}
	// One connection per core, at least two: SQLite's reads are CPU-bound, so
	// more connections only queue on the cores (make bench, 2 cores: audit
	// page p99 80 → 52 ms with 2 instead of 4). No caller holds one for long.
	conns := max(2, runtime.GOMAXPROCS(0))
	sqlDB.SetMaxOpenConns(conns)
	sqlDB.SetMaxIdleConns(conns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)

	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("models: open %s: %w", path, err)
	}
	// Process-wide: past this, SQLite reuses cached pages instead of growing.
	if err := db.WithContext(ctx).Exec(fmt.Sprintf("PRAGMA soft_heap_limit = %d", sqliteHeapLimit)).Error; err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("models: open %s: %w", path, err)
	}
	if err := Migrate(ctx, db, SQLite); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	s, err := newStore(ctx, db, SQLite, opts...)
	if err != nil {
		_ = sqlDB.Close()
	}
	return s, err
}

// ParseDatabaseURL checks a PostgreSQL URL (postgres:// or postgresql://)
// without connecting. Its errors never repeat the password.
func ParseDatabaseURL(databaseURL string) (*pgx.ConnConfig, error) {
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("models: the database URL must look like postgres://user:password@host:5432/dbname")
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return nil, errors.New("models: the database URL names no host")
	}
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		// pgx redacts the password in its own message.
		return nil, fmt.Errorf("models: database URL: %w", err)
	}
	return cfg, nil
}

// OpenPostgres connects to PostgreSQL, applies pending migrations and
// returns a ready Store.
//
// Every connection reads times back in UTC (the store compares and hashes
// them as such) and has its session time zone set to UTC. Write
// transactions are serialised by an advisory lock (see Store.exclusive), which
// stands in for SQLite's single writer: the last-admin rule, the deactivation
// guard and the audit hash chain read, decide and write as one step, on
// every replica.
func OpenPostgres(ctx context.Context, databaseURL string, opts ...Option) (*Store, error) {
	cfg, err := ParseDatabaseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["timezone"] = "UTC"
	// As busy_timeout does on SQLite: a writer waits up to 10 s for the
	// writer lock, then fails instead of queueing forever behind a stuck
	// transaction; and a transaction left idle (a bug, a hung replica)
	// cannot hold that lock for more than a minute.
	if cfg.RuntimeParams["lock_timeout"] == "" {
		cfg.RuntimeParams["lock_timeout"] = "10s"
	}
	if cfg.RuntimeParams["idle_in_transaction_session_timeout"] == "" {
		cfg.RuntimeParams["idle_in_transaction_session_timeout"] = "60s"
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "warden"
	}
	sqlDB := stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
		c.TypeMap().RegisterType(&pgtype.Type{
			Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	}))
	// Readers run concurrently on PostgreSQL; writers queue on the lock,
	// each holding a connection while it waits, so the pool leaves room.
	sqlDB.SetMaxOpenConns(16)
	sqlDB.SetMaxIdleConns(16)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	sqlDB.SetConnMaxLifetime(time.Hour)
	where := cfg.Host + "/" + cfg.Database
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("models: connect to %s: %w", where, err)
	}
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), gormConfig())
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("models: open %s: %w", where, err)
	}
	if err := Migrate(ctx, db, Postgres); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	s, err := newStore(ctx, db, Postgres, opts...)
	if err != nil {
		_ = sqlDB.Close()
	}
	return s, err
}
