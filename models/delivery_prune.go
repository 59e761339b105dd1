package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"
)

const (
	// DeliveryRetention is how long a delivered or failed webhook delivery,
	// or a sent or failed email, stays in its log.
	DeliveryRetention = 30 * 24 * time.Hour
	// pruneEvery is how often a worker prunes its log.
	pruneEvery = time.Hour
	// pruneBatch is how many rows one prune transaction deletes, so
	// pruning a backlog never holds the writers' turn for long.
	pruneBatch = 500
)

// PruneWebhookDeliveries deletes the delivered and failed deliveries
// created more than DeliveryRetention ago, in batches, and returns how many
// it deleted.
//
// Decision: a pending delivery is never pruned, however old. One whose
// endpoint is enabled is at most a day and a few hours of retries from
// delivered or failed, and is pruned once it is either and old enough. One
// whose endpoint is disabled (by an Admin, or after 3 days of failures)
// waits: re-enabling the endpoint sends it, and deleting the endpoint
// deletes it with it.
func (s *Store) PruneWebhookDeliveries(ctx context.Context) (int64, error) {
	n, err := s.pruneLog(ctx, "webhook_deliveries")
	if err != nil {
		return n, fmt.Errorf("models: prune webhook deliveries: %w", err)
	}
	return n, nil
}

// PruneEmailDeliveries is PruneWebhookDeliveries for the email outbox: a
// message sent or failed more than DeliveryRetention ago goes; a pending one
// (at most a day of retries from either) stays.
func (s *Store) PruneEmailDeliveries(ctx context.Context) (int64, error) {
	n, err := s.pruneLog(ctx, "email_deliveries")
	if err != nil {
		return n, fmt.Errorf("models: prune email deliveries: %w", err)
	}
	return n, nil
}

// pruneLog deletes table's rows that are no longer pending and were created
// more than DeliveryRetention ago. table is one of the two outboxes, never
// input.
//
// There is no index on created_at: ids grow with created_at, so the rows old
// enough are those below the first young one's id, which a walk of the
// primary key from its start finds. Each batch reads only that range again;
// rows that are both older and pending are skipped in place. Ids and clocks
// out of step by a moment (two replicas) only delay a row's pruning to the
// next round.
func (s *Store) pruneLog(ctx context.Context, table string) (int64, error) {
	cutoff := s.Now().Add(-DeliveryRetention)
	var first sql.NullInt64
	if err := s.db.WithContext(ctx).Raw(`SELECT id FROM `+table+` WHERE created_at >= ? ORDER BY id LIMIT 1`, cutoff).Scan(&first).Error; err != nil {
		return 0, err
	}
	below := int64(1<<63 - 1) // no young row: all of them are old
	if first.Valid {
		below = first.Int64
	}
	var total int64
	for {
		var n int64
		err := s.write(ctx, func(tx *gorm.DB) error {
			res := tx.Exec(`DELETE FROM `+table+` WHERE id IN (
				SELECT id FROM `+table+` WHERE id < ? AND status <> ? AND created_at < ? ORDER BY id LIMIT ?)`,
				below, DeliveryPending, cutoff, pruneBatch)
			n = res.RowsAffected
			return res.Error
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}
