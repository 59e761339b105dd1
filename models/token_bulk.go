package models

import (
	"context"
	"fmt"
	"slices"

	"gorm.io/gorm"
)

// MaxBulkRevoke bounds one bulk revocation: the console's "all matching"
// selection and the API's ids.
const (
	MaxBulkRevoke    = 1000
	MaxAPIBulkRevoke = 500
)

// Bulk revocation outcomes, one per id asked.
const (
	BulkRevoked   = "revoked"
	BulkInactive  = "already_inactive" // revoked or expired before
	BulkNotFound  = "not_found"
	BulkDuplicate = "duplicate"
)

// BulkRevocation is what a bulk revocation did to one id.
type BulkRevocation struct {
	ID      int64
	Outcome string
	Token   *Token // nil when not found
}

// BulkSummary counts a bulk revocation's outcomes.
type BulkSummary struct{ Revoked, Inactive, NotFound, Duplicate int }

// Summarize counts the outcomes.
func Summarize(rs []BulkRevocation) BulkSummary {
	var s BulkSummary
	for _, r := range rs {
		switch r.Outcome {
		case BulkRevoked:
			s.Revoked++
		case BulkInactive:
			s.Inactive++
		case BulkNotFound:
			s.NotFound++
		case BulkDuplicate:
			s.Duplicate++
		}
	}
	return s
}

// RevokeTokens revokes the tokens of ids in one transaction, each with its
// own audit event (the events share the actor's request id). Tokens already
// revoked or expired are skipped; unknown and repeated ids are answered, not
// refused, so one bad id spoils nothing.
func (s *Store) RevokeTokens(ctx context.Context, a Actor, ids []int64) ([]BulkRevocation, error) {
	if len(ids) > MaxBulkRevoke {
		return nil, NewValidationError("ids", fmt.Sprintf("Revoke at most %d tokens at once.", MaxBulkRevoke))
	}
	out := make([]BulkRevocation, len(ids))
	err := s.write(ctx, func(tx *gorm.DB) error {
		var toks []Token
		if err := tx.Where("id IN ?", append(slices.Clip(ids), 0)).Find(&toks).Error; err != nil {
			return fmt.Errorf("models: bulk revoke: %w", err)
		}
		byID := make(map[int64]*Token, len(toks))
		for i := range toks {
			byID[toks[i].ID] = &toks[i]
		}
		now, seen := s.Now(), map[int64]bool{}
		for i, id := range ids {
			t := byID[id]
			r := BulkRevocation{ID: id, Token: t}
			switch {
			case seen[id]:
				r.Outcome = BulkDuplicate
			case t == nil:
				r.Outcome = BulkNotFound
			case t.State(now) != TokenActive:
				r.Outcome = BulkInactive
			default:
				r.Outcome = BulkRevoked
				t.RevokedAt, t.RevokedBy = &now, nonZero(a.ID)
				if err := tx.Model(&Token{}).Where("id = ?", id).Updates(map[string]any{"revoked_at": now, "revoked_by": t.RevokedBy}).Error; err != nil {
					return fmt.Errorf("models: bulk revoke: %w", err)
				}
				if err := s.recordTokenState(tx, a, "token.revoke", t, TokenActive, TokenRevoked); err != nil {
					return err
				}
			}
			seen[id] = true
			out[i] = r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MatchingTokenIDs returns the ids of the first limit tokens q selects, in
// its order: "select all matching" in the console.
func (s *Store) MatchingTokenIDs(ctx context.Context, q TokenQuery, limit int) ([]int64, error) {
	where := s.tokenFilter(q, s.Now(), s.ownersShare(ctx, q).plan(1.0/40))
	from := "tokens AS t"
	if o, _ := s.tokenOrderSQL(q); o.owner {
		from = "tokens AS t JOIN users AS u ON u.id = t.user_id"
	}
	sqlText, args := s.tokenIDsSQL(q, from, where)
	var ids []int64
	if err := s.db.WithContext(ctx).Raw(sqlText+" LIMIT ?", append(args, limit)...).Scan(&ids).Error; err != nil {
		return nil, fmt.Errorf("models: matching tokens: %w", err)
	}
	return ids, nil
}

// TokensByIDs returns the rows of ids (those that exist), in the inventory's
// shape, ordered by owner name then token name: the confirmation lists them.
func (s *Store) TokensByIDs(ctx context.Context, ids []int64) ([]TokenRow, error) {
	return s.tokenRows(ctx, ids, s.dialect.nocase("u.name")+", t.name_key, t.id", true)
}
