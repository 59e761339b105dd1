package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// newestEventQuery is the audit log's side of the generation: one step to
// the end of its primary key.
const newestEventQuery = `SELECT COALESCE(MAX(id), 0) FROM audit_events`

// genReader reads the newest audit event id for Store.generation on SQLite,
// which every API request and console page does first. It keeps a
// connection of its own and runs its prepared statement through the driver
// directly: database/sql's pool, locks and row conversion cost as much as
// the query itself, and on GET /api/v1/me this read is most of the work
// left once the token is kept (see token_auth_cache.go).
//
// One read runs at a time, and callers share reads: a caller may take the
// answer of a read that started after the caller arrived (so it sees every
// write committed before the request came), and otherwise reads for itself.
// The arrival ticket makes "started after": a read takes a ticket before it
// runs, and a caller holding an older ticket may use it.
type genReader struct {
	db      *sql.DB
	tickets atomic.Uint64

	mu     sync.Mutex
	conn   *sql.Conn
	stmt   driver.Stmt
	dest   []driver.Value
	readAt uint64 // the ticket of the newest finished read
	last   int64
	closed bool
}

func newGenReader(db *sql.DB) *genReader {
	return &genReader{db: db, dest: make([]driver.Value, 1)}
}

// newestEvent returns the newest audit event id as of a moment after the
// call began.
func (r *genReader) newestEvent(ctx context.Context) (int64, error) {
	arrived := r.tickets.Load()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.readAt > arrived {
		return r.last, nil
	}
	ticket := r.tickets.Add(1)
	v, err := r.read(ctx)
	if err != nil {
		r.reset()
		return 0, fmt.Errorf("models: generation: %w", err)
	}
	r.last, r.readAt = v, ticket
	return v, nil
}

// read runs the query on the reader's connection, opening it and preparing
// the statement the first time.
func (r *genReader) read(ctx context.Context) (int64, error) {
	if r.closed {
		return 0, errors.New("store closed")
	}
	if r.conn == nil {
		conn, err := r.db.Conn(ctx)
		if err != nil {
			return 0, err
		}
		r.conn = conn
	}
	var v int64
	err := r.conn.Raw(func(dc any) error {
		if r.stmt == nil {
			st, err := dc.(driver.Conn).Prepare(newestEventQuery)
			if err != nil {
				return err
			}
			r.stmt = st
		}
		// No context: the read is one step, and mattn/go-sqlite3 starts a
		// goroutine per query to watch a cancellable one.
		rows, err := r.stmt.(driver.StmtQueryContext).QueryContext(context.Background(), nil)
		if err != nil {
			return err
		}
		if err := rows.Next(r.dest); err != nil {
			_ = rows.Close()
			if errors.Is(err, io.EOF) {
				return errors.New("no row")
			}
			return err
		}
		n, ok := r.dest[0].(int64)
		if !ok {
			_ = rows.Close()
			return fmt.Errorf("newest event id is %T", r.dest[0])
		}
		v = n
		return rows.Close() // resets the statement: ends the read transaction
	})
	return v, err
}

// reset drops the connection after an error; the next read opens another.
func (r *genReader) reset() {
	if r.stmt != nil {
		_ = r.conn.Raw(func(any) error { return r.stmt.Close() })
		r.stmt = nil
	}
	if r.conn != nil {
		_ = r.conn.Close()
		r.conn = nil
	}
}

// close releases the connection; later reads fail.
func (r *genReader) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reset()
	r.closed = true
}
