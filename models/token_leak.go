package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// Labels of a leak verdict, as secret-scanning partners expect them.
const (
	LeakTruePositive  = "true_positive"
	LeakFalsePositive = "false_positive"
)

// MaxLeakReports is how many findings one report may carry.
const MaxLeakReports = 1000

// LeakReport is one finding of a secret-scanning partner: a string that
// looks like a Warden token, found at URL.
type LeakReport struct {
	Token  string `json:"token"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Source string `json:"source"`
}

// LeakVerdict is the answer to one finding.
type LeakVerdict struct {
	TokenRaw  string `json:"token_raw"`
	TokenType string `json:"token_type"`
	Label     string `json:"label"`
}

// ReportLeakedTokens revokes every active token the findings name, at once,
// as the system with reason "leaked", the URL and source in the audit event,
// and sends token.leaked and token.revoked. A Warden token is a true
// positive whatever its state; anything else (malformed, a wrong checksum,
// unknown) is a false positive and nothing more is said. A token already
// revoked or expired is left as it is, so a repeated report changes nothing.
func (s *Store) ReportLeakedTokens(ctx context.Context, reports []LeakReport) ([]LeakVerdict, error) {
	out := make([]LeakVerdict, len(reports))
	for i, r := range reports {
		out[i] = LeakVerdict{TokenRaw: r.Token, TokenType: r.Type, Label: LeakFalsePositive}
		if CheckTokenFormat(r.Token) != nil {
			continue
		}
		found, err := s.revokeLeaked(ctx, r)
		if err != nil {
			return nil, err
		}
		if found {
			out[i].Label = LeakTruePositive
		}
	}
	return out, nil
}

// revokeLeaked revokes the token r names if it is active, and reports
// whether it is a Warden token at all.
func (s *Store) revokeLeaked(ctx context.Context, r LeakReport) (bool, error) {
	found := false
	err := s.write(ctx, func(tx *gorm.DB) error {
		var t Token
		err := tx.Where("token_hash = ?", HashToken(r.Token)).Take(&t).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("models: leaked token: %w", err)
		}
		found = true
		now := s.Now()
		if t.State(now) != TokenActive {
			return nil
		}
		if err := tx.Model(&Token{}).Where("id = ?", t.ID).Updates(map[string]any{"revoked_at": now, "revoked_by": nil}).Error; err != nil {
			return fmt.Errorf("models: revoke leaked token: %w", err)
		}
		t.RevokedAt = &now
		ch := Changes{}
		ch.set("state", string(TokenActive), string(TokenRevoked))
		ch.set("found_at", "", clip(r.URL))
		ch.set("found_by", "", clip(r.Source))
		if err := s.record(tx, System, "token.revoke", OutcomeSuccess, "leaked", tokenTarget(&t), ch); err != nil {
			return err
		}
		return s.enqueueWebhookEvent(tx, EventTokenLeaked, now, func() (WebhookData, error) {
			d, err := webhookDataOf(tx, System, tokenTarget(&t), EventTokenLeaked, nil)
			d.Leak = &WebhookLeak{URL: clip(r.URL), Source: clip(r.Source), Type: clip(r.Type)}
			return d, err
		})
	})
	return found, err
}
