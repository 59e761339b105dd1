package models

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"gorm.io/gorm"
)

// smtpSink is a real SMTP server on loopback (go-smtp) that keeps what it
// receives; with fail set it turns every message away with a 451.
type smtpSink struct {
	addr string
	mu   sync.Mutex
	fail bool
	got  []sunkMail
}

type sunkMail struct {
	from string
	to   []string
	data []byte
}

func newSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	k := &smtpSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: k}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return k
}

func (k *smtpSink) setFail(fail bool) {
	k.mu.Lock()
	k.fail = fail
	k.mu.Unlock()
}

func (k *smtpSink) mails() []sunkMail {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.got)
}

type sinkSession struct {
	sink *smtpSink
	cur  sunkMail
}

func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	if s.sink.fail {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.cur = sunkMail{from: from}
	return nil
}

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.sink.mu.Lock()
	s.sink.got = append(s.sink.got, s.cur)
	s.sink.mu.Unlock()
	return nil
}

func (s *sinkSession) Reset()        { s.cur = sunkMail{} }
func (s *sinkSession) Logout() error { return nil }

func emailTestStore(t *testing.T, clock *testClock, sink *smtpSink) *Store {
	t.Helper()
	host, port, _ := net.SplitHostPort(sink.addr)
	return openTestStore(t, WithClock(clock.Now), WithEmail(EmailConfig{
		SMTP: SMTPServer{Host: host, Port: port}, From: "Warden <warden@example.com>",
		BaseURL: "https://warden.example.com/", Timeout: 5 * time.Second,
	}))
}

// parsedMail is a received message's headers and its two parts, decoded.
type parsedMail struct {
	subject, text, html string
	partTypes           []string
}

func parseMail(t *testing.T, raw []byte) parsedMail {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	var p parsedMail
	if p.subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v); want multipart/alternative", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(part)
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		p.partTypes = append(p.partTypes, ct)
		switch ct {
		case "text/plain":
			p.text = string(body)
		case "text/html":
			p.html = string(body)
		}
	}
	return p
}

func mustRunEmails(t *testing.T, w *EmailWorker) int {
	t.Helper()
	n, err := w.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("email worker: %v", err)
	}
	return n
}

func mustEmails(t *testing.T, s *Store) []EmailDelivery {
	t.Helper()
	d, err := s.EmailDeliveries(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestExpiryEmailsReachOwnersTeamAdminsAndTheList(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	sink := newSMTPSink(t)
	s := emailTestStore(t, clock, sink)
	mustAdmin(t, s, "ada@example.com") // an Admin outside the team: not told
	team, err := s.CreateTeam(ctx, System, TeamInput{Name: "Platform"})
	if err != nil {
		t.Fatal(err)
	}
	person := func(name, email string, role Role, teams ...int64) *User {
		u, _, err := s.CreateHumanUser(ctx, System, NewHumanUser{Name: name, Email: email, Role: role, TeamIDs: teams})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	olga := person("Olga Owner", "olga@example.com", RoleMember)
	person("Tara Team-Admin", "tara@example.com", RoleAdmin, team.ID)
	person("Mo Member", "mo@example.com", RoleMember, team.ID)
	gone := person("Gus Gone", "gus@example.com", RoleAdmin, team.ID)
	if _, err := s.DeactivateUser(ctx, System, gone.ID); err != nil {
		t.Fatal(err)
	}

	billing, err := s.CreateServiceUser(ctx, System, NewServiceUser{
		Name: "Billing bot", Role: RoleMember, Owner: Owner{UserID: olga.ID},
		NotifyEmails: []string{"ops@example.com", " OPS@example.com", "olga@example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := billing.NotifyList(); !slices.Equal(got, []string{"ops@example.com", "olga@example.com"}) {
		t.Fatalf("notify list %q; want duplicates dropped", got)
	}
	etl, err := s.CreateServiceUser(ctx, System, NewServiceUser{Name: "Nightly ETL", Role: RoleMember, Owner: Owner{TeamID: team.ID}})
	if err != nil {
		t.Fatal(err)
	}
	_, secret := mustToken(t, s, billing.ID, "ci-deploy", Expiry{Days: 8})
	_, etlSecret := mustToken(t, s, etl.ID, "loader", Expiry{Days: 8})

	w := s.NewEmailWorker()
	if n := mustRunEmails(t, w); n != 0 {
		t.Fatalf("sent %d emails before any was due", n)
	}
	clock.Advance(24*time.Hour + time.Minute) // a sweep a minute into the 7-day window
	mustSweep(t, s)
	if n := mustRunEmails(t, w); n != 2 {
		t.Fatalf("sent %d emails; want 2", n)
	}
	mustSweep(t, s)
	if n := mustRunEmails(t, w); n != 0 {
		t.Fatalf("a second sweep sent %d more", n)
	}

	got := sink.mails()
	if len(got) != 2 {
		t.Fatalf("the server received %d messages; want 2", len(got))
	}
	byRcpt := map[string]sunkMail{}
	for _, m := range got {
		if m.from != "warden@example.com" {
			t.Fatalf("MAIL FROM %q", m.from)
		}
		slices.Sort(m.to)
		byRcpt[strings.Join(m.to, " ")] = m
		for _, sec := range []string{secret, etlSecret} {
			if strings.Contains(string(m.data), sec) {
				t.Fatal("an email holds a token's secret")
			}
		}
	}
	// The owner and the list; the team's active Admins only.
	toBilling, ok := byRcpt["olga@example.com ops@example.com"]
	if !ok {
		t.Fatalf("recipients %v; want olga and ops for Billing bot", slices.Collect(mapKeys(byRcpt)))
	}
	if _, ok := byRcpt["tara@example.com"]; !ok {
		t.Fatalf("recipients %v; want only tara for the team-owned Nightly ETL", slices.Collect(mapKeys(byRcpt)))
	}

	p := parseMail(t, toBilling.data)
	if p.subject != "Token ci-deploy of Billing bot expires in 7 days" {
		t.Fatalf("subject %q", p.subject)
	}
	if !slices.Equal(p.partTypes, []string{"text/plain", "text/html"}) {
		t.Fatalf("parts %v; want text/plain then text/html", p.partTypes)
	}
	link := "https://warden.example.com/users/" + strconv.FormatInt(billing.ID, 10)
	for name, body := range map[string]string{"text": p.text, "html": p.html} {
		if !strings.Contains(body, link) || !strings.Contains(body, "ci-deploy") || !strings.Contains(body, secret[len(secret)-4:]) {
			t.Fatalf("the %s part lacks the link %s, the token or its last 4:\n%s", name, link, body)
		}
	}
	if !strings.Contains(p.html, `<a href="`+link+`"`) {
		t.Fatalf("the HTML part has no link:\n%s", p.html)
	}

	// A day before: the 1d warning; after: token.expired.
	clock.Advance(6 * 24 * time.Hour) // 23 h 59 min left
	mustSweep(t, s)
	clock.Advance(24 * time.Hour) // expired a minute ago
	mustSweep(t, s)
	mustRunEmails(t, w)
	var subjects []string
	for _, m := range sink.mails()[2:] {
		if slices.Contains(m.to, "olga@example.com") {
			subjects = append(subjects, parseMail(t, m.data).subject)
		}
	}
	want := []string{"Token ci-deploy of Billing bot expires in 1 day", "Token ci-deploy of Billing bot has expired"}
	if !slices.Equal(subjects, want) {
		t.Fatalf("later subjects %q; want %q", subjects, want)
	}
	for _, d := range mustEmails(t, s) {
		if d.Status != DeliveryDelivered || d.SentAt == nil || d.Attempts != 1 {
			t.Fatalf("email %d: %s after %d attempts", d.ID, d.Status, d.Attempts)
		}
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestExpiryEmailRetriesWithTheWebhookBackoff(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	sink := newSMTPSink(t)
	s := emailTestStore(t, clock, sink)
	svc, err := s.CreateServiceUser(ctx, System, NewServiceUser{Name: "Billing bot", Role: RoleMember, NotifyEmails: []string{"ops@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	mustToken(t, s, svc.ID, "ci-deploy", Expiry{Days: 8})
	clock.Advance(2 * 24 * time.Hour)
	mustSweep(t, s)
	w := s.NewEmailWorker()

	sink.setFail(true)
	failedAt := clock.Now()
	if n := mustRunEmails(t, w); n != 1 {
		t.Fatalf("claimed %d; want 1", n)
	}
	d := mustEmails(t, s)[0]
	if d.Status != DeliveryPending || d.Attempts != 1 || !d.NextAttemptAt.Equal(failedAt.Add(30*time.Second)) || !strings.Contains(d.LastError, "451") {
		t.Fatalf("after a refusal: %s, %d attempts, next %v (want +30s), error %q", d.Status, d.Attempts, d.NextAttemptAt.Sub(failedAt), d.LastError)
	}
	sink.setFail(false)
	clock.Advance(29 * time.Second)
	if n := mustRunEmails(t, w); n != 0 {
		t.Fatalf("retried %d early", n)
	}
	clock.Advance(time.Second)
	if n := mustRunEmails(t, w); n != 1 {
		t.Fatalf("retried %d at +30 s; want 1", n)
	}
	if len(sink.mails()) != 1 {
		t.Fatalf("the server has %d messages; want 1", len(sink.mails()))
	}
	if d := mustEmails(t, s)[0]; d.Status != DeliveryDelivered || d.Attempts != 2 || d.LastError != "" {
		t.Fatalf("after the retry: %s, %d attempts, %q", d.Status, d.Attempts, d.LastError)
	}

	// A server that never takes it: failed after the schedule's last wait.
	tok, _ := mustToken(t, s, svc.ID, "nightly", Expiry{Days: 3})
	mustSweep(t, s)
	sink.setFail(true)
	for i, wait := range append([]time.Duration{0}, webhookBackoff...) {
		clock.Advance(wait)
		if n := mustRunEmails(t, w); n != 1 {
			t.Fatalf("attempt %d claimed %d", i+1, n)
		}
	}
	var last EmailDelivery
	if err := s.db.Where("token_id = ?", tok.ID).Take(&last).Error; err != nil {
		t.Fatal(err)
	}
	if last.Status != DeliveryFailed || last.Attempts != len(webhookBackoff)+1 {
		t.Fatalf("after every attempt: %s, %d attempts", last.Status, last.Attempts)
	}
	clock.Advance(48 * time.Hour)
	if n := mustRunEmails(t, w); n != 0 {
		t.Fatalf("a failed email was claimed again")
	}
}

func TestExpiryEmailRolledBackIsNeverSent(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	sink := newSMTPSink(t)
	s := emailTestStore(t, clock, sink)
	svc, err := s.CreateServiceUser(ctx, System, NewServiceUser{Name: "Billing bot", Role: RoleMember, NotifyEmails: []string{"ops@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := mustToken(t, s, svc.ID, "ci-deploy", Expiry{Days: 3})
	boom := errors.New("boom")
	err = s.write(ctx, func(tx *gorm.DB) error {
		data := func() (WebhookData, error) {
			return webhookDataOf(tx, System, target{kind: "token", id: tok.ID, owner: svc.ID}, EventTokenExpiring, nil)
		}
		if ok, err := s.enqueueExpiryEmail(tx, EventTokenExpiring, tok.ID, svc.ID, data); !ok || err != nil {
			t.Fatalf("enqueue: %v, %v", ok, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("write: %v", err)
	}
	w := s.NewEmailWorker()
	if n := mustRunEmails(t, w); n != 0 || len(mustEmails(t, s)) != 0 || len(sink.mails()) != 0 {
		t.Fatalf("a rolled-back email was kept or sent (claimed %d)", n)
	}
}

func TestNoSMTPQueuesNoEmail(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	svc, err := s.CreateServiceUser(ctx, System, NewServiceUser{Name: "Billing bot", Role: RoleMember, NotifyEmails: []string{"ops@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	mustToken(t, s, svc.ID, "ci-deploy", Expiry{Days: 3})
	if n := mustSweep(t, s); n != 1 {
		t.Fatalf("swept %d; want 1", n)
	}
	if got := mustEmails(t, s); len(got) != 0 {
		t.Fatalf("%d emails queued without an SMTP server", len(got))
	}
}

func TestNotifyEmailsAreCheckedAndAudited(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	_, err := s.CreateServiceUser(ctx, System, NewServiceUser{Name: "Billing bot", Role: RoleMember, NotifyEmails: []string{"ops@example.com", "not-an-address"}})
	if msg := FieldErrors(err)["notify_emails"]; !strings.Contains(msg, "not-an-address") {
		t.Fatalf("error %v; want notify_emails naming the address", err)
	}
	var many []string
	for i := range MaxNotifyEmails + 1 {
		many = append(many, "ops"+strconv.FormatInt(int64(i), 10)+"@example.com")
	}
	if _, err := s.CreateServiceUser(ctx, System, NewServiceUser{Name: "Billing bot", Role: RoleMember, NotifyEmails: many}); FieldErrors(err)["notify_emails"] == "" {
		t.Fatalf("11 addresses: %v", err)
	}
	svc, err := s.CreateServiceUser(ctx, System, NewServiceUser{Name: "Billing bot", Role: RoleMember, NotifyEmails: []string{"ops@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	mark := auEventsAfter(t, s, 0)
	last := mark[len(mark)-1].ID
	list := []string{"ops@example.com", "oncall@example.com"}
	if _, err := s.UpdateUser(ctx, System, svc.ID, UserUpdate{Role: RoleMember, NotifyEmails: &list}); err != nil {
		t.Fatal(err)
	}
	evs := auEventsAfter(t, s, last)
	if len(evs) != 1 || evs[0].Action != "service_user.update" {
		t.Fatalf("events %+v", evs)
	}
	ch := evs[0].ParsedChanges()["notify_emails"]
	if !strings.Contains(fmtAny(ch.Before), "ops@example.com") || !strings.Contains(fmtAny(ch.After), "oncall@example.com") {
		t.Fatalf("notify_emails change %+v", ch)
	}
	// nil keeps the list.
	u, err := s.UpdateUser(ctx, System, svc.ID, UserUpdate{Role: RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(u.NotifyList(), list) {
		t.Fatalf("list %q after an update without it", u.NotifyList())
	}
}

func fmtAny(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestParseSMTPURL(t *testing.T) {
	s, err := ParseSMTPURL("smtps://mailer:p%40ss@mail.example.com")
	if err != nil || !s.ImplicitTLS || s.Port != "465" || s.Username != "mailer" || s.Password != "p@ss" || s.Host != "mail.example.com" {
		t.Fatalf("%+v, %v", s, err)
	}
	if strings.Contains(s.String(), "p@ss") || strings.Contains(s.String(), "p%40ss") {
		t.Fatalf("String() shows the password: %s", s)
	}
	if s, err := ParseSMTPURL("smtp://mail.example.com:2525"); err != nil || s.ImplicitTLS || s.Port != "2525" {
		t.Fatalf("%+v, %v", s, err)
	}
	for _, bad := range []string{"http://u:secretpw@mail.example.com", "smtp://u:secretpw@:25", "smtp://u:secretpw@mail.example.com:0", "smtp://u:secretpw@mail.example.com/x"} {
		_, err := ParseSMTPURL(bad)
		if err == nil || strings.Contains(err.Error(), "secretpw") {
			t.Fatalf("%s: %v", bad, err)
		}
	}
}

func TestExpiresInRoundsUp(t *testing.T) {
	for d, want := range map[time.Duration]string{
		7*24*time.Hour - time.Minute: "7 days",
		3 * 24 * time.Hour:           "3 days",
		24*time.Hour - time.Minute:   "1 day",
		5*time.Hour + time.Minute:    "6 hours",
		30 * time.Minute:             "1 hour",
	} {
		if got := expiresIn(d); got != want {
			t.Errorf("expiresIn(%v) = %q; want %q", d, got, want)
		}
	}
}

// Two replicas' workers claiming at once send each email once.
func TestTwoEmailWorkersSendEachEmailOnce(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	sink := newSMTPSink(t)
	host, port, _ := net.SplitHostPort(sink.addr)
	cfg := EmailConfig{SMTP: SMTPServer{Host: host, Port: port}, From: "warden@example.com", BaseURL: "https://warden.example.com", Timeout: 5 * time.Second}
	a, b := twoStores(t, WithClock(clock.Now), WithEmail(cfg))
	for i := range 5 {
		svc, err := a.CreateServiceUser(ctx, System, NewServiceUser{Name: "bot " + strconv.Itoa(i), Role: RoleMember, NotifyEmails: []string{"ops@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		mustToken(t, a, svc.ID, "ci", Expiry{Days: 3})
	}
	mustSweep(t, a)
	var wg sync.WaitGroup
	for _, s := range []*Store{a, b} {
		wg.Go(func() {
			if _, err := s.NewEmailWorker().RunOnce(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := len(sink.mails()); got != 5 {
		t.Fatalf("the server received %d messages; want each of the 5 once", got)
	}
}
