package models

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// RevealTTL is how long a token generated in the console waits to be shown:
// the page its POST redirects to must be opened within it.
const RevealTTL = 10 * time.Minute

// revealKeep is how long a reveal is remembered after its secret is gone,
// so a reload, Back or another session can still be told which token it
// was and what to do.
const revealKeep = 24 * time.Hour

// RevealKey binds a reveal to one console session: the session's id, and a
// 32-byte AES key derived from the server's cookie key and the session's
// cookie token (session.Manager.RevealKey). The database holds the cookie
// token only hashed, so a copy of it cannot open a sealed secret.
type RevealKey struct {
	SessionID int64
	Key       []byte
}

// TokenReveal is what a reveal page shows. Secret is empty unless this is
// the one showing: the first visit, by the session that generated the
// token, within RevealTTL.
type TokenReveal struct {
	Token  *Token
	Secret string
	// Replaces is the token a rotation replaced, nil for a new token.
	Replaces *Token
}

// tokenReveal is a row of token_reveals: the secret sealed for one session
// until it is shown, then a note that it was.
type tokenReveal struct {
	ID        string `gorm:"primaryKey"`
	SessionID int64
	TokenID   int64
	Sealed    []byte // nonce, then the AES-GCM ciphertext; nil once shown or expired
	CreatedAt time.Time
	ShownAt   *time.Time
}

// TableName implements gorm's tabler.
func (tokenReveal) TableName() string { return "token_reveals" }

var errRevealKey = errors.New("models: a reveal needs a console session and a 32-byte key")

// GenerateTokenForReveal is GenerateToken for the console: the secret is
// not returned but sealed for k's session in the same transaction, and the
// id of its reveal (for TakeTokenReveal) comes back instead.
func (s *Store) GenerateTokenForReveal(ctx context.Context, a Actor, userID int64, in NewToken, k RevealKey) (*Token, string, error) {
	if k.SessionID <= 0 || len(k.Key) != 32 {
		return nil, "", errRevealKey
	}
	var id string
	tok, _, err := s.generateToken(ctx, a, userID, in, func(tx *gorm.DB, tok *Token, secret string) (err error) {
		id, err = s.sealReveal(tx, k, tok.ID, secret)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return tok, id, nil
}

// RotateTokenForReveal is RotateToken for the console, sealing the
// replacement's secret as GenerateTokenForReveal does.
func (s *Store) RotateTokenForReveal(ctx context.Context, a Actor, tokenID int64, overlap time.Duration, k RevealKey) (*Token, string, error) {
	if k.SessionID <= 0 || len(k.Key) != 32 {
		return nil, "", errRevealKey
	}
	var id string
	tok, _, err := s.rotateToken(ctx, a, tokenID, overlap, TokenRotation{}, func(tx *gorm.DB, tok *Token, secret string) (err error) {
		id, err = s.sealReveal(tx, k, tok.ID, secret)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return tok, id, nil
}

// revealAAD ties a ciphertext to its row, session and token: moved to
// another row or opened for another session, it fails authentication.
func revealAAD(id string, sessionID, tokenID int64) []byte {
	return []byte("warden token reveal\x00" + id + "\x00" + strconv.FormatInt(sessionID, 10) + "\x00" + strconv.FormatInt(tokenID, 10))
}

func revealAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("models: reveal cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("models: reveal cipher: %w", err)
	}
	return aead, nil
}

// sealReveal stores secret encrypted for k's session and returns the
// reveal's id. Old reveals go on the way.
func (s *Store) sealReveal(tx *gorm.DB, k RevealKey, tokenID int64, secret string) (string, error) {
	id, err := RandomToken(16)
	if err != nil {
		return "", err
	}
	aead, err := revealAEAD(k.Key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("models: reveal nonce: %w", err)
	}
	now := s.Now()
	if _, err := purgeTokenReveals(tx, now); err != nil {
		return "", err
	}
	r := &tokenReveal{
		ID: id, SessionID: k.SessionID, TokenID: tokenID, CreatedAt: now,
		Sealed: aead.Seal(nonce, nonce, []byte(secret), revealAAD(id, k.SessionID, tokenID)),
	}
	if err := tx.Create(r).Error; err != nil {
		return "", fmt.Errorf("models: store reveal: %w", err)
	}
	return id, nil
}

// TakeTokenReveal returns the reveal id and, the first time k's session
// asks within RevealTTL of the token's creation, its secret, which is then
// forgotten. Every later call, and every call by another session, gets the
// token without it. An unknown or forgotten id is ErrNotFound.
func (s *Store) TakeTokenReveal(ctx context.Context, id string, k RevealKey) (*TokenReveal, error) {
	var out *TokenReveal
	err := s.write(ctx, func(tx *gorm.DB) error {
		out = nil
		var r tokenReveal
		err := tx.Where("id = ?", id).Take(&r).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("models: reveal: %w", err)
		}
		tok, err := tokenByID(tx, r.TokenID)
		if err != nil {
			return err
		}
		out = &TokenReveal{Token: tok}
		var old Token
		err = tx.Where("replaced_by = ?", tok.ID).Take(&old).Error
		switch {
		case err == nil:
			out.Replaces = &old
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return fmt.Errorf("models: reveal: replaced token: %w", err)
		}
		// Another session learns only that the token was shown: its visit
		// leaves the secret to the session it was sealed for.
		if r.Sealed == nil || r.SessionID != k.SessionID || len(k.Key) != 32 {
			return nil
		}
		now := s.Now()
		var plain []byte
		if now.Before(r.CreatedAt.Add(RevealTTL)) {
			aead, err := revealAEAD(k.Key)
			if err != nil {
				return err
			}
			// A failure to open means the server's cookie key changed since:
			// the secret is lost, as if expired.
			if n := aead.NonceSize(); len(r.Sealed) > n {
				plain, _ = aead.Open(nil, r.Sealed[:n], r.Sealed[n:], revealAAD(r.ID, r.SessionID, r.TokenID))
			}
		}
		// The condition on sealed makes the showing happen once, even for
		// two requests at the same moment.
		res := tx.Model(&tokenReveal{}).Where("id = ? AND sealed IS NOT NULL", r.ID).
			Updates(map[string]any{"sealed": nil, "shown_at": now})
		if res.Error != nil {
			return fmt.Errorf("models: reveal: %w", res.Error)
		}
		if res.RowsAffected == 1 && plain != nil {
			out.Secret = string(plain)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PurgeTokenReveals forgets the sealed secrets past RevealTTL and the
// reveals past their day; the server runs it with the session purge.
func (s *Store) PurgeTokenReveals(ctx context.Context) (int64, error) {
	var n int64
	err := s.writeRow(ctx, func(db *gorm.DB) error {
		return db.Transaction(func(tx *gorm.DB) (err error) {
			n, err = purgeTokenReveals(tx, s.Now())
			return err
		})
	})
	return n, err
}

func purgeTokenReveals(tx *gorm.DB, now time.Time) (int64, error) {
	res := tx.Model(&tokenReveal{}).Where("sealed IS NOT NULL AND created_at <= ?", now.Add(-RevealTTL)).Update("sealed", nil)
	if res.Error != nil {
		return 0, fmt.Errorf("models: purge reveals: %w", res.Error)
	}
	gone := tx.Where("created_at <= ?", now.Add(-revealKeep)).Delete(&tokenReveal{})
	if gone.Error != nil {
		return 0, fmt.Errorf("models: purge reveals: %w", gone.Error)
	}
	return res.RowsAffected + gone.RowsAffected, nil
}
