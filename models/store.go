package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// Store is Warden's persistence layer. Its methods enforce the business rules
// inside transactions; handlers never touch the ORM directly.
type Store struct {
	db *gorm.DB
	// reads and stmts: prepared statements for reads outside transactions,
	// on SQLite (see readDB); nil on PostgreSQL.
	reads *gorm.DB
	stmts *stmtCache
	// genReader reads the audit log's end for generation, on SQLite; nil
	// on PostgreSQL, where a query through the pool does.
	genReader *genReader
	dialect   Dialect
	now       func() time.Time
	hasher    *PasswordHasher
	lifetime  SessionLifetime
	usage     *usageBuffer
	// writeTurn admits one write transaction of this process at a time,
	// and writersWaiting counts those waiting for it; see exclusive.
	writeTurn      chan struct{}
	writersWaiting atomic.Int64
	// gen counts this process's write transactions; caches of derived
	// values (the overview counts, audit summaries) are valid while the
	// generation (see generation) does not move.
	gen      atomic.Uint64
	overview genCached[Overview]
	teams    genCached[*teamDirectory]
	// countDirect, when set (by tests, before use), is called for every
	// query that bypasses gorm's callbacks (see query).
	countDirect func(query string)
	// auths and details: see token_auth_cache.go.
	auths   genMap[string, keptAuth]
	details genMap[int64, keptDetail]
	// userCounts caches the Users list's total per filter, and the ordered
	// ids of every match of narrow filters, for as long as the generation
	// holds.
	userCounts struct {
		sync.Mutex
		gen   generation
		m     map[string]int64
		lists map[string][]int64
		// listIDs is how many ids lists holds, to bound its memory.
		listIDs int
	}
	// summaries caches period-only audit summaries by period, for as long
	// as no write transaction commits.
	summaries struct {
		sync.Mutex
		gen generation
		m   map[string]AuditSummary
	}
}

// generation identifies a state of the data for caching: this process's
// write count, and the newest audit event id, because other processes write
// too (replicas on PostgreSQL; the command line next to a running server
// on SQLite), and every change writes an event.
type generation struct {
	local  uint64
	events int64
}

// generation reads the current generation: one lookup at the end of the
// audit log's primary key.
func (s *Store) generation(ctx context.Context) (generation, error) {
	g := generation{local: s.gen.Load()}
	if s.genReader != nil {
		if s.countDirect != nil {
			s.countDirect(newestEventQuery)
		}
		var err error
		g.events, err = s.genReader.newestEvent(ctx)
		return g, err
	}
	if _, err := s.scanOne(ctx, []any{&g.events}, newestEventQuery); err != nil {
		return g, fmt.Errorf("models: generation: %w", err)
	}
	return g, nil
}

// Option configures a Store.
type Option func(*Store)

// WithClock replaces the wall clock, so tests can move time forward to check
// expiry rules without sleeping.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// WithPasswordHasher replaces the default Argon2id parameters.
func WithPasswordHasher(h *PasswordHasher) Option {
	return func(s *Store) { s.hasher = h }
}

func newStore(db *gorm.DB, d Dialect, opts ...Option) *Store {
	s := &Store{db: db, dialect: d, now: time.Now, lifetime: SessionLifetime{Idle: DefaultIdleTimeout, Absolute: DefaultAbsoluteTimeout}, usage: newUsageBuffer(),
		writeTurn: make(chan struct{}, 1)}
	for _, o := range opts {
		o(s)
	}
	if s.hasher == nil {
		s.hasher = DefaultPasswordHasher()
	}
	return s
}

// Now returns the store's current time in UTC, truncated to microseconds so
// that a value survives a round trip through the database unchanged.
func (s *Store) Now() time.Time {
	return s.now().UTC().Truncate(time.Microsecond)
}

// WritersWaiting is how many write transactions of this process are
// waiting for their turn (see exclusive), for /metrics.
func (s *Store) WritersWaiting() int64 { return s.writersWaiting.Load() }

// Hasher returns the password hasher the store uses.
func (s *Store) Hasher() *PasswordHasher { return s.hasher }

// Ping checks that the database answers; /readyz uses it.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("models: ping: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("models: ping: %w", err)
	}
	return nil
}

// Close closes the database, checkpointing the WAL.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("models: close: %w", err)
	}
	if s.dialect == SQLite {
		_ = s.db.Exec("PRAGMA optimize").Error
	}
	if s.stmts != nil {
		s.stmts.close()
	}
	if s.genReader != nil {
		s.genReader.close()
	}
	if err := sqlDB.Close(); err != nil {
		return fmt.Errorf("models: close: %w", err)
	}
	return nil
}

// Pragma returns the value of a read-only SQLite pragma; tests use it to check
// the connection settings.
func (s *Store) Pragma(ctx context.Context, name string) (string, error) {
	if s.dialect != SQLite {
		return "", fmt.Errorf("models: pragmas are SQLite's; this store runs on %s", s.dialect)
	}
	switch name {
	case "journal_mode", "foreign_keys", "busy_timeout", "synchronous", "integrity_check":
	default:
		return "", fmt.Errorf("models: pragma %q is not allowed", name)
	}
	var v string
	if err := s.db.WithContext(ctx).Raw("PRAGMA " + name).Scan(&v).Error; err != nil {
		return "", fmt.Errorf("models: pragma %s: %w", name, err)
	}
	return v, nil
}

// ExecForTest runs a raw statement. It exists for tests in other packages
// that must set up states the store's rules would not produce (a deactivated
// admin, a service user before its issue lands); production code never
// calls it.
func (s *Store) ExecForTest(ctx context.Context, sql string, args ...any) error {
	defer s.gen.Add(1)
	return s.db.WithContext(ctx).Exec(sql, args...).Error
}

// Backup writes a consistent copy of the live database to path with VACUUM
// INTO: it reads one snapshot while writers carry on, and the copy is
// compact and needs no WAL. path must not exist yet.
//
// On PostgreSQL the database's own tools do this job (pg_dump, or base
// backups with WAL archiving), so Backup refuses with ErrBackupUnsupported.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.dialect != SQLite {
		return ErrBackupUnsupported
	}
	if err := s.db.WithContext(ctx).Exec("VACUUM INTO ?", path).Error; err != nil {
		return fmt.Errorf("models: backup to %s: %w", path, err)
	}
	return nil
}

// UserByHandle finds a user by user_id (service) or email (human).
func (s *Store) UserByHandle(ctx context.Context, handle string) (*User, error) {
	var u User
	err := s.db.WithContext(ctx).Where("user_id = ? OR email_key = ?", handle, strings.ToLower(strings.TrimSpace(handle))).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("models: user %q: %w", handle, err)
	}
	return &u, nil
}

// TeamByName finds a team by name, ignoring case.
func (s *Store) TeamByName(ctx context.Context, name string) (*Team, error) {
	var t Team
	err := s.db.WithContext(ctx).Where("name_key = ?", teamKey(strings.TrimSpace(name))).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("models: team %q: %w", name, err)
	}
	return &t, nil
}

// Dialect reports which database the store runs on.
func (s *Store) Dialect() Dialect { return s.dialect }

// SQLDB exposes the connection pool for its statistics (/metrics).
func (s *Store) SQLDB() *sql.DB {
	db, _ := s.db.DB()
	return db
}
