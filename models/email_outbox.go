package models

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"gorm.io/gorm"
)

// EmailDelivery is one email on its way to its recipients: a row of the
// email outbox.
type EmailDelivery struct {
	ID            int64 `gorm:"primaryKey"`
	EventType     string
	TokenID       *int64
	Recipients    string // newline-separated
	Subject       string
	TextBody      string
	HTMLBody      string `gorm:"column:html_body"`
	Status        string // DeliveryPending, DeliveryDelivered or DeliveryFailed
	Attempts      int
	NextAttemptAt time.Time
	ClaimedUntil  *time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        *time.Time
}

// TableName implements gorm's tabler.
func (EmailDelivery) TableName() string { return "email_deliveries" }

// RecipientList is the delivery's addresses.
func (d *EmailDelivery) RecipientList() []string { return strings.Split(d.Recipients, "\n") }

// expiryEmail is what an expiry email says; both parts are made from it.
type expiryEmail struct {
	Event       string // token.expiring, token.expired or token.inactive_warning
	Token       string
	Last4       string
	Service     string
	Handle      string
	ExpiresAt   string // "2026-03-08 09:00 UTC"
	In          string // "7 days", "1 day", "5 hours": the time left
	Link        string
	OwnerPhrase string
	// An inactivity warning's: the setting, the idle period's start
	// ("2026-03-08 09:00 UTC"), whether it was never used, the revocation.
	Days      int
	Since     string
	NeverUsed bool
	RevokeAt  string
}

// subject is e.g. "Token ci-deploy of Billing bot expires in 7 days".
func (m expiryEmail) subject() string {
	if m.Event == EventTokenExpired {
		return "Token " + m.Token + " of " + m.Service + " has expired"
	}
	if m.Event == EventTokenInactiveWarning {
		return "Token " + m.Token + " of " + m.Service + " will be revoked for inactivity in " + m.In
	}
	return "Token " + m.Token + " of " + m.Service + " expires in " + m.In
}

const expiryEmailText = `{{if eq .Event "token.inactive_warning"}}The token {{.Token}}{{if .Last4}} (ending {{.Last4}}){{end}} of the service user {{.Service}} ({{.Handle}}) {{if .NeverUsed}}has never been used since it was generated at {{.Since}}{{else}}has not been used since {{.Since}}{{end}}. Warden revokes tokens unused for {{.Days}} days, so it will be revoked in {{.In}}, at {{.RevokeAt}}.

If something still needs it, any successful use before then keeps it. If nothing uses it any more, let it be revoked, or revoke it now.
{{- else if eq .Event "token.expired"}}The token {{.Token}}{{if .Last4}} (ending {{.Last4}}){{end}} of the service user {{.Service}} ({{.Handle}}) expired at {{.ExpiresAt}}. Warden now refuses it.

If something still uses it, generate a new token for {{.Service}} and put it in place.
{{- else}}The token {{.Token}}{{if .Last4}} (ending {{.Last4}}){{end}} of the service user {{.Service}} ({{.Handle}}) expires in {{.In}}, at {{.ExpiresAt}}.

Whatever uses it stops working then. Rotate it or generate a new token, and put the new one in place before then; if nothing uses it any more, let it expire or revoke it.
{{- end}}

Open {{.Service}} in Warden:
{{.Link}}

You receive this because {{.OwnerPhrase}}. Warden never sends a token's secret by email.

-- 
Warden
`

const expiryEmailHTML = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: system-ui, sans-serif; color: #0f172a; line-height: 1.5;">
{{- with .M}}
{{- if eq .Event "token.inactive_warning"}}
<p>The token <strong>{{.Token}}</strong>{{if .Last4}} (ending <code>{{.Last4}}</code>){{end}} of the service user <strong>{{.Service}}</strong> (<code>{{.Handle}}</code>) {{if .NeverUsed}}has never been used since it was generated at {{.Since}}{{else}}has not been used since {{.Since}}{{end}}. Warden revokes tokens unused for {{.Days}} days, so it will be revoked in <strong>{{.In}}</strong>, at {{.RevokeAt}}.</p>
<p>If something still needs it, any successful use before then keeps it. If nothing uses it any more, let it be revoked, or revoke it now.</p>
{{- else if eq .Event "token.expired"}}
<p>The token <strong>{{.Token}}</strong>{{if .Last4}} (ending <code>{{.Last4}}</code>){{end}} of the service user <strong>{{.Service}}</strong> (<code>{{.Handle}}</code>) expired at {{.ExpiresAt}}. Warden now refuses it.</p>
<p>If something still uses it, generate a new token for {{.Service}} and put it in place.</p>
{{- else}}
<p>The token <strong>{{.Token}}</strong>{{if .Last4}} (ending <code>{{.Last4}}</code>){{end}} of the service user <strong>{{.Service}}</strong> (<code>{{.Handle}}</code>) expires in <strong>{{.In}}</strong>, at {{.ExpiresAt}}.</p>
<p>Whatever uses it stops working then. Rotate it or generate a new token, and put the new one in place before then; if nothing uses it any more, let it expire or revoke it.</p>
{{- end}}
<p><a href="{{.Link}}" style="color: #4338ca;">Open {{.Service}} in Warden</a></p>
<p style="color: #475569; font-size: 0.875em;">You receive this because {{.OwnerPhrase}}. Warden never sends a token's secret by email.</p>
{{- end}}
</body>
</html>
`

var (
	expiryTextTmpl = texttemplate.Must(texttemplate.New("text").Parse(expiryEmailText))
	expiryHTMLTmpl = htmltemplate.Must(htmltemplate.New("html").Parse(expiryEmailHTML))
)

// enqueueExpiryEmail writes the email of an expiry or inactivity event about a token of
// the service user userID, addressed to its owner (the person, or the
// owning team's active Admins) and its notification list. Nobody to write
// to: no email. Only the outbox is written; the caller's commit sends it.
func (s *Store) enqueueExpiryEmail(tx *gorm.DB, typ string, tokenID, userID int64, data func() (WebhookData, error)) (bool, error) {
	to, phrase, err := expiryRecipients(tx, userID)
	if err != nil || len(to) == 0 {
		return false, err
	}
	d, err := data()
	if err != nil {
		return false, err
	}
	if d.Token == nil || d.ServiceUser == nil {
		return false, fmt.Errorf("models: expiry email: token %d has no service user", tokenID)
	}
	m := expiryEmail{
		Event: typ, Token: d.Token.Name, Last4: d.Token.Last4, Service: d.ServiceUser.Name, Handle: d.ServiceUser.UserID,
		Link: s.email.BaseURL + "/users/" + strconv.FormatInt(d.ServiceUser.ID, 10), OwnerPhrase: phrase,
	}
	if d.Token.ExpiresAt != nil {
		if at, err := time.Parse(time.RFC3339, *d.Token.ExpiresAt); err == nil {
			m.ExpiresAt = at.UTC().Format("2006-01-02 15:04 UTC")
			m.In = expiresIn(at.Sub(s.Now()))
		}
	}
	if in := d.Inactivity; in != nil {
		m.Days, m.NeverUsed = in.Days, in.NeverUsed
		if at, err := time.Parse(time.RFC3339, in.InactiveSince); err == nil {
			m.Since = at.UTC().Format("2006-01-02 15:04 UTC")
		}
		if at, err := time.Parse(time.RFC3339, in.RevokeAt); err == nil {
			m.RevokeAt = at.UTC().Format("2006-01-02 15:04 UTC")
			m.In = expiresIn(at.Sub(s.Now()))
		}
	}
	var text, html bytes.Buffer
	if err := expiryTextTmpl.Execute(&text, m); err != nil {
		return false, fmt.Errorf("models: expiry email: %w", err)
	}
	if err := expiryHTMLTmpl.Execute(&html, struct {
		Subject string
		M       expiryEmail
	}{m.subject(), m}); err != nil {
		return false, fmt.Errorf("models: expiry email: %w", err)
	}
	now := s.Now()
	if err := tx.Exec(`INSERT INTO email_deliveries (event_type, token_id, recipients, subject, text_body, html_body, status, attempts, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`, typ, tokenID, strings.Join(to, "\n"), m.subject(), text.String(), html.String(),
		DeliveryPending, now, now).Error; err != nil {
		return false, fmt.Errorf("models: email outbox: %w", err)
	}
	return true, nil
}

// expiryRecipients is who hears about a service user's expiring tokens: the
// owning person, or the owning team's Admins (active people with the Admin
// role who are members), then its notification list, each address once.
// Deactivated people get nothing: they have left. phrase says why a
// recipient receives it.
func expiryRecipients(tx *gorm.DB, userID int64) (to []string, phrase string, err error) {
	var u User
	if err := tx.Select("id, owner_user_id, owner_team_id, notify_emails").Where("id = ?", userID).Take(&u).Error; err != nil {
		return nil, "", fmt.Errorf("models: expiry email: user: %w", err)
	}
	var owners []string
	switch {
	case u.OwnerUserID != nil:
		phrase = "you own this service user in Warden"
		err = tx.Model(&User{}).Where("id = ? AND kind = ? AND status = ? AND email IS NOT NULL", *u.OwnerUserID, KindHuman, StatusActive).
			Pluck("email", &owners).Error
	case u.OwnerTeamID != nil:
		phrase = "you are an Admin of the team that owns this service user in Warden"
		err = tx.Raw(`SELECT u.email FROM users u JOIN user_teams ut ON ut.user_id = u.id
			WHERE ut.team_id = ? AND u.kind = ? AND u.role = ? AND u.status = ? AND u.email IS NOT NULL ORDER BY u.id`,
			*u.OwnerTeamID, KindHuman, RoleAdmin, StatusActive).Scan(&owners).Error
	}
	if err != nil {
		return nil, "", fmt.Errorf("models: expiry email: owners: %w", err)
	}
	extra := u.NotifyList()
	switch {
	case len(extra) > 0 && phrase != "":
		phrase += ", or your address is on its notification list"
	case len(extra) > 0:
		phrase = "your address is on this service user's notification list in Warden"
	}
	seen := map[string]bool{}
	for _, a := range append(owners, extra...) {
		if k := strings.ToLower(a); a != "" && !seen[k] {
			seen[k] = true
			to = append(to, a)
		}
	}
	return to, phrase, nil
}

// wakeEmailWorker tells a waiting email worker of this process that emails
// are due, without waiting for it.
func (s *Store) wakeEmailWorker() {
	select {
	case s.emailWake <- struct{}{}:
	default:
	}
}

// expiresIn words the time left, rounded up: the sweep runs every minute,
// so the 7-day warning says "7 days" and the 1-day one "1 day"; a token
// first seen later (made with 3 days to live) says how long it really has.
func expiresIn(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.FormatInt(n, 10) + " " + unit + "s"
	}
	const day = 24 * time.Hour
	switch {
	case d > 23*time.Hour:
		return plural(int64((d+day-1)/day), "day")
	case d > 0:
		return plural(int64((d+time.Hour-1)/time.Hour), "hour")
	}
	return "moments"
}
