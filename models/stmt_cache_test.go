package models

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

// TestPreparedReadsBesideWriters mixes reads through the prepared-statement
// cache, which keep preparing new statements, with write transactions, on a
// pool small enough that the writers waiting in BEGIN IMMEDIATE can hold
// every other connection. gorm's PrepareStmt deadlocked here: a transaction
// holding the write lock waited, in gorm's statement cache, for a plain
// read's preparation, which waited for a connection, held by writers
// waiting for the write lock, until busy_timeout (10 s) failed them with
// "database is locked". No operation may fail or stall.
func TestPreparedReadsBesideWriters(t *testing.T) {
	sqliteOnly(t)
	s := openTestStore(t)
	ctx := context.Background()
	svc := mustService(t, s, "Airflow")
	_, token := mustToken(t, s, svc.ID, "airflow-prod", Expiry{Days: 90})
	sqlDB, err := s.db.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.SetMaxOpenConns(3)
	sqlDB.SetMaxIdleConns(3)

	const stall = 5 * time.Second // well under busy_timeout
	duration := 2 * time.Second
	if testing.Short() {
		duration = 500 * time.Millisecond
	}
	deadline := time.Now().Add(duration)
	var (
		wg           sync.WaitGroup
		mu           sync.Mutex
		problems     []string
		reads, write int
	)
	report := func(what string, took time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil || took > stall {
			problems = append(problems, fmt.Sprintf("%s: %v after %v", what, err, took))
		}
	}
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for n := 0; time.Now().Before(deadline); n++ {
				start := time.Now()
				err := s.RecordEvent(ctx, System, "maintenance.run", OutcomeSuccess, "", "", 0, fmt.Sprintf("w%d n%d", w, n))
				report("write", time.Since(start), err)
				mu.Lock()
				write++
				mu.Unlock()
			}
		}(w)
	}
	for r := 0; r < 6; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			for n := 0; time.Now().Before(deadline); n++ {
				start := time.Now()
				// A new query text every few milliseconds, the same for
				// every reader: preparations, which readers wait for.
				var v int64
				text := fmt.Sprintf("SELECT COUNT(*) + %d FROM audit_events", time.Now().UnixMilli()/5%1000)
				err := s.readDB(ctx).Raw(text).Scan(&v).Error
				if err == nil {
					_, err = s.AuthenticateToken(ctx, token)
				}
				if err == nil {
					_, err = s.ListUsers(ctx, UserQuery{Sort: SortName, Page: 1, PerPage: 1 + n%60})
				}
				report("read", time.Since(start), err)
				mu.Lock()
				reads++
				mu.Unlock()
			}
		}(r)
	}
	wg.Wait()
	t.Logf("%d reads, %d writes; %d statements kept", reads, write, s.stmts.len())
	if len(problems) > 0 {
		t.Fatalf("%d failed or stalled operations, first: %s", len(problems), problems[0])
	}
	if s.stmts.len() == 0 {
		t.Error("no prepared statement was kept")
	}
	if res, err := s.VerifyAudit(ctx); err != nil || !res.OK() {
		t.Errorf("audit chain: %+v %v", res, err)
	}
	// A kept statement is reset after each query, so no pooled connection
	// keeps a read snapshot open: the whole WAL can be checkpointed.
	var busy, walPages, moved int64
	if err := s.db.Raw("PRAGMA wal_checkpoint(TRUNCATE)").Row().Scan(&busy, &walPages, &moved); err != nil || busy != 0 {
		t.Errorf("wal_checkpoint(TRUNCATE): busy=%d (%d/%d pages) %v", busy, moved, walPages, err)
	}
}

// The cache keeps at most maxPreparedReads statements, never evicting one
// (a statement in use would be closed); past that, queries run unprepared.
func TestStmtCacheBounded(t *testing.T) {
	sqliteOnly(t)
	s := openTestStore(t)
	ctx := context.Background()
	for i := 0; i < maxPreparedReads+20; i++ {
		var v int64
		if err := s.readDB(ctx).Raw(fmt.Sprintf("SELECT %d", i)).Scan(&v).Error; err != nil || v != int64(i) {
			t.Fatalf("SELECT %d: %d %v", i, v, err)
		}
	}
	if n := s.stmts.len(); n != maxPreparedReads {
		t.Errorf("%d statements kept, want %d", n, maxPreparedReads)
	}
	// The read handle cannot open a transaction.
	if err := s.reads.Transaction(func(*gorm.DB) error { return nil }); err == nil {
		t.Error("a transaction began on the read handle")
	}
	// Closed, the cache keeps nothing and queries still answer.
	s.stmts.close()
	var v int64
	if err := s.readDB(ctx).Raw("SELECT 7").Scan(&v).Error; err != nil || v != 7 || s.stmts.len() != 0 {
		t.Errorf("after close: %d %v, %d kept", v, err, s.stmts.len())
	}
}

// BenchmarkHotReads times GET /api/v1/me's store work (SQLite; a small
// database): with the data changed since the last request (the generation,
// the token with its user, the detail and the soonest expiry are read), and
// unchanged (the generation only; see token_auth_cache.go).
func BenchmarkHotReads(b *testing.B) {
	dir := b.TempDir()
	s, err := OpenSQLite(context.Background(), dir+"/warden.db", WithPasswordHasher(testHasher))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	svc, err := s.CreateServiceUser(ctx, System, NewServiceUser{Name: "Airflow", Role: RoleMember})
	if err != nil {
		b.Fatal(err)
	}
	_, secret, err := s.GenerateToken(ctx, System, svc.ID, NewToken{Name: "t", Expiry: Expiry{Days: 30}})
	if err != nil {
		b.Fatal(err)
	}
	for _, changed := range []bool{true, false} {
		b.Run(fmt.Sprintf("me/changed=%v", changed), func(b *testing.B) {
			for b.Loop() {
				if changed {
					s.gen.Add(1) // as a write by this process would
				}
				auth, err := s.AuthenticateToken(ctx, secret)
				if err == nil {
					_, _, err = s.CallerDetail(ctx, auth)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
