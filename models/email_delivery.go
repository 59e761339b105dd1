package models

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"gorm.io/gorm"
)

const (
	// defaultEmailTimeout bounds one sending attempt, connection to the
	// last reply.
	defaultEmailTimeout = 30 * time.Second
	defaultEmailBatch   = 16
)

// EmailWorker sends the email outbox's due messages. Like the webhook
// worker, several may run at once, in one process or on several replicas:
// each message is claimed by one of them for a lease.
type EmailWorker struct {
	s       *Store
	timeout time.Duration
	batch   int
}

// NewEmailWorker returns a worker for the store's email outbox, configured
// by WithEmail; it must be set.
func (s *Store) NewEmailWorker() *EmailWorker {
	w := &EmailWorker{s: s, timeout: s.email.Timeout, batch: defaultEmailBatch}
	if w.timeout <= 0 {
		w.timeout = defaultEmailTimeout
	}
	return w
}

// lease is how long a claim lasts: longer than any attempt.
func (w *EmailWorker) lease() time.Duration { return w.timeout + time.Minute }

// Run sends until ctx ends, looking for due messages every interval, at
// once after a sweep of this process queued some, and at once again after
// a full batch. Every hour it also prunes the outbox
// (PruneEmailDeliveries). onError hears what a round could not do.
func (w *EmailWorker) Run(ctx context.Context, every time.Duration, onError func(error)) {
	outboxLoop{every: every, wake: w.s.emailWake, batch: w.batch,
		prune: w.s.PruneEmailDeliveries, round: w.RunOnce, onError: onError}.run(ctx, w.s.Now)
}

// claimedEmail is a message a worker holds the lease of.
type claimedEmail struct {
	ID         int64
	Recipients string
	Subject    string
	TextBody   string
	HTMLBody   string
	Attempts   int
}

// RunOnce claims up to a batch of due messages, sends them one after
// another and records each outcome. It returns how many it claimed.
func (w *EmailWorker) RunOnce(ctx context.Context) (int, error) {
	claimed, lease, err := w.claim(ctx)
	if err != nil {
		return 0, err
	}
	var errs []error
	for i := range claimed {
		refused, err := w.send(ctx, &claimed[i])
		if ctx.Err() != nil {
			break // shutting down: the lease runs out and a worker sends it again
		}
		errs = append(errs, w.s.recordEmailAttempt(ctx, &claimed[i], lease, refused, err))
	}
	return len(claimed), errors.Join(errs...)
}

// claim takes the lease of up to a batch of due messages in one statement:
// under SQLite's write lock, or, on PostgreSQL, with the rows another
// worker is claiming skipped (FOR UPDATE SKIP LOCKED).
func (w *EmailWorker) claim(ctx context.Context) ([]claimedEmail, time.Time, error) {
	now := w.s.Now()
	lease := now.Add(w.lease())
	lock := ""
	if w.s.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	q := `UPDATE email_deliveries SET claimed_until = ?
		WHERE id IN (SELECT id FROM email_deliveries
			WHERE status = ? AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)
			ORDER BY next_attempt_at, id LIMIT ?` + lock + `)
		RETURNING id, recipients, subject, text_body, html_body, attempts`
	var out []claimedEmail
	err := w.s.writeRow(ctx, func(db *gorm.DB) error {
		return db.Raw(q, lease, DeliveryPending, now, now, w.batch).Scan(&out).Error
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("models: claim emails: %w", err)
	}
	return out, lease, nil
}

// send delivers one message over SMTP: TLS from the start (smtps://) or
// STARTTLS when the server offers it, then AUTH PLAIN when the URL has a
// user. The password is never sent in clear except to a loopback server.
// A recipient the server refuses for good (5xx) is left out and reported
// in refused; the message goes to the others.
func (w *EmailWorker) send(ctx context.Context, m *claimedEmail) (refused []string, err error) {
	cfg := w.s.email
	srv := cfg.SMTP
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	d := net.Dialer{Timeout: w.timeout}
	conn, err := d.DialContext(ctx, "tcp", srv.Addr())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// One deadline for the whole exchange, and the context's end closes
	// the connection too.
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	tlsCfg := &tls.Config{ServerName: srv.Host, MinVersion: tls.VersionTLS12}
	if cfg.TLS != nil {
		tlsCfg = cfg.TLS.Clone()
		if tlsCfg.ServerName == "" {
			tlsCfg.ServerName = srv.Host
		}
	}
	if srv.ImplicitTLS {
		tc := tls.Client(conn, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, srv.Host)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Hello(heloName(cfg.BaseURL)); err != nil {
		return nil, err
	}
	if ok, _ := c.Extension("STARTTLS"); ok && !srv.ImplicitTLS {
		if err := c.StartTLS(tlsCfg); err != nil {
			return nil, fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if srv.Username != "" {
		// PlainAuth itself refuses to send the password without TLS,
		// unless the server is this machine.
		if err := c.Auth(smtp.PlainAuth("", srv.Username, srv.Password, srv.Host)); err != nil {
			return nil, fmt.Errorf("authentication: %w", err)
		}
	}
	from := emailAddressOf(cfg.From)
	if err := c.Mail(from); err != nil {
		return nil, err
	}
	var accepted []string
	for _, to := range strings.Split(m.Recipients, "\n") {
		err := c.Rcpt(to)
		var te *textproto.Error
		switch {
		case err == nil:
			accepted = append(accepted, to)
		case errors.As(err, &te) && te.Code >= 500:
			refused = append(refused, to)
		default:
			return nil, err // a temporary refusal: try them all again later
		}
	}
	if len(accepted) == 0 {
		return refused, errors.New("the server refused every recipient")
	}
	msg, err := buildEmail(cfg.From, accepted, m.Subject, m.TextBody, m.HTMLBody, w.s.Now())
	if err != nil {
		return nil, err
	}
	wc, err := c.Data()
	if err != nil {
		return nil, err
	}
	if _, err := wc.Write(msg); err != nil {
		return nil, err
	}
	if err := wc.Close(); err != nil {
		return nil, err
	}
	_ = c.Quit()
	return refused, nil
}

// heloName is the console's host, for EHLO: some servers turn away
// "localhost".
func heloName(baseURL string) string {
	if u, err := url.Parse(baseURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "localhost"
}

// buildEmail assembles the message: headers, then a multipart/alternative
// body with the plain text first and the HTML second (the preferred last),
// both quoted-printable UTF-8.
func buildEmail(from string, to []string, subject, text, html string, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	host := "warden"
	if _, domain, ok := strings.Cut(emailAddressOf(from), "@"); ok {
		host = domain
	}
	h := []string{
		"From: " + encodeFrom(from),
		"To: " + strings.Join(to, ", "),
		"Subject: " + mime.QEncoding.Encode("utf-8", subject),
		"Date: " + now.Format(time.RFC1123Z),
		"Message-ID: <" + hex.EncodeToString(id) + "@" + host + ">",
		"MIME-Version: 1.0",
		"Auto-Submitted: auto-generated",
		"Content-Type: multipart/alternative; boundary=\"" + mw.Boundary() + "\"",
	}
	var out bytes.Buffer
	out.WriteString(strings.Join(h, "\r\n") + "\r\n\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", text}, {"text/html", html}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, fmt.Errorf("models: email: %w", err)
		}
		qp := quotedprintable.NewWriter(pw)
		if _, err := qp.Write([]byte(strings.ReplaceAll(part.body, "\n", "\r\n"))); err != nil {
			return nil, fmt.Errorf("models: email: %w", err)
		}
		if err := qp.Close(); err != nil {
			return nil, fmt.Errorf("models: email: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("models: email: %w", err)
	}
	out.Write(b.Bytes())
	return out.Bytes(), nil
}

// encodeFrom encodes the display name of "Name <addr>" when it is not
// plain ASCII.
func encodeFrom(from string) string {
	from = strings.TrimSpace(from)
	i := strings.LastIndexByte(from, '<')
	if i <= 0 {
		return from
	}
	name := strings.Trim(strings.TrimSpace(from[:i]), `"`)
	return mime.QEncoding.Encode("utf-8", name) + " " + from[i:]
}

// recordEmailAttempt writes an attempt's outcome if the worker still holds
// the message's lease: sent, due again by the webhooks' backoff, or failed
// after the last attempt.
func (s *Store) recordEmailAttempt(ctx context.Context, m *claimedEmail, lease time.Time, refused []string, sendErr error) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		now := s.Now()
		attempts := m.Attempts + 1
		upd := map[string]any{"attempts": attempts, "claimed_until": nil, "last_error": ""}
		if len(refused) > 0 {
			upd["last_error"] = clipUTF8("refused for good: "+strings.Join(refused, ", "), 500)
		}
		switch at, last := retryAt(now, attempts); {
		case sendErr == nil:
			upd["status"], upd["sent_at"] = DeliveryDelivered, now
		case last:
			upd["status"], upd["last_error"] = DeliveryFailed, clipUTF8(sendErr.Error(), 500)
		default:
			upd["next_attempt_at"], upd["last_error"] = at, clipUTF8(sendErr.Error(), 500)
		}
		res := tx.Model(&EmailDelivery{}).Where("id = ? AND status = ? AND claimed_until = ?", m.ID, DeliveryPending, lease).Updates(upd)
		if res.Error != nil {
			return fmt.Errorf("models: record email attempt: %w", res.Error)
		}
		return nil
	})
}

// EmailDeliveries returns the most recent emails, newest first.
func (s *Store) EmailDeliveries(ctx context.Context, limit int) ([]EmailDelivery, error) {
	var out []EmailDelivery
	if err := s.db.WithContext(ctx).Order("id DESC").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: email deliveries: %w", err)
	}
	return out, nil
}
