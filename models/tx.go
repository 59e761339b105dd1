package models

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"gorm.io/gorm"
)

// writerLockKey is the PostgreSQL advisory lock that serialises writers.
const writerLockKey int64 = 0x5741_5244_454e_0002

// writeTurns lets this process's writers begin one at a time, in arrival
// order (a channel wakes its waiters in order), so none polls SQLite's lock.
// make bench: token creation 900 → 1,120/s, p99 88 → 22 ms.
type writeTurns struct {
	turn    chan struct{}
	waiting atomic.Int64
}

func newWriteTurns() writeTurns { return writeTurns{turn: make(chan struct{}, 1)} }

// take waits for this process's turn to write; release passes it on. It
// gives up when ctx ends.
func (w *writeTurns) take(ctx context.Context) (release func(), err error) {
	w.waiting.Add(1)
	defer w.waiting.Add(-1)
	select {
	case w.turn <- struct{}{}:
		return func() { <-w.turn }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("models: waiting to write: %w", ctx.Err())
	}
}

// WritersWaiting is how many write transactions of this process are
// waiting for their turn, for /metrics.
func (s *Store) WritersWaiting() int64 { return s.turns.waiting.Load() }

// exclusive runs fn in a transaction no other writer on any replica runs
// alongside: SQLite's transactions are immediate; on PostgreSQL an advisory
// lock keeps the rules checked inside (last admin, hash chain) until commit.
func (s *Store) exclusive(ctx context.Context, fn func(tx *gorm.DB) error) error {
	release, err := s.turns.take(ctx)
	if err != nil {
		return err
	}
	defer release()
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.dialect == Postgres {
			if err := tx.Exec(`SELECT pg_advisory_xact_lock(?)`, writerLockKey).Error; err != nil {
				return fmt.Errorf("models: writer lock: %w", err)
			}
		}
		return fn(tx)
	})
	// The flag is this transaction's alone: the process's writes take
	// turns. Only a commit wakes the worker, so it finds the rows.
	if s.outboxFilled {
		s.outboxFilled = false
		if err == nil {
			s.wakeWebhookWorker()
		}
	}
	return err
}

// writeRow runs a one-statement write that keeps no rule and records no
// event (a console session's touch or end). On SQLite it takes its turn
// with the other writers; PostgreSQL locks only the rows.
func (s *Store) writeRow(ctx context.Context, fn func(db *gorm.DB) error) error {
	if s.dialect == SQLite {
		release, err := s.turns.take(ctx)
		if err != nil {
			return err
		}
		defer release()
	}
	return fn(s.db.WithContext(ctx))
}

// refusal carries a rule's refusal out of a transaction that must still
// commit: the refusal's own audit event is the one change it makes.
type refusal struct{ err error }

func (r *refusal) Error() string { return r.err.Error() }

// refuse records a denied event and returns the refusal for write to commit.
// A rule's count (the active tokens that block a deactivation) is kept
// under the rule's code, unchanged before and after, so the event can say
// "refused: 5 active tokens" as it was then.
func (s *Store) refuse(tx *gorm.DB, a Actor, action string, t target, err error) error {
	reason := err.Error()
	var ch Changes
	var re *RuleError
	if errors.As(err, &re) {
		reason = re.Code
		if re.Count > 0 {
			ch = Changes{re.Code: {Before: re.Count, After: re.Count}}
		}
	}
	if rerr := s.record(tx, a, action, OutcomeDenied, reason, t, ch); rerr != nil {
		return rerr
	}
	return &refusal{err: err}
}

// write runs fn in an exclusive transaction. When fn ends with a refusal,
// the transaction still commits (keeping the refusal's audit event) and the
// refusal's error is returned; any other error rolls everything back.
func (s *Store) write(ctx context.Context, fn func(tx *gorm.DB) error) error {
	var refused *refusal
	err := s.exclusive(ctx, func(tx *gorm.DB) error {
		err := fn(tx)
		if errors.As(err, &refused) {
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	if refused != nil {
		return refused.err
	}
	return nil
}
