package models

// Test-only bulk seeding: large, realistic users and audit logs written in
// seconds, for the benchmarks and for tests that need volume. Rows go in
// through prepared multi-row INSERTs, fifty thousand rows per transaction,
// on one connection of the store's own pool.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

const (
	seedRowsPerStatement = 500    // rows per INSERT: 19 columns × 500 stays below SQLite's 32766 variables
	seedRowsPerTx        = 50_000 // rows per transaction
	seedCacheKiB         = 256 * 1024
	// seeds of at least this many events rebuild the log's indexes at the end
	seedRebuildIndexesFrom = 100_000
)

// seedConn is one connection of the store's pool, set up for bulk loading:
// a large page cache (which also bounds the sorter that builds indexes),
// sorter worker threads, and no fsync (the database is scratch). done
// restores the connection's settings before it returns to the pool, so
// the queries measured later run as the store would run them.
func seedConn(tb testing.TB, s *Store) (*sql.Conn, func()) {
	tb.Helper()
	ctx := context.Background()
	sqlDB, err := s.db.DB()
	if err != nil {
		tb.Fatalf("seed: pool: %v", err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		tb.Fatalf("seed: conn: %v", err)
	}
	settings := []struct {
		pragma string
		value  int64
		was    int64
	}{{"cache_size", -seedCacheKiB, 0}, {"threads", 2, 0}, {"synchronous", 0, 0}}
	for i := range settings {
		p := &settings[i]
		if err := conn.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(&p.was); err != nil {
			tb.Fatalf("seed: %s: %v", p.pragma, err)
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA %s = %d", p.pragma, p.value)); err != nil {
			tb.Fatalf("seed: %s: %v", p.pragma, err)
		}
	}
	return conn, func() {
		for _, p := range settings {
			_, _ = conn.ExecContext(ctx, fmt.Sprintf("PRAGMA %s = %d", p.pragma, p.was))
		}
		_ = conn.Close()
	}
}

// seedTx is the open transaction the bulk inserters of one seed share; it
// commits every seedRowsPerTx rows.
type seedTx struct {
	ctx       context.Context
	conn      *sql.Conn
	tx        *sql.Tx
	rows      int
	inserters []*bulkInsert
}

func newSeedTx(conn *sql.Conn) *seedTx { return &seedTx{ctx: context.Background(), conn: conn} }

func (t *seedTx) begin() (*sql.Tx, error) {
	if t.tx == nil {
		tx, err := t.conn.BeginTx(t.ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("seed: begin: %w", err)
		}
		t.tx = tx
	}
	return t.tx, nil
}

// maybeCommit commits once the transaction holds enough rows; call it
// between complete items (a user and its memberships).
func (t *seedTx) maybeCommit() error {
	if t.rows < seedRowsPerTx {
		return nil
	}
	return t.commit()
}

// commit writes what every inserter buffered, parents first, and commits.
func (t *seedTx) commit() error {
	for _, b := range t.inserters {
		if err := b.flush(); err != nil {
			return err
		}
	}
	if t.tx == nil {
		return nil
	}
	for _, b := range t.inserters {
		if b.stmt != nil {
			_ = b.stmt.Close()
			b.stmt = nil
		}
	}
	err := t.tx.Commit()
	t.tx, t.rows = nil, 0
	if err != nil {
		return fmt.Errorf("seed: commit: %w", err)
	}
	return nil
}

// abort rolls back the open transaction after an error.
func (t *seedTx) abort() {
	if t.tx != nil {
		_ = t.tx.Rollback()
		t.tx = nil
	}
	for _, b := range t.inserters {
		b.stmt = nil
	}
}

// bulkInsert writes rows into one table through a prepared multi-row
// INSERT of seedRowsPerStatement rows. Values are bound like the store binds
// them (mattn/go-sqlite3 turns a time.Time into its text form), so what
// lands in the table is what the store would have written.
type bulkInsert struct {
	t      *seedTx
	table  string
	cols   []string
	parent *bulkInsert // flushed first: its rows are referenced by ours
	stmt   *sql.Stmt   // the full-batch INSERT, prepared in the open transaction
	args   []any
	rows   int // rows in args
}

func (t *seedTx) inserter(parent *bulkInsert, table string, cols ...string) *bulkInsert {
	b := &bulkInsert{t: t, table: table, cols: cols, parent: parent, args: make([]any, 0, seedRowsPerStatement*len(cols))}
	t.inserters = append(t.inserters, b)
	return b
}

func (b *bulkInsert) sql(rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(b.cols)), ",") + ")"
	return "INSERT INTO " + b.table + " (" + strings.Join(b.cols, ", ") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

// add buffers one row; its values must be in the order of cols.
func (b *bulkInsert) add(vals ...any) error {
	if len(vals) != len(b.cols) {
		return fmt.Errorf("seed: %s: %d values for %d columns", b.table, len(vals), len(b.cols))
	}
	b.args = append(b.args, vals...)
	b.rows++
	if b.rows == seedRowsPerStatement {
		return b.flush()
	}
	return nil
}

// flush writes the buffered rows in the open transaction, after the parent's.
func (b *bulkInsert) flush() error {
	if b.parent != nil {
		if err := b.parent.flush(); err != nil {
			return err
		}
	}
	if b.rows == 0 {
		return nil
	}
	if err := b.exec(b.args); err != nil {
		return err
	}
	b.rows, b.args = 0, b.args[:0]
	return nil
}

// exec inserts the rows whose values args holds, one row after the other.
func (b *bulkInsert) exec(args []any) error {
	rows := len(args) / len(b.cols)
	tx, err := b.t.begin()
	if err != nil {
		return err
	}
	if rows == seedRowsPerStatement {
		if b.stmt == nil {
			if b.stmt, err = tx.PrepareContext(b.t.ctx, b.sql(rows)); err != nil {
				return fmt.Errorf("seed: %s: prepare: %w", b.table, err)
			}
		}
		_, err = b.stmt.ExecContext(b.t.ctx, args...)
	} else {
		_, err = tx.ExecContext(b.t.ctx, b.sql(rows), args...)
	}
	if err != nil {
		return fmt.Errorf("seed: insert into %s: %w", b.table, err)
	}
	b.t.rows += rows
	return nil
}

// nullable turns a zero id into SQL NULL.
func nullable(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullableTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

var (
	seedServicePrefixes = []string{"Deploy", "Billing", "Sync", "Backup", "Report", "Ingest", "Alert", "Cache",
		"Search", "Payments", "Metrics", "Mailer", "Export", "Import", "Audit", "Scheduler"}
	seedServiceWords = []string{"bot", "service", "worker", "job", "pipeline"}
	seedFirstNames   = []string{"Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Alan", "Radia",
		"Edsger", "Hedy", "Donald", "Karen", "Leslie", "Joan", "Tim", "Sophie", "John", "Mary"}
	seedLastNames = []string{"Lovelace", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen",
		"Turing", "Perlman", "Dijkstra", "Lamarr", "Knuth", "Spärck Jones", "Lamport", "Clarke", "Berners-Lee", "Wilson"}
)

// seedTeamName names a seeded team after its id.
func seedTeamName(id int64) string { return fmt.Sprintf("Seed team %02d", id) }

// seedUsers inserts n users (19 in 20 service users, the rest people) into
// `teams` new teams, as the store would write them: every user in Public plus
// zero to three of the new teams, team_count and search_text filled in,
// service user_ids derived from unique names. Ids continue after the highest
// existing one. It returns the new teams' ids.
func seedUsers(tb testing.TB, s *Store, n, teams int) []int64 {
	tb.Helper()
	start := time.Now()
	ctx := context.Background()
	conn, done := seedConn(tb, s)
	defer done()
	var maxUser, maxTeam int64
	if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM users`).Scan(&maxUser); err != nil {
		tb.Fatalf("seed users: %v", err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM teams`).Scan(&maxTeam); err != nil {
		tb.Fatalf("seed users: %v", err)
	}
	now := s.Now()
	rng := rand.New(rand.NewPCG(uint64(maxUser)+1, uint64(n)))

	tx := newSeedTx(conn)
	fail := func(err error) {
		tx.abort()
		tb.Fatal(err)
	}
	// Parents flush before children, so foreign keys hold at every statement.
	teamRows := tx.inserter(nil, "teams", "id", "name", "name_key", "description", "builtin", "created_at", "updated_at")
	users := tx.inserter(teamRows, "users", "id", "kind", "name", "user_id", "email", "email_key", "role", "status",
		"description", "owner_user_id", "owner_team_id", "last_active_at", "created_by", "created_at", "updated_at",
		"deactivated_at", "team_count", "search_text")
	members := tx.inserter(users, "user_teams", "user_id", "team_id")
	teamIDs := make([]int64, teams)
	for i := range teams {
		id := maxTeam + int64(i) + 1
		teamIDs[i] = id
		name := seedTeamName(id)
		created := now.Add(-time.Duration(3*365-i) * 24 * time.Hour)
		if err := teamRows.add(id, name, teamKey(name), "Seeded for benchmarks.", 0, created, created); err != nil {
			fail(err)
		}
	}
	span := 3 * 365 * 24 * time.Hour
	var lastHuman int64
	picked := make([]int64, 0, 3)
	for i := range n {
		id := maxUser + int64(i) + 1
		created := now.Add(-span + time.Duration(int64(span)/int64(n)*int64(i))).Truncate(time.Microsecond)
		var (
			kind                 = KindService
			name                 string
			userID, email, key   any
			uid, mail            *string
			role                 = RoleMember
			ownerUser, ownerTeam int64
			desc                 string
		)
		if i%20 == 0 {
			kind = KindHuman
			first, last := seedFirstNames[rng.IntN(len(seedFirstNames))], seedLastNames[rng.IntN(len(seedLastNames))]
			name = first + " " + last
			e := fmt.Sprintf("%s.%s.%d@example.com", strings.ToLower(first), strings.ToLower(strings.NewReplacer(" ", "", "ä", "a").Replace(last)), id)
			mail = &e
			email, key = e, strings.ToLower(e)
			switch r := rng.IntN(100); {
			case r < 10:
				role = RoleAdmin
			case r < 35:
				role = RoleManager
			}
		} else {
			name = fmt.Sprintf("%s %s %d", seedServicePrefixes[rng.IntN(len(seedServicePrefixes))],
				seedServiceWords[rng.IntN(len(seedServiceWords))], id)
			u := DeriveUserID(name)
			uid = &u
			userID = u
			switch r := rng.IntN(100); {
			case r < 5:
				role = RoleAdmin
			case r < 20:
				role = RoleManager
			}
			switch r := rng.IntN(10); {
			case r < 4 && lastHuman != 0:
				ownerUser = lastHuman
			case r < 7 && teams > 0:
				ownerTeam = teamIDs[rng.IntN(teams)]
			}
			if rng.IntN(3) == 0 {
				desc = "Calls the " + strings.ToLower(seedServicePrefixes[rng.IntN(len(seedServicePrefixes))]) + " API on a schedule."
			}
		}
		status := StatusActive
		var deactivated *time.Time
		if rng.IntN(100) < 8 {
			status = StatusDeactivated
			d := created.Add(time.Duration(rng.Int64N(int64(now.Sub(created)) + 1))).Truncate(time.Microsecond)
			deactivated = &d
		}
		var lastActive *time.Time
		if rng.IntN(100) >= 15 {
			la := created.Add(time.Duration(rng.Int64N(int64(now.Sub(created)) + 1))).Truncate(time.Microsecond)
			lastActive = &la
		}
		// Public plus zero to three seeded teams.
		picked = picked[:0]
		extra := 0
		switch r := rng.IntN(10); {
		case r < 3:
		case r < 7:
			extra = 1
		case r < 9:
			extra = 2
		default:
			extra = 3
		}
		for len(picked) < min(extra, teams) {
			t := teamIDs[rng.IntN(teams)]
			dup := false
			for _, p := range picked {
				dup = dup || p == t
			}
			if !dup {
				picked = append(picked, t)
			}
		}
		err := users.add(id, string(kind), name, userID, email, key, string(role), string(status), desc,
			nullable(ownerUser), nullable(ownerTeam), nullableTime(lastActive), nullable(lastHuman), created, created,
			nullableTime(deactivated), 1+len(picked), SearchText(name, uid, mail))
		if err != nil {
			fail(err)
		}
		if err := members.add(id, PublicTeamID); err != nil {
			fail(err)
		}
		for _, t := range picked {
			if err := members.add(id, t); err != nil {
				fail(err)
			}
		}
		if kind == KindHuman {
			lastHuman = id
		}
		if err := tx.maybeCommit(); err != nil {
			fail(err)
		}
	}
	if err := tx.commit(); err != nil {
		fail(err)
	}
	tb.Logf("seeded %d users in %d teams in %v", n, teams, time.Since(start).Round(time.Millisecond))
	return teamIDs
}

// seedActor is who a seeded event is by.
type seedActor struct {
	kind  ActorKind
	id    int64
	label string
}

// weighted picks among choices by weight.
type weighted[T any] struct {
	items []T
	cum   []int
}

func newWeighted[T any](pairs ...any) weighted[T] {
	var w weighted[T]
	total := 0
	for i := 0; i < len(pairs); i += 2 {
		total += pairs[i+1].(int)
		w.items = append(w.items, pairs[i].(T))
		w.cum = append(w.cum, total)
	}
	return w
}

func (w weighted[T]) pick(r *rand.Rand) T {
	n := r.IntN(w.cum[len(w.cum)-1])
	for i, c := range w.cum {
		if n < c {
			return w.items[i]
		}
	}
	return w.items[len(w.items)-1]
}

var (
	// What people do in the console: mostly sign in and out and look after tokens.
	seedHumanActions = newWeighted[string](
		"auth.login", 250, "auth.logout", 100, "auth.session_rotate", 50, "auth.session_end", 30,
		"token.create", 100, "token.revoke", 50, "token.restore", 8, "token.delete", 20,
		"service_user.create", 50, "service_user.update", 80, "service_user.deactivate", 20, "service_user.reactivate", 8,
		"user.create", 20, "user.update", 40, "user.deactivate", 8, "user.reactivate", 4, "user.password_change", 10,
		"user.password_link_issued", 20, "user.password_set", 10, "user.sign_out_everywhere", 6,
		"team.create", 15, "team.update", 25, "team.delete", 4, "settings.update", 6)
	// What automations do through the API.
	seedServiceActions = newWeighted[string](
		"token.create", 300, "token.revoke", 150, "token.restore", 15, "token.delete", 50,
		"service_user.create", 100, "service_user.update", 150, "service_user.deactivate", 30, "service_user.reactivate", 10,
		"team.update", 40, "team.create", 20, "user.update", 30)
	seedSystemActions = newWeighted[string](
		"auth.session_end", 700, "user.password_link_issued", 100, "user.create", 60, "team.create", 40,
		"settings.update", 80, "setup.complete", 1)
	seedAnonymousActions = newWeighted[string]("auth.login_failed", 80, "security.csrf_rejected", 20)
	seedOutcomes         = newWeighted[string](OutcomeSuccess, 820, OutcomeDenied, 140, OutcomeFailed, 40)
	seedDenyReasons      = []string{"last_admin", "builtin_team", "not_revoked", "active", "expired", "deactivated", "not_service", "forbidden"}
	seedFailReasons      = []string{"invalid_input", "conflict", "database_busy"}
	seedBrowsers         = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
	}
	seedClients = []string{"warden-cli/1.4.2", "python-requests/2.32.3", "Go-http-client/1.1", "curl/8.5.0",
		"terraform-provider-warden/0.9.1", "github-actions-runner/2.317.0"}
	seedSettings = []string{"session_idle_timeout", "session_max_age", "token_default_expiry", "token_max_expiry"}
	seedRoutes   = []string{"POST /users", "POST /tokens", "POST /teams", "POST /settings", "POST /account/password"}
)

// seedAuditActors lists who seeded events are by: the first `users` users of
// the table, topped up with made-up accounts (ids beyond the table, as for
// users that no longer exist) when there are fewer.
func seedAuditActors(tb testing.TB, conn *sql.Conn, users int) []seedActor {
	tb.Helper()
	ctx := context.Background()
	rows, err := conn.QueryContext(ctx, `SELECT id, kind, COALESCE(user_id, email, '') FROM users ORDER BY id LIMIT ?`, users)
	if err != nil {
		tb.Fatalf("seed audit: actors: %v", err)
	}
	actors := make([]seedActor, 0, users)
	var maxID int64
	for rows.Next() {
		var a seedActor
		var kind string
		if err := rows.Scan(&a.id, &kind, &a.label); err != nil {
			tb.Fatalf("seed audit: actors: %v", err)
		}
		a.kind = ActorHuman
		if Kind(kind) == KindService {
			a.kind = ActorService
		}
		actors = append(actors, a)
		maxID = max(maxID, a.id)
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("seed audit: actors: %v", err)
	}
	_ = rows.Close()
	for i := len(actors); i < users; i++ {
		id := maxID + int64(i-len(actors)) + 1
		if id%20 == 1 {
			actors = append(actors, seedActor{ActorHuman, id, fmt.Sprintf("person.%d@example.com", id)})
		} else {
			actors = append(actors, seedActor{ActorService, id, fmt.Sprintf("seed_bot_%d@service", id)})
		}
	}
	return actors
}

// seedAudit appends n events to the log in one chain with what is already
// there: ids and times increase together over the last 365 days (or from the
// newest existing event, if that is later), hashes computed exactly as record
// computes them, so VerifyAudit passes. Actions are skewed as a real log is
// (sign-ins and token work dominate), about 82% succeed, 14% are denied and
// 4% fail; actors are drawn, a few of them very busy, from the first `users`
// users plus the system and anonymous visitors.
func seedAudit(tb testing.TB, s *Store, n int, users int) {
	tb.Helper()
	start := time.Now()
	ctx := context.Background()
	conn, done := seedConn(tb, s)
	defer done()
	var (
		lastID   int64
		lastHash string
		lastAt   sql.NullTime
	)
	err := conn.QueryRowContext(ctx, `SELECT id, hash, occurred_at FROM audit_events ORDER BY id DESC LIMIT 1`).Scan(&lastID, &lastHash, &lastAt)
	switch {
	case err == sql.ErrNoRows:
		lastHash = genesisHash
	case err != nil:
		tb.Fatalf("seed audit: tail: %v", err)
	}
	var teams []target
	if err := func() error {
		rows, err := conn.QueryContext(ctx, `SELECT id, name FROM teams ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t := target{kind: "team"}
			if err := rows.Scan(&t.id, &t.label); err != nil {
				return err
			}
			teams = append(teams, t)
		}
		return rows.Err()
	}(); err != nil {
		tb.Fatalf("seed audit: teams: %v", err)
	}
	actors := seedAuditActors(tb, conn, max(users, 1))

	now := s.Now()
	from := now.Add(-365 * 24 * time.Hour)
	if lastAt.Valid && lastAt.Time.After(from) {
		from = lastAt.Time.Add(time.Microsecond)
	}
	step := max(now.Sub(from)/time.Duration(max(n, 1)), time.Microsecond)
	rng := rand.New(rand.NewPCG(uint64(lastID)+7, uint64(n)))
	// A few actors are very busy (automations, the on-call admin), most are
	// not: their events follow a Zipf distribution.
	g := &seedEventGen{
		rng: rng, busy: rand.NewZipf(rng, 1.2, 50, uint64(len(actors)-1)), actors: actors, teams: teams,
		from: from, step: step, lastID: lastID, lastHash: lastHash,
	}

	// Large seeds load the table without its indexes and build them at the
	// end, from the definitions the migrations wrote: sorting once is many
	// times faster than growing seven B-trees row by row.
	var indexes []string
	if n >= seedRebuildIndexesFrom {
		indexes = dropIndexes(tb, conn, "audit_events")
	}
	loadStart := time.Now()
	tx := newSeedTx(conn)
	ins := tx.inserter(nil, "audit_events", "id", "occurred_at", "actor_kind", "actor_id", "actor_label", "token_id",
		"action", "outcome", "reason", "target_kind", "target_id", "target_label", "changes", "ip", "user_agent",
		"request_id", "prev_hash", "hash", "owner_id")
	// One goroutine builds and hashes events while this one inserts them.
	batches := make(chan []any, 4)
	stop := make(chan struct{})
	go func() {
		defer close(batches)
		var args []any
		for i := range n {
			e := g.next(i)
			args = append(args, e.ID, e.OccurredAt, string(e.ActorKind), nullable(derefID(e.ActorID)),
				e.ActorLabel, nullable(derefID(e.TokenID)), e.Action, e.Outcome, e.Reason, e.TargetKind,
				nullable(derefID(e.TargetID)), e.TargetLabel, e.Changes, e.IP, e.UserAgent, e.RequestID, e.PrevHash, e.Hash, nullable(derefID(e.OwnerID)))
			if len(args) == seedRowsPerStatement*len(ins.cols) || i == n-1 {
				select {
				case batches <- args:
				case <-stop:
					return
				}
				args = make([]any, 0, seedRowsPerStatement*len(ins.cols))
			}
		}
	}()
	var loadErr error
	for b := range batches {
		if loadErr == nil {
			loadErr = ins.exec(b)
		}
		if loadErr == nil {
			loadErr = tx.maybeCommit()
		}
		if loadErr != nil {
			close(stop)
			for range batches {
			}
			break
		}
	}
	if loadErr == nil {
		loadErr = tx.commit()
	}
	if loadErr != nil {
		tx.abort()
		restoreIndexes(tb, conn, indexes)
		tb.Fatal(loadErr)
	}
	load := time.Since(loadStart)
	restoreIndexes(tb, conn, indexes)
	// Events written behind the store's back: bring the per-day counts in step.
	if err := s.RebuildAuditCounts(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("seeded %d audit events (%d actors) in %v: rows %v, indexes %v", n, len(actors),
		time.Since(start).Round(time.Millisecond), load.Round(time.Millisecond), (time.Since(loadStart) - load).Round(time.Millisecond))
}

// seedEventGen makes the events of one seed, chained to what is already there.
type seedEventGen struct {
	rng      *rand.Rand
	busy     *rand.Zipf
	actors   []seedActor
	teams    []target
	from     time.Time
	step     time.Duration
	lastID   int64
	lastHash string
	last     time.Time
}

func (g *seedEventGen) randomUser() seedActor { return g.actors[g.rng.IntN(len(g.actors))] }

// next returns the i-th new event, hashed and linked to the previous one.
func (g *seedEventGen) next(i int) *Event {
	at := g.from.Add(g.step*time.Duration(i) + time.Duration(g.rng.Int64N(int64(g.step)/2+1))).Truncate(time.Microsecond)
	if !at.After(g.last) && i > 0 {
		at = g.last // never before its predecessor
	}
	var a seedActor
	var action string
	switch r := g.rng.IntN(100); {
	case r < 8:
		a, action = seedActor{ActorSystem, 0, "system"}, seedSystemActions.pick(g.rng)
	case r < 12:
		// a failed sign-in is recorded under the email typed
		typed := g.randomUser().label
		if g.rng.IntN(3) == 0 {
			typed = fmt.Sprintf("guess%d@example.org", g.rng.IntN(1000))
		}
		a, action = seedActor{ActorAnonymous, 0, typed}, seedAnonymousActions.pick(g.rng)
	default:
		// Scatter the Zipf ranks over the actors so the busy ones are not simply the oldest.
		a = g.actors[(g.busy.Uint64()*7919)%uint64(len(g.actors))]
		if a.kind == ActorService {
			action = seedServiceActions.pick(g.rng)
		} else {
			action = seedHumanActions.pick(g.rng)
		}
	}
	e := &Event{
		ID: g.lastID + int64(i) + 1, OccurredAt: at, ActorKind: a.kind, ActorID: nonZero(a.id), ActorLabel: a.label,
		Action: action, Outcome: seedOutcomes.pick(g.rng), PrevHash: g.lastHash,
		RequestID: fmt.Sprintf("%016x%08x", g.rng.Uint64(), g.rng.Uint32()),
	}
	switch action {
	case "auth.login_failed":
		e.Outcome, e.Reason = OutcomeFailed, "bad_credentials"
	case "auth.login_denied", "security.csrf_rejected":
		e.Outcome, e.Reason = OutcomeDenied, "forbidden"
	case "auth.login", "auth.logout", "auth.session_end", "auth.session_rotate", "setup.complete":
		e.Outcome = OutcomeSuccess
	default:
		switch e.Outcome {
		case OutcomeDenied:
			e.Reason = seedDenyReasons[g.rng.IntN(len(seedDenyReasons))]
		case OutcomeFailed:
			e.Reason = seedFailReasons[g.rng.IntN(len(seedFailReasons))]
		}
	}
	switch a.kind {
	case ActorHuman:
		e.IP = fmt.Sprintf("10.20.%d.%d", g.rng.IntN(8), 1+g.rng.IntN(254))
		if g.rng.IntN(10) == 0 {
			e.IP = fmt.Sprintf("2001:db8:42::%x", 1+g.rng.IntN(0xffff))
		}
		e.UserAgent = seedBrowsers[g.rng.IntN(len(seedBrowsers))]
	case ActorService:
		e.IP = fmt.Sprintf("10.0.%d.%d", g.rng.IntN(64), 1+g.rng.IntN(254))
		e.UserAgent = seedClients[g.rng.IntN(len(seedClients))]
		e.TokenID = nonZero(1 + g.rng.Int64N(200_000))
	case ActorAnonymous:
		e.IP = fmt.Sprintf("198.51.100.%d", 1+g.rng.IntN(254))
		e.UserAgent = seedBrowsers[g.rng.IntN(len(seedBrowsers))]
	case ActorSystem:
		e.RequestID = ""
	}
	var ch Changes
	verb := action[strings.IndexByte(action, '.')+1:]
	switch {
	case strings.HasPrefix(action, "user.") || strings.HasPrefix(action, "service_user."):
		t := g.randomUser()
		if strings.HasPrefix(action, "user.password_change") || action == "user.sign_out_everywhere" {
			t = a
		}
		e.TargetKind, e.TargetID, e.TargetLabel = "user", nonZero(t.id), t.label
		switch verb {
		case "create":
			ch = Changes{"name": {nil, t.label}, "role": {nil, string(RoleMember)}, "teams": {nil, []string{"Public"}}}
		case "update":
			ch = Changes{"role": {string(RoleMember), string(RoleManager)}}
			if g.rng.IntN(2) == 0 {
				ch = Changes{"description": {"", "Owned by the platform team."}}
			}
		}
	case strings.HasPrefix(action, "team."):
		t := g.teams[g.rng.IntN(len(g.teams))]
		e.TargetKind, e.TargetID, e.TargetLabel = t.kind, nonZero(t.id), t.label
		switch verb {
		case "create":
			ch = Changes{"name": {nil, e.TargetLabel}}
		case "update":
			ch = Changes{"description": {"", "Seeded for benchmarks."}}
		}
	case strings.HasPrefix(action, "token."):
		id := 1 + g.rng.Int64N(200_000)
		e.TargetKind, e.TargetID, e.TargetLabel = "token", nonZero(id), fmt.Sprintf("ci-deploy-%d", id)
		if verb == "create" {
			ch = Changes{"name": {nil, e.TargetLabel}, "expires_at": {nil, at.Add(90 * 24 * time.Hour).Format("2006-01-02")}}
		}
	case action == "settings.update":
		e.TargetKind, e.TargetLabel = "settings", seedSettings[g.rng.IntN(len(seedSettings))]
		ch = Changes{e.TargetLabel: {"8h0m0s", "12h0m0s"}}
	case action == "security.csrf_rejected":
		e.TargetKind, e.TargetLabel = "route", seedRoutes[g.rng.IntN(len(seedRoutes))]
	case action == "auth.login_failed":
		// no target: the account may not exist
	case strings.HasPrefix(action, "auth.") || action == "setup.complete":
		t := a
		if a.id == 0 {
			t = g.randomUser()
		}
		e.TargetKind, e.TargetID, e.TargetLabel = "user", nonZero(t.id), t.label
	}
	if e.TargetKind == "user" {
		e.OwnerID = e.TargetID // as record writes it; seeded tokens have no rows, so no owner
	}
	if e.Outcome != OutcomeSuccess {
		ch = nil // a refusal changes nothing
	}
	if len(ch) > 0 {
		b, err := json.Marshal(ch)
		if err != nil {
			panic(err) // strings, nil and string slices always encode
		}
		e.Changes = string(b)
	}
	e.Hash = e.computeHash()
	g.lastHash, g.last = e.Hash, e.OccurredAt
	return e
}

// dropIndexes drops a table's explicit indexes and returns their
// definitions for restoreIndexes.
func dropIndexes(tb testing.TB, conn *sql.Conn, table string) []string {
	tb.Helper()
	ctx := context.Background()
	rows, err := conn.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`, table)
	if err != nil {
		tb.Fatalf("seed: list indexes: %v", err)
	}
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			tb.Fatalf("seed: list indexes: %v", err)
		}
		names, defs = append(names, name), append(defs, def)
	}
	_ = rows.Close()
	for _, name := range names {
		if _, err := conn.ExecContext(ctx, `DROP INDEX "`+name+`"`); err != nil {
			tb.Fatalf("seed: drop index %s: %v", name, err)
		}
	}
	return defs
}

func restoreIndexes(tb testing.TB, conn *sql.Conn, defs []string) {
	tb.Helper()
	for _, def := range defs {
		if _, err := conn.ExecContext(context.Background(), def); err != nil {
			tb.Fatalf("seed: restore index: %s: %v", def, err)
		}
	}
}

func derefID(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
