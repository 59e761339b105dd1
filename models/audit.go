package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Outcomes of an audited action.
const (
	OutcomeSuccess = "success"
	OutcomeDenied  = "denied"
	OutcomeFailed  = "failed"
)

// genesisHash is the prev_hash of the first event.
var genesisHash = strings.Repeat("0", 64)

// Event is one audit log entry. Events are written by the store in the same
// transaction as the change they describe, and never changed afterwards.
type Event struct {
	ID          int64 `gorm:"primaryKey"`
	OccurredAt  time.Time
	ActorKind   ActorKind
	ActorID     *int64
	ActorLabel  string
	TokenID     *int64
	Action      string
	Outcome     string
	Reason      string
	TargetKind  string
	TargetID    *int64
	TargetLabel string
	Changes     string
	IP          string `gorm:"column:ip"`
	UserAgent   string
	RequestID   string
	PrevHash    string
	Hash        string
	// OwnerID is the user the event concerns: a user target itself, or a
	// token's service user. Derived from the target, it is not hashed (see
	// computeHash), so a migration could fill it for events written before.
	OwnerID *int64
	// TargetGone marks a token or team target deleted since; read, never
	// stored.
	TargetGone bool `gorm:"-"`
	// The names NameEvents fills for the console; read, never stored.
	ActorName string `gorm:"-"` // the actor's name now, "" unless a user
	OwnerName string `gorm:"-"` // OwnerID's name now
	TokenName string `gorm:"-"` // the name of the token the actor used
	TokenGone bool   `gorm:"-"` // that token was deleted since
}

// TableName implements gorm's tabler.
func (Event) TableName() string { return "audit_events" }

// Change is one field's value before and after an update.
type Change struct {
	Before any `json:"before"`
	After  any `json:"after"`
}

// Changes maps field names to their change; only fields that changed, and
// never a secret.
type Changes map[string]Change

// set records a field if its value changed.
func (c Changes) set(field string, before, after any) {
	if fmt.Sprint(before) != fmt.Sprint(after) {
		c[field] = Change{Before: before, After: after}
	}
}

// ParsedChanges decodes the event's changes.
func (e *Event) ParsedChanges() Changes {
	if e.Changes == "" {
		return nil
	}
	var c Changes
	if err := json.Unmarshal([]byte(e.Changes), &c); err != nil {
		return nil
	}
	return c
}

// target names what an event is about, and for a token its owner: a user
// target is its own owner.
type target struct {
	kind  string
	id    int64
	label string
	owner int64
	// tok is the token a token target was made from, for a webhook about a
	// token deleted in the same change.
	tok *Token
}

func userTarget(u *User) target { return target{kind: "user", id: u.ID, label: u.Handle()} }
func teamTarget(t *Team) target { return target{kind: "team", id: t.ID, label: t.Name} }
func tokenTarget(t *Token) target {
	return target{kind: "token", id: t.ID, label: t.Name, owner: t.UserID, tok: t}
}

// ownerID is the user an event about t concerns, if any.
func (t target) ownerID() *int64 {
	if t.kind == "user" {
		return nonZero(t.id)
	}
	return nonZero(t.owner)
}

// userAction names an action on a user: service users and people have
// their own prefixes, as in service_user.create and user.create.
func userAction(u *User, verb string) string {
	if u.Kind == KindService {
		return "service_user." + verb
	}
	return "user." + verb
}

// maxAuditField bounds free text copied into an event (user agents, typed
// emails), so a hostile client cannot bloat the log.
const maxAuditField = 512

func clip(s string) string { return clipUTF8(s, maxAuditField) }

// clipUTF8 shortens s to at most n bytes without cutting a character in two.
// Free text from clients (user agents, typed emails) may hold bytes that are
// not UTF-8, and NUL, which PostgreSQL's text type refuses; both become
// U+FFFD, on either database, so what is stored is the same everywhere.
func clipUTF8(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// record appends an event inside tx: it reads the last event, chains to its
// hash and takes the next id. The caller's transaction is immediate, so
// appends are serialised and the chain cannot fork.
func (s *Store) record(tx *gorm.DB, a Actor, action, outcome, reason string, t target, changes Changes) error {
	var last struct {
		ID   int64
		Hash string
	}
	if err := tx.Raw(`SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1`).Scan(&last).Error; err != nil {
		return fmt.Errorf("models: audit tail: %w", err)
	}
	prev := last.Hash
	if prev == "" {
		prev = genesisHash
	}
	e := Event{
		ID: last.ID + 1, OccurredAt: s.Now(), ActorKind: a.Kind, ActorID: nonZero(a.ID), ActorLabel: clip(a.Label),
		TokenID: nonZero(a.TokenID), Action: action, Outcome: outcome, Reason: reason,
		TargetKind: t.kind, TargetID: nonZero(t.id), TargetLabel: clip(t.label),
		IP: clip(a.IP), UserAgent: clip(a.UserAgent), RequestID: clip(a.RequestID), PrevHash: prev,
		OwnerID: t.ownerID(),
	}
	if e.ActorKind == "" {
		e.ActorKind = ActorSystem
	}
	if len(changes) > 0 {
		b, err := json.Marshal(changes)
		if err != nil {
			return fmt.Errorf("models: audit changes: %w", err)
		}
		e.Changes = string(b)
	}
	e.Hash = e.computeHash()
	if err := tx.Create(&e).Error; err != nil {
		return fmt.Errorf("models: write audit event: %w", err)
	}
	if err := countEvent(tx, &e); err != nil {
		return err
	}
	// Every change that notifies is audited, so the outbox is filled here,
	// in the change's transaction: a rollback sends nothing.
	return s.enqueueWebhooks(tx, a, &e, t, changes)
}

// countEvent keeps the per-day counts in step with the log, in the same
// transaction as the event. make bench: a 30-day summary 120 → 0.9 ms.
func countEvent(tx *gorm.DB, e *Event) error {
	day := e.OccurredAt.UTC().Format("2006-01-02")
	automated := 0
	if e.ActorKind == ActorService || e.ActorKind == ActorSystem {
		automated = 1
	}
	if err := tx.Exec(`INSERT INTO audit_daily_actions (day, action, automated, n) VALUES (?, ?, ?, 1)
		ON CONFLICT (day, action, automated) DO UPDATE SET n = audit_daily_actions.n + 1`, day, e.Action, automated).Error; err != nil {
		return fmt.Errorf("models: audit counts: %w", err)
	}
	var actorID int64
	if e.ActorID != nil {
		actorID = *e.ActorID
	}
	if err := tx.Exec(`INSERT INTO audit_daily_actors (day, actor_kind, actor_id, actor_label, n) VALUES (?, ?, ?, ?, 1)
		ON CONFLICT (day, actor_kind, actor_id, actor_label) DO UPDATE SET n = audit_daily_actors.n + 1`, day, e.ActorKind, actorID, e.ActorLabel).Error; err != nil {
		return fmt.Errorf("models: audit counts: %w", err)
	}
	if err := tx.Exec(`INSERT INTO audit_daily_actor_actions (action, day, actor_kind, actor_id, actor_label, n) VALUES (?, ?, ?, ?, ?, 1)
		ON CONFLICT (action, day, actor_kind, actor_id, actor_label) DO UPDATE SET n = audit_daily_actor_actions.n + 1`,
		e.Action, day, e.ActorKind, actorID, e.ActorLabel).Error; err != nil {
		return fmt.Errorf("models: audit counts: %w", err)
	}
	return nil
}

// RebuildAuditCounts recomputes the per-day counts from the log; bulk
// imports (and the benchmarks' seeding) call it after writing events
// directly.
func (s *Store) RebuildAuditCounts(ctx context.Context) error {
	day := s.dialect.utcDay("occurred_at")
	return s.exclusive(ctx, func(tx *gorm.DB) error {
		for _, q := range []string{
			`DELETE FROM audit_daily_actions`,
			`DELETE FROM audit_daily_actors`,
			`DELETE FROM audit_daily_actor_actions`,
			`INSERT INTO audit_daily_actions (day, action, automated, n)
			 SELECT ` + day + `, action, ` + s.dialect.automated("actor_kind") + `, COUNT(*) FROM audit_events GROUP BY 1, 2, 3`,
			`INSERT INTO audit_daily_actors (day, actor_kind, actor_id, actor_label, n)
			 SELECT ` + day + `, actor_kind, COALESCE(actor_id, 0), actor_label, COUNT(*) FROM audit_events GROUP BY 1, 2, 3, 4`,
			`INSERT INTO audit_daily_actor_actions (action, day, actor_kind, actor_id, actor_label, n)
			 SELECT action, ` + day + `, actor_kind, COALESCE(actor_id, 0), actor_label, COUNT(*) FROM audit_events GROUP BY 1, 2, 3, 4, 5`,
		} {
			if err := tx.Exec(q).Error; err != nil {
				return fmt.Errorf("models: rebuild audit counts: %w", err)
			}
		}
		return nil
	})
}

// computeHash is SHA-256 over the event's fields, its id and the previous
// hash, in a fixed JSON layout. OwnerID is left out: it is derived from the
// target (an index, not a fact), and migration 0011 filled it in afterwards.
func (e *Event) computeHash() string {
	canon := struct {
		ID          int64     `json:"id"`
		OccurredAt  string    `json:"t"`
		ActorKind   ActorKind `json:"ak"`
		ActorID     *int64    `json:"ai"`
		ActorLabel  string    `json:"al"`
		TokenID     *int64    `json:"tk"`
		Action      string    `json:"a"`
		Outcome     string    `json:"o"`
		Reason      string    `json:"r"`
		TargetKind  string    `json:"gk"`
		TargetID    *int64    `json:"gi"`
		TargetLabel string    `json:"gl"`
		Changes     string    `json:"c"`
		IP          string    `json:"ip"`
		UserAgent   string    `json:"ua"`
		RequestID   string    `json:"rq"`
		PrevHash    string    `json:"p"`
	}{e.ID, e.OccurredAt.UTC().Format(time.RFC3339Nano), e.ActorKind, e.ActorID, e.ActorLabel, e.TokenID, e.Action,
		e.Outcome, e.Reason, e.TargetKind, e.TargetID, e.TargetLabel, e.Changes, e.IP, e.UserAgent, e.RequestID, e.PrevHash}
	b, _ := json.Marshal(canon)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// RecordEvent appends a standalone event: one that accompanies no other
// change, such as a rejected CSRF token or a refused API call.
func (s *Store) RecordEvent(ctx context.Context, a Actor, action, outcome, reason, targetKind string, targetID int64, targetLabel string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		return s.record(tx, a, action, outcome, reason, target{kind: targetKind, id: targetID, label: targetLabel}, nil)
	})
}

// VerifyResult is the outcome of checking the hash chain.
type VerifyResult struct {
	Checked int64
	// BrokenID is the first event whose hash or link does not match, 0 when
	// the chain is intact.
	BrokenID int64
	Problem  string
}

// OK reports whether the chain is intact.
func (r VerifyResult) OK() bool { return r.BrokenID == 0 }

// VerifyAudit walks the whole log in id order, recomputing every hash and
// checking every link, in batches so memory stays flat.
func (s *Store) VerifyAudit(ctx context.Context) (VerifyResult, error) {
	var res VerifyResult
	prev, lastID := genesisHash, int64(0)
	for {
		var batch []Event
		if err := s.db.WithContext(ctx).Where("id > ?", lastID).Order("id").Limit(2000).Find(&batch).Error; err != nil {
			return res, fmt.Errorf("models: verify audit: %w", err)
		}
		if len(batch) == 0 {
			return res, nil
		}
		for i := range batch {
			e := &batch[i]
			res.Checked++
			switch {
			case e.ID != lastID+1:
				res.BrokenID, res.Problem = e.ID, fmt.Sprintf("event %d is missing", lastID+1)
			case e.PrevHash != prev:
				res.BrokenID, res.Problem = e.ID, "its link to the previous event does not match"
			case e.computeHash() != e.Hash:
				res.BrokenID, res.Problem = e.ID, "its content does not match its hash"
			}
			if res.BrokenID != 0 {
				return res, nil
			}
			prev, lastID = e.Hash, e.ID
		}
	}
}
