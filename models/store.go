package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Store is Warden's persistence layer. Its methods enforce the business rules
// inside transactions; handlers never touch the ORM directly.
type Store struct {
	db         *gorm.DB
	dialect    Dialect
	now        func() time.Time
	hasher     *PasswordHasher
	lifetime   SessionLifetime
	usage      *usageBuffer  // see token_usage.go
	turns      writeTurns    // see tx.go
	auths      authCache     // see token_auth_cache.go
	ipRefusals ipRefusalLog  // see token_ip.go
	counts     tokenCounts   // see token_overview.go
	revStmt    *sql.Stmt     // reads data_revision, prepared once: every API request does
	webhooks   WebhookConfig // see webhooks.go
	// outboxFilled says the running write transaction queued a delivery;
	// webhookWake then tells a worker of this process once it commits.
	outboxFilled bool
	webhookWake  chan struct{}
	email        *EmailConfig  // see email.go; nil: no emails
	emailWake    chan struct{} // a sweep that queued emails wakes the email worker
	// passwordLogin is --password-login and --allow-break-glass (user_sso.go).
	passwordLogin PasswordLogin
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

func newStore(ctx context.Context, db *gorm.DB, d Dialect, opts ...Option) (*Store, error) {
	s := &Store{db: db, dialect: d, now: time.Now, usage: newUsageBuffer(), turns: newWriteTurns(), webhookWake: make(chan struct{}, 1), emailWake: make(chan struct{}, 1),
		lifetime: SessionLifetime{Idle: DefaultIdleTimeout, Absolute: DefaultAbsoluteTimeout}, passwordLogin: PasswordLogin{Enabled: true}}
	for _, o := range opts {
		o(s)
	}
	if s.hasher == nil {
		s.hasher = DefaultPasswordHasher()
	}
	var err error
	if s.revStmt, err = s.SQLDB().PrepareContext(ctx, `SELECT n FROM data_revision WHERE id = 1`); err != nil {
		return nil, fmt.Errorf("models: prepare: %w", err)
	}
	return s, nil
}

// Now returns the store's current time in UTC, truncated to microseconds so
// that a value survives a round trip through the database unchanged.
func (s *Store) Now() time.Time {
	return s.now().UTC().Truncate(time.Microsecond)
}

// Dialect reports which database the store runs on.
func (s *Store) Dialect() Dialect { return s.dialect }

// SQLDB exposes the connection pool for its statistics (/metrics).
func (s *Store) SQLDB() *sql.DB {
	db, _ := s.db.DB()
	return db
}

// Ping checks that the database answers; /readyz uses it.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.SQLDB().PingContext(ctx); err != nil {
		return fmt.Errorf("models: ping: %w", err)
	}
	return nil
}

// Close closes the database, checkpointing the WAL.
func (s *Store) Close() error {
	s.waitUseWrites()
	if s.dialect == SQLite {
		_ = s.db.Exec("PRAGMA optimize").Error
	}
	_ = s.revStmt.Close()
	if err := s.SQLDB().Close(); err != nil {
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
// admin, a change made behind Warden's back); production code never calls it.
func (s *Store) ExecForTest(ctx context.Context, sql string, args ...any) error {
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
