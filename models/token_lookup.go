package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// LookupToken identifies a pasted token, typically one suspected to have
// leaked: format and checksum first (no database read for a typo), then by
// hash, whatever its state. The lookup is audited, with the token as target
// when it was found.
func (s *Store) LookupToken(ctx context.Context, a Actor, secret string) (*Token, *User, error) {
	if err := CheckTokenFormat(secret); err != nil {
		if rerr := s.RecordEvent(ctx, a, "token.lookup", OutcomeFailed, "malformed", "", 0, ""); rerr != nil {
			return nil, nil, rerr
		}
		return nil, nil, ErrTokenMalformed
	}
	var (
		tok Token
		u   *User
	)
	err := s.write(ctx, func(tx *gorm.DB) error {
		err := tx.Where("token_hash = ?", HashToken(secret)).Take(&tok).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			if err := s.record(tx, a, "token.lookup", OutcomeFailed, "unknown", target{}, nil); err != nil {
				return err
			}
			return &refusal{err: ErrNotFound}
		}
		if err != nil {
			return fmt.Errorf("models: token lookup: %w", err)
		}
		if u, err = userForUpdate(tx, tok.UserID); err != nil {
			return err
		}
		return s.record(tx, a, "token.lookup", OutcomeSuccess, string(tok.State(s.Now())), tokenTarget(&tok), nil)
	})
	if err != nil {
		return nil, nil, err
	}
	s.usage.merge(&tok)
	return &tok, u, nil
}
