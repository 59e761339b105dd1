package models

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxNotifyEmails bounds a service user's notification address list.
const MaxNotifyEmails = 10

// EmailConfig configures the expiry emails (--smtp-url, --smtp-from,
// --base-url). With no SMTP server the sweeper queues no email.
type EmailConfig struct {
	SMTP SMTPServer
	// From is the sender address, --smtp-from.
	From string
	// BaseURL is the console's public origin, for the link in each email.
	BaseURL string
	// Timeout bounds one sending attempt, connection to last reply; 30 s
	// unless set.
	Timeout time.Duration
	// TLS, when set, replaces the default TLS settings (tests trust their
	// own certificate with it); its ServerName is filled in.
	TLS *tls.Config
}

// SMTPServer is a parsed --smtp-url.
type SMTPServer struct {
	Host string
	Port string
	// ImplicitTLS is smtps://: TLS from the first byte. Otherwise STARTTLS
	// is used when the server offers it.
	ImplicitTLS bool
	Username    string
	Password    string
}

// Addr is host:port.
func (s SMTPServer) Addr() string { return net.JoinHostPort(s.Host, s.Port) }

// String names the server for logs: scheme, user, host and port, never the
// password.
func (s SMTPServer) String() string {
	scheme := "smtp"
	if s.ImplicitTLS {
		scheme = "smtps"
	}
	user := ""
	if s.Username != "" {
		user = url.User(s.Username).String() + "@"
	}
	return scheme + "://" + user + s.Addr()
}

// ParseSMTPURL reads smtp://user:pass@host:port or smtps://…. The port
// defaults to 587 (submission) for smtp and 465 for smtps. Its errors never
// repeat the URL, which holds the password.
func ParseSMTPURL(raw string) (SMTPServer, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return SMTPServer{}, errors.New("models: the SMTP URL is not a URL; use smtp://user:password@host:port (percent-encode special characters)")
	}
	var s SMTPServer
	switch u.Scheme {
	case "smtp":
		s.Port = "587"
	case "smtps":
		s.Port, s.ImplicitTLS = "465", true
	default:
		return SMTPServer{}, errors.New("models: the SMTP URL must start with smtp:// or smtps://")
	}
	if u.Hostname() == "" {
		return SMTPServer{}, errors.New("models: the SMTP URL names no host")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return SMTPServer{}, errors.New("models: the SMTP URL must be only scheme, credentials, host and port")
	}
	s.Host = u.Hostname()
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return SMTPServer{}, errors.New("models: the SMTP URL's port must be 1 to 65535")
		}
		s.Port = p
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	return s, nil
}

// CheckEmailFrom checks --smtp-from: one address, optionally with a name
// ("Warden <warden@example.com>").
func CheckEmailFrom(from string) error {
	if _, _, msg := CleanEmail(emailAddressOf(from)); msg != "" {
		return fmt.Errorf("models: %q is not an email address", from)
	}
	return nil
}

// emailAddressOf is the address of "Name <addr>", or the string itself.
func emailAddressOf(from string) string {
	from = strings.TrimSpace(from)
	if i := strings.LastIndexByte(from, '<'); i >= 0 && strings.HasSuffix(from, ">") {
		return from[i+1 : len(from)-1]
	}
	return from
}

// WithEmail turns on the expiry emails.
func WithEmail(c EmailConfig) Option {
	return func(s *Store) { s.SetEmail(c) }
}

// SetEmail turns on the expiry emails on an open store. Call it before a
// sweep or an email worker starts: it is not safe alongside them.
func (s *Store) SetEmail(c EmailConfig) {
	c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
	s.email = &c
}

// EmailEnabled reports whether the sweeper queues emails.
func (s *Store) EmailEnabled() bool { return s.email != nil }

// CleanNotifyEmails checks a notification address list: each address as a
// person's email is checked, duplicates (in any letter case) dropped, at
// most MaxNotifyEmails. The message names the first bad address.
func CleanNotifyEmails(raw []string) ([]string, string) {
	out := []string{}
	seen := map[string]bool{}
	for _, r := range raw {
		if strings.TrimSpace(r) == "" {
			continue
		}
		email, key, msg := CleanEmail(r)
		if msg != "" {
			return out, fmt.Sprintf("%q is not a valid email address.", clipUTF8(strings.TrimSpace(r), 80))
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, email)
	}
	if len(out) > MaxNotifyEmails {
		return out, fmt.Sprintf("Use at most %d addresses.", MaxNotifyEmails)
	}
	return out, ""
}

// SplitNotifyEmails reads a form's address list: one per line, or
// separated by commas or semicolons. Spaces do not separate, so a typo
// such as "ops @example.com" is named whole.
func SplitNotifyEmails(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ';' })
}

// NotifyList is the service user's notification addresses.
func (u *User) NotifyList() []string {
	if u.NotifyEmails == "" {
		return []string{}
	}
	return strings.Split(u.NotifyEmails, "\n")
}

func joinNotifyEmails(list []string) string { return strings.Join(list, "\n") }
