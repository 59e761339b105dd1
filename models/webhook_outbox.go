package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// webhookEventOfAction maps the audit actions that notify to their event
// type. Only successes notify: a refusal changed nothing.
var webhookEventOfAction = map[string]string{
	"token.create":            EventTokenCreated,
	"token.revoke":            EventTokenRevoked,
	"token.restore":           EventTokenRestored,
	"token.rotate":            EventTokenRotated,
	"token.delete":            EventTokenDeleted,
	"service_user.create":     EventServiceUserCreated,
	"service_user.deactivate": EventServiceUserDeactivated,
	"service_user.reactivate": EventServiceUserReactivated,
}

// webhookEventType is the event an audited action sends, or "". A service
// user's update notifies only when its role changed.
func webhookEventType(action string, ch Changes) string {
	if action == "service_user.update" {
		if _, ok := ch["role"]; ok {
			return EventServiceUserRoleChanged
		}
		return ""
	}
	return webhookEventOfAction[action]
}

// WebhookPayload is the JSON body of every delivery.
type WebhookPayload struct {
	Type      string      `json:"type"`
	Timestamp string      `json:"timestamp"` // RFC 3339, when the change happened
	Data      WebhookData `json:"data"`
}

// WebhookData names what the event is about; never a secret.
type WebhookData struct {
	Token       *WebhookToken       `json:"token,omitempty"`
	Replacement *WebhookToken       `json:"replacement,omitempty"` // token.rotated: the new token
	ServiceUser *WebhookServiceUser `json:"service_user,omitempty"`
	Actor       WebhookActor        `json:"actor"`
	Changes     Changes             `json:"changes,omitempty"` // service_user.role_changed: the role
	// Threshold is which warning a token.expiring event is: "7d" or "1d".
	Threshold string `json:"threshold,omitempty"`
	// Leak is where a token.leaked token was found.
	Leak *WebhookLeak `json:"leak,omitempty"`
	// Inactivity is when a token.inactive_warning token will be revoked.
	Inactivity *WebhookInactivity `json:"inactivity,omitempty"`
	// Reason is why a token.revoked token was revoked by the system:
	// "leaked" or "inactive"; empty when a person or a token did it.
	Reason string `json:"reason,omitempty"`
}

// WebhookInactivity is an inactivity warning: the setting, the start of
// the idle period (last use, or creation) and when the token is revoked
// unless it is used before.
type WebhookInactivity struct {
	Days          int    `json:"days"`
	InactiveSince string `json:"inactive_since"`
	NeverUsed     bool   `json:"never_used"` // inactive_since is the creation
	RevokeAt      string `json:"revoke_at"`
}

// WebhookLeak is a secret-scanning partner's finding, as it reported it.
type WebhookLeak struct {
	URL    string `json:"url"`
	Source string `json:"source"`
	Type   string `json:"type"`
}

// WebhookToken is a token as a payload names it.
type WebhookToken struct {
	ID        int64   `json:"id"`
	Name      string  `json:"name"`
	Last4     string  `json:"last4"`
	ExpiresAt *string `json:"expires_at"` // null: never
}

// WebhookServiceUser is a service user as a payload names it.
type WebhookServiceUser struct {
	ID     int64         `json:"id"`
	UserID string        `json:"user_id"`
	Name   string        `json:"name"`
	Status Status        `json:"status"`
	Owner  *WebhookOwner `json:"owner"` // null: nobody
}

// WebhookOwner is the person or team that owns a service user.
type WebhookOwner struct {
	Type string `json:"type"` // "user" or "team"
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// WebhookActor is who made the change.
type WebhookActor struct {
	Kind  ActorKind `json:"kind"`
	ID    *int64    `json:"id,omitempty"`
	Label string    `json:"label"`
}

// enqueueWebhooks puts the event an audited change sends, if any, into the
// outbox: one delivery per enabled endpoint subscribed to it.
func (s *Store) enqueueWebhooks(tx *gorm.DB, a Actor, e *Event, t target, ch Changes) error {
	if e.Outcome != OutcomeSuccess {
		return nil
	}
	typ := webhookEventType(e.Action, ch)
	if typ == "" {
		return nil
	}
	return s.enqueueWebhookEvent(tx, typ, e.OccurredAt, func() (WebhookData, error) {
		d, err := webhookDataOf(tx, a, t, typ, ch)
		if typ == EventTokenRevoked && a.Kind == ActorSystem {
			d.Reason = e.Reason
		}
		return d, err
	})
}

// enqueueWebhookEvent writes one pending delivery of an event of type typ
// per enabled endpoint subscribed to it. data is read only when one is.
func (s *Store) enqueueWebhookEvent(tx *gorm.DB, typ string, at time.Time, data func() (WebhookData, error)) error {
	var endpoints []WebhookEndpoint
	if err := tx.Select("id, events").Where("enabled = ?", true).Order("id").Find(&endpoints).Error; err != nil {
		return fmt.Errorf("models: webhook outbox: %w", err)
	}
	var body []byte
	for _, ep := range endpoints {
		if !ep.Subscribed(typ) {
			continue
		}
		if body == nil {
			d, err := data()
			if err != nil {
				return err
			}
			if body, err = json.Marshal(WebhookPayload{Type: typ, Timestamp: at.UTC().Format(time.RFC3339), Data: d}); err != nil {
				return fmt.Errorf("models: webhook payload: %w", err)
			}
		}
		if _, err := s.insertDelivery(tx, ep.ID, typ, body); err != nil {
			return err
		}
	}
	return nil
}

// insertDelivery writes one pending delivery, due now, and returns its
// webhook-id.
func (s *Store) insertDelivery(tx *gorm.DB, endpointID int64, typ string, body []byte) (string, error) {
	r, err := RandomToken(18)
	if err != nil {
		return "", err
	}
	msgID, now := "msg_"+r, s.Now()
	if err := tx.Exec(`INSERT INTO webhook_deliveries (endpoint_id, msg_id, event_type, payload, status, attempts, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, 0, ?, ?)`, endpointID, msgID, typ, string(body), DeliveryPending, now, now).Error; err != nil {
		return "", fmt.Errorf("models: webhook outbox: %w", err)
	}
	s.outboxFilled = true
	return msgID, nil
}

// wakeWebhookWorker tells a waiting worker of this process that deliveries
// are due, without waiting for it: a wake already pending is enough.
func (s *Store) wakeWebhookWorker() {
	select {
	case s.webhookWake <- struct{}{}:
	default:
	}
}

// webhookDataOf reads what an event about t says, as it is after the change
// (a deleted token as the caller last saw it).
func webhookDataOf(tx *gorm.DB, a Actor, t target, typ string, ch Changes) (WebhookData, error) {
	d := webhookActorData(a)
	userID := t.id
	if t.kind == "token" {
		tok := t.tok
		var fresh Token
		err := tx.Where("id = ?", t.id).Take(&fresh).Error
		switch {
		case err == nil:
			tok = &fresh
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return d, fmt.Errorf("models: webhook payload: %w", err)
		}
		if tok == nil {
			tok = &Token{ID: t.id, Name: t.label}
		}
		d.Token = webhookToken(tok)
		if typ == EventTokenRotated && tok.ReplacedBy != nil {
			var repl Token
			if err := tx.Where("id = ?", *tok.ReplacedBy).Take(&repl).Error; err != nil {
				return d, fmt.Errorf("models: webhook payload: replacement: %w", err)
			}
			d.Replacement = webhookToken(&repl)
		}
		userID = t.owner
	}
	if userID != 0 {
		su, err := webhookServiceUser(tx, userID)
		if err != nil {
			return d, err
		}
		d.ServiceUser = su
	}
	if typ == EventServiceUserRoleChanged {
		d.Changes = Changes{"role": ch["role"]}
	}
	return d, nil
}

// webhookActorData is an event's data naming only who made it.
func webhookActorData(a Actor) WebhookData {
	d := WebhookData{Actor: WebhookActor{Kind: a.Kind, ID: nonZero(a.ID), Label: a.Label}}
	if d.Actor.Kind == "" {
		d.Actor.Kind = ActorSystem
	}
	return d
}

func webhookToken(t *Token) *WebhookToken {
	out := &WebhookToken{ID: t.ID, Name: t.Name}
	// The hint is the prefix, an ellipsis and the secret's last four.
	if h := []rune(t.Hint); len(h) >= 4 && strings.Contains(t.Hint, "…") {
		out.Last4 = string(h[len(h)-4:])
	}
	if t.ExpiresAt != nil {
		s := t.ExpiresAt.UTC().Format(time.RFC3339)
		out.ExpiresAt = &s
	}
	return out
}

func webhookServiceUser(tx *gorm.DB, id int64) (*WebhookServiceUser, error) {
	var u User
	if err := tx.Select("id, kind, name, user_id, email, status, owner_user_id, owner_team_id").Where("id = ?", id).Take(&u).Error; err != nil {
		return nil, fmt.Errorf("models: webhook payload: user: %w", err)
	}
	out := &WebhookServiceUser{ID: u.ID, UserID: u.Handle(), Name: u.Name, Status: u.Status}
	switch {
	case u.OwnerUserID != nil:
		var o User
		if err := tx.Select("id, name").Where("id = ?", *u.OwnerUserID).Take(&o).Error; err != nil {
			return nil, fmt.Errorf("models: webhook payload: owner: %w", err)
		}
		out.Owner = &WebhookOwner{Type: "user", ID: o.ID, Name: o.Name}
	case u.OwnerTeamID != nil:
		var tm Team
		if err := tx.Select("id, name").Where("id = ?", *u.OwnerTeamID).Take(&tm).Error; err != nil {
			return nil, fmt.Errorf("models: webhook payload: owner: %w", err)
		}
		out.Owner = &WebhookOwner{Type: "team", ID: tm.ID, Name: tm.Name}
	}
	return out, nil
}
