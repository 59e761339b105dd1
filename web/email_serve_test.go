package web

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/warden-console/warden/models"
)

// authSink is an in-process SMTP server (go-smtp) that wants AUTH PLAIN
// and hands over each message it accepts.
type authSink struct {
	user, pass string
	got        chan authMail
}

type authMail struct {
	to   []string
	data string
}

type authSession struct {
	sink   *authSink
	authed bool
	to     []string
}

func (s *authSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *authSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.sink.user || pass != s.sink.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.authed = true
		return nil
	}), nil
}

func (s *authSession) Mail(string, *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	return nil
}

func (s *authSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *authSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.sink.got <- authMail{to: s.to, data: string(b)}
	return nil
}

func (s *authSession) Reset()        { s.to = nil }
func (s *authSession) Logout() error { return nil }

// serve with --smtp-url: the first sweep queues the expiry email and wakes
// the email worker, which signs in and sends it (the poll interval is an
// hour: no later poll sends it). A token made with 3 days to live gets the
// 7-day notice, which says 3 days. The password shows in no log.
func TestServeEmailsExpiringTokens(t *testing.T) {
	sink := &authSink{user: "mailer", pass: "pw-never-logged-9431", got: make(chan authMail, 4)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &authSession{sink: sink}, nil }))
	srv.Domain, srv.AllowInsecureAuth = "localhost", true // loopback: no TLS in this test
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	h := newHarness(t, func(c *Config) {
		c.SMTPURL = "smtp://" + sink.user + ":" + sink.pass + "@" + ln.Addr().String()
		c.SMTPFrom = "Warden <warden@example.com>"
		c.BaseURL = "https://warden.example.com"
		c.WebhookPollInterval = time.Hour
	})
	ctx := context.Background()
	st := h.srv.Store()
	svc, err := st.CreateServiceUser(ctx, models.System, models.NewServiceUser{Name: "Billing bot", Role: models.RoleMember, NotifyEmails: []string{"ops@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.GenerateToken(ctx, models.System, svc.ID, models.NewToken{Name: "ci-deploy", Expiry: models.Expiry{Days: 3}}); err != nil {
		t.Fatal(err)
	}

	web, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(serveCtx, web) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	select {
	case m := <-sink.got:
		if len(m.to) != 1 || m.to[0] != "ops@example.com" || !strings.Contains(m.data, "Subject: Token ci-deploy of Billing bot expires in 3 days") ||
			!strings.Contains(m.data, "https://warden.example.com/users/") {
			t.Fatalf("to %v:\n%s", m.to, m.data)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no email within 20 s; log:\n%s", h.logs.String())
	}
	if logs := h.logs.String(); strings.Contains(logs, sink.pass) || !strings.Contains(logs, "emailing token expiry notices") {
		t.Fatalf("the log shows the password or does not say emails are on:\n%s", logs)
	}
}
