package models

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Prepared statements for the hot reads, on SQLite.
//
// Compiling a statement is a large share of a small query's cost on SQLite
// (about 30% of the server's CPU on GET /api/v1/me), so the reads every
// request makes (token and session lookups, the Users and audit pages) run
// through readDB, whose statements are prepared once per query text and
// kept. database/sql prepares a kept statement again on each pooled
// connection it lands on, the first time only.
//
// Why not gorm's PrepareStmt: it made write transactions fail with
// "database is locked" under concurrent load, after waiting out the whole
// busy_timeout. Its one cache serves transactions and plain reads, and a
// caller that finds a statement still being prepared by another waits for
// it while holding the cache's read lock (which also holds back everyone
// who wants the write lock to add a statement, and then every new reader).
// A plain read preparing a new statement needs a free pool connection. So:
// a write transaction, holding SQLite's write lock, reaches the cache and
// waits, behind that chain, for a plain read's preparation; which waits for
// a connection; the other seven are in BEGIN IMMEDIATE, waiting in the busy
// handler for the write lock. Nobody moves until busy_timeout expires and
// the BEGINs fail with SQLITE_BUSY (code 5, extended code 5): a cycle
// through the write lock, the pool and the cache (goroutine dumps showed
// it; TestPreparedReadsBesideWriters). It also ran migrations, which are
// multi-statement scripts, through prepared statements, which execute only
// their first statement ("no such table" on a new database).
//
// So this cache is only for reads outside transactions, and never makes a
// caller wait for another: each caller that misses prepares for itself,
// holding no lock and no connection while it waits for one; the first to
// finish keeps its statement. Transactions do not see it (readDB's handle
// cannot begin one), Exec is never prepared (mattn/go-sqlite3 does not
// reset an executed statement, which would keep its read snapshot open on
// the connection), and statements are never evicted, so none is closed
// while a query uses it: past maxPreparedReads distinct texts, queries
// just run unprepared.
//
// PostgreSQL keeps its plain handle: pgx caches prepared statements per
// connection itself.
const maxPreparedReads = 256

// stmtCache is a gorm.ConnPool over the *sql.DB that prepares queries once.
type stmtCache struct {
	db    *sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}}
}

// stmt returns the kept statement for query, preparing and keeping it on a
// miss; nil when it cannot (the caller then runs the query unprepared,
// which reports any error in the query itself).
func (c *stmtCache) stmt(ctx context.Context, query string) *sql.Stmt {
	c.mu.RLock()
	st := c.stmts[query]
	full := len(c.stmts) >= maxPreparedReads
	c.mu.RUnlock()
	if st != nil || full {
		return st
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if kept := c.stmts[query]; kept != nil {
		_ = st.Close() // another caller prepared it meanwhile
		return kept
	}
	if c.stmts == nil || len(c.stmts) >= maxPreparedReads { // closed, or full
		_ = st.Close()
		return nil
	}
	c.stmts[query] = st
	return st
}

func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, query, args...)
}

func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, query, args...)
}

// ExecContext is not prepared (see above).
func (c *stmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.db.ExecContext(ctx, query, args...)
}

func (c *stmtCache) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return c.db.PrepareContext(ctx, query)
}

// GetDBConn lets gorm's DB() find the pool.
func (c *stmtCache) GetDBConn() (*sql.DB, error) { return c.db, nil }

// close closes the kept statements; later queries run unprepared.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		_ = st.Close()
	}
	c.stmts = nil
}

// len reports how many statements are kept.
func (c *stmtCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.stmts)
}

// withStmtCache returns a handle on db whose queries go through c. Like
// gorm's own Session(PrepareStmt), it swaps the statement's connection
// pool; having no BeginTx, the handle cannot start a transaction.
func withStmtCache(db *gorm.DB, c *stmtCache) *gorm.DB {
	h := db.Session(&gorm.Session{Context: context.Background()})
	h.Statement.ConnPool = c
	h.Config.ConnPool = c
	return h
}

// readDB is the handle for reads outside transactions: prepared statements
// on SQLite, the plain handle on PostgreSQL. Never use it inside a write
// transaction's function (use its tx).
func (s *Store) readDB(ctx context.Context) *gorm.DB {
	if s.reads == nil {
		return s.db.WithContext(ctx)
	}
	return s.reads.WithContext(ctx)
}

// query runs a read outside transactions. On SQLite it goes straight to the
// kept prepared statement, past gorm's statement building, which on
// GET /api/v1/me cost about as much as running the two queries. Anything
// gorm must rewrite first goes through gorm: PostgreSQL's $n placeholders,
// and arguments other than plain scalars (a slice for IN ? is expanded).
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s.stmts == nil || !plainArgs(args) {
		return s.readDB(ctx).Raw(query, args...).Rows()
	}
	if s.countDirect != nil {
		s.countDirect(query)
	}
	return s.stmts.QueryContext(ctx, query, args...)
}

// plainArgs reports whether every argument is a value the driver binds as
// it is.
func plainArgs(args []any) bool {
	for _, a := range args {
		switch a.(type) {
		case nil, string, []byte, int64, int, bool, float64, time.Time:
		default:
			return false
		}
	}
	return true
}
