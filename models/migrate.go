package models

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Each dialect has its own copy of every migration, with the same version
// and name: the schemas mean the same, spelled for each database.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Migration is one versioned schema change, applied at most once.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the dialect's embedded migrations in version order. File
// names are NNNN_name.sql; a gap or a duplicate version is a programming
// error.
func Migrations(d Dialect) ([]Migration, error) {
	dir := "migrations/" + string(d)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("models: read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".sql")
		if !ok {
			continue
		}
		num, name, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("models: migration %q has no version number", e.Name())
		}
		body, err := fs.ReadFile(migrationFiles, dir+"/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("models: read migration %q: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("models: migration versions must be 1..n without gaps, found %d at position %d", m.Version, i+1)
		}
	}
	return out, nil
}

// migrationLockKey is the PostgreSQL advisory lock held while migrating,
// so replicas starting together apply each migration once.
const migrationLockKey int64 = 0x5741_5244_454e_0001

// Migrate applies every migration newer than the database's version, each
// together with its row in schema_migrations, so a crash mid-way leaves the
// database at a well-defined version. On SQLite each migration is its own
// (immediate, hence exclusive) transaction; on PostgreSQL, whose DDL is
// transactional too, all pending migrations run in one transaction under an
// advisory lock, which a second replica waits for and then finds nothing
// left to do.
func Migrate(ctx context.Context, db *gorm.DB, d Dialect) error {
	migrations, err := Migrations(d)
	if err != nil {
		return err
	}
	db = db.WithContext(ctx)
	if d == Postgres {
		return db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec(`SELECT pg_advisory_xact_lock(?)`, migrationLockKey).Error; err != nil {
				return fmt.Errorf("models: migration lock: %w", err)
			}
			return migrate(tx, d, migrations, func(fn func(*gorm.DB) error) error { return fn(tx) })
		})
	}
	return migrate(db, d, migrations, func(fn func(*gorm.DB) error) error { return db.Transaction(fn) })
}

// beforeMigration holds the data changes SQL cannot make, run in the
// migration's transaction before its SQL, by version.
var beforeMigration = map[int]func(tx *gorm.DB) error{
	9: splitSearchText, // 0009 indexes search_text's words
}

// splitSearchText rewrites every user's search_text as searchText now
// writes it: words without accents.
func splitSearchText(tx *gorm.DB) error {
	for last := int64(0); ; {
		var users []User
		if err := tx.Select("id, name, user_id, email").Where("id > ?", last).Order("id").Limit(1000).Find(&users).Error; err != nil {
			return err
		}
		if len(users) == 0 {
			return nil
		}
		for _, u := range users {
			if err := tx.Exec(`UPDATE users SET search_text = ? WHERE id = ?`, SearchText(u.Name, u.UserID, u.Email), u.ID).Error; err != nil {
				return err
			}
		}
		last = users[len(users)-1].ID
	}
}

// migrate applies the pending migrations, each through inTx.
func migrate(db *gorm.DB, d Dialect, migrations []Migration, inTx func(func(*gorm.DB) error) error) error {
	if err := db.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at ` + d.timestampType() + ` NOT NULL
	)`).Error; err != nil {
		return fmt.Errorf("models: create schema_migrations: %w", err)
	}
	var current int
	if err := db.Raw(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current).Error; err != nil {
		return fmt.Errorf("models: read schema version: %w", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("models: database schema version %d is newer than this binary knows (%d); upgrade Warden", current, len(migrations))
	}
	for _, m := range migrations[current:] {
		err := inTx(func(tx *gorm.DB) error {
			if before := beforeMigration[m.Version]; before != nil {
				if err := before(tx); err != nil {
					return err
				}
			}
			if err := tx.Exec(m.SQL).Error; err != nil {
				return err
			}
			return tx.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, time.Now().UTC()).Error
		})
		if err != nil {
			return fmt.Errorf("models: apply migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// SchemaVersion reports the newest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.WithContext(ctx).Raw(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v).Error
	if err != nil {
		return 0, fmt.Errorf("models: schema version: %w", err)
	}
	return v, nil
}
