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
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

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
//   - _loc=UTC reads timestamps back as UTC.
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "on")
	q.Set("_txlock", "immediate")
	q.Set("_synchronous", "NORMAL")
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
	db, err := gorm.Open(sqlite.Open(sqliteDSN(path)), &gorm.Config{
		// Multi-statement operations open their own transactions explicitly;
		// wrapping every single statement in one only costs a round trip.
		SkipDefaultTransaction: true,
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		TranslateError:         true,
	})
	if err != nil {
		return nil, fmt.Errorf("models: open %s: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("models: pool: %w", err)
	}
	// SQLite has one writer at a time; a modest pool keeps readers concurrent
	// without piling up connections that only wait on busy_timeout.
	sqlDB.SetMaxOpenConns(8)
	sqlDB.SetMaxIdleConns(8)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)

	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("models: open %s: %w", path, err)
	}
	if err := Migrate(ctx, db); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	// Not gorm's PrepareStmt: under load it made write transactions fail
	// with "database is locked" at once instead of waiting (the load test
	// catches it), and it did not make the API measurably faster.
	return newStore(db, opts...), nil
}
