package models

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// testCert is a self-signed certificate for 127.0.0.1 and a pool that
// trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// tlsSession accepts mail only over TLS and after AUTH PLAIN.
type tlsSession struct {
	conn   *smtp.Conn
	authed bool
	got    chan<- bool // whether the message came over TLS
}

func (s *tlsSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *tlsSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "mailer" || pass != "s3cret" {
			return &smtp.SMTPError{Code: 535, Message: "bad credentials"}
		}
		s.authed = true
		return nil
	}), nil
}
func (s *tlsSession) Mail(string, *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (s *tlsSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *tlsSession) Data(r io.Reader) error {
	_, _ = io.Copy(io.Discard, r)
	_, ok := s.conn.TLSConnectionState()
	s.got <- ok
	return nil
}
func (s *tlsSession) Reset()        {}
func (s *tlsSession) Logout() error { return nil }

// STARTTLS when offered (smtp://) and TLS from the first byte (smtps://),
// with the password sent only inside TLS.
func TestEmailOverTLS(t *testing.T) {
	cert, pool := testCert(t)
	for _, implicit := range []bool{false, true} {
		got := make(chan bool, 1)
		srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &tlsSession{conn: c, got: got}, nil }))
		srv.Domain = "localhost"
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if implicit {
			ln = tls.NewListener(ln, srv.TLSConfig)
		}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })

		host, port, _ := net.SplitHostPort(ln.Addr().String())
		clock := newTestClock()
		s := openTestStore(t, WithClock(clock.Now), WithEmail(EmailConfig{
			SMTP: SMTPServer{Host: host, Port: port, ImplicitTLS: implicit, Username: "mailer", Password: "s3cret"},
			From: "warden@example.com", BaseURL: "https://warden.example.com", Timeout: 5 * time.Second,
			TLS: &tls.Config{RootCAs: pool},
		}))
		svc, err := s.CreateServiceUser(context.Background(), System, NewServiceUser{Name: "Billing bot", Role: RoleMember, NotifyEmails: []string{"ops@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		mustToken(t, s, svc.ID, "ci-deploy", Expiry{Days: 3})
		mustSweep(t, s)
		mustRunEmails(t, s.NewEmailWorker())
		select {
		case overTLS := <-got:
			if !overTLS {
				t.Fatalf("implicit=%v: the message came in clear", implicit)
			}
		default:
			d := mustEmails(t, s)[0]
			t.Fatalf("implicit=%v: nothing received; %s, %q", implicit, d.Status, d.LastError)
		}
	}
}
