// Package web assembles Warden's HTTP application: configuration, the
// middleware chain (request ids, logging, recovery, security headers,
// sessions, CSRF), the routes, and the server's lifecycle.
package web

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/web/request"
)

// Config is the server's configuration. Every field has a flag and an
// environment variable twin; a flag given on the command line wins.
type Config struct {
	Addr   string
	DBPath string
	// DatabaseURL, when set, selects PostgreSQL (for several replicas)
	// instead of the SQLite file at DBPath.
	DatabaseURL     string
	BaseURL         string
	TrustedProxies  string
	SecureCookies   bool
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	SessionHashKey  string
	SessionBlockKey string
	LogFormat       string
	LogLevel        string
	// APIRateLimit is the average number of API requests per second one
	// token may send (bursts up to twice that); 0 turns the limit off.
	APIRateLimit float64
	// IntrospectRateLimit is the same for POST /api/v1/introspect, counted
	// apart: a resource server introspects each request it serves.
	IntrospectRateLimit float64
	// SecretScanningKeys is a file of secret-scanning partners' public keys
	// (see web/scanning); empty turns the report endpoint off.
	SecretScanningKeys string
	// APIAuthFailures is how many failed bearer authentications one client
	// address may make per minute; 0 turns the limit off.
	APIAuthFailures int
	// MetricsAddr is where /metrics is served; empty turns metrics off.
	MetricsAddr string
	// WebhookAllowHTTP accepts http:// webhook URLs; WebhookAllowPrivate
	// lets deliveries reach loopback, private and metadata addresses.
	WebhookAllowHTTP    bool
	WebhookAllowPrivate bool
	// WebhookPollInterval is how often the delivery worker looks for due
	// deliveries.
	WebhookPollInterval time.Duration
	// WebhookDelivery runs the delivery worker; false: this replica only
	// queues, and another sends.
	WebhookDelivery bool
	// ExpirySweepInterval is how often the server queues the token.expiring
	// and token.expired events that are due.
	ExpirySweepInterval time.Duration
	// SMTPURL (smtp:// or smtps://, with the password) turns on the expiry
	// emails, sent from SMTPFrom. Pass it by its environment twin: a flag
	// shows in ps.
	SMTPURL  string
	SMTPFrom string
	// OIDCIssuer turns on single sign-on for administrators with this
	// OpenID Connect provider (see web/oidc). OIDCClientSecret comes from
	// WARDEN_OIDC_CLIENT_SECRET only (LoadSecrets), never a flag.
	OIDCIssuer       string
	OIDCClientID     string
	OIDCClientSecret string
	OIDCScopes       string
	OIDCGroupsClaim  string
	OIDCAdminGroups  string
	OIDCDisplayName  string
	// PasswordLogin shows the password form and accepts password sign-in;
	// with it off, AllowBreakGlass still lets the accounts made by
	// `warden admin create` sign in with their password.
	PasswordLogin   bool
	AllowBreakGlass bool
}

// envOnly are flags read from their environment variable only: a value on
// a command line shows in ps to every user of the machine.
var envOnly = map[string]bool{"oidc-client-secret": true}

// DefaultConfig returns the configuration `make run` uses.
func DefaultConfig() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		DBPath:          models.DefaultDBPath,
		IdleTimeout:     models.DefaultIdleTimeout,
		AbsoluteTimeout: models.DefaultAbsoluteTimeout,
		LogFormat:       "text",
		LogLevel:        "info",
		APIRateLimit:    50,
		// A resource server introspecting every request it serves.
		IntrospectRateLimit: 2000,
		APIAuthFailures:     30,
		// Changes wake the worker at once (see Server.Serve); the interval
		// only bounds how late a retry or another replica's event goes out.
		WebhookPollInterval: 5 * time.Second,
		WebhookDelivery:     true,
		// The thresholds are days apart: a minute late is on time.
		ExpirySweepInterval: time.Minute,
		OIDCScopes:          "openid email profile groups",
		OIDCGroupsClaim:     "groups",
		OIDCDisplayName:     "single sign-on",
		PasswordLogin:       true,
	}
}

// RegisterDBFlag adds --db and --database-url, which every subcommand that
// opens the database takes.
func (c *Config) RegisterDBFlag(fs *flag.FlagSet) {
	fs.StringVar(&c.DBPath, "db", c.DBPath, "SQLite database file (created with its directory if missing) [$WARDEN_DB]")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "PostgreSQL URL, postgres://user:password@host:5432/db; replaces --db, for several replicas behind a load balancer [$WARDEN_DATABASE_URL]")
}

// OpenStore opens the configured database.
func (c Config) OpenStore(ctx context.Context, opts ...models.Option) (*models.Store, error) {
	return models.Open(ctx, c.DBPath, c.DatabaseURL, opts...)
}

// DatabaseName describes the database for logs: the SQLite path, or the
// PostgreSQL host and database (never the password).
func (c Config) DatabaseName() string {
	if c.DatabaseURL == "" {
		return c.DBPath
	}
	cfg, err := models.ParseDatabaseURL(c.DatabaseURL)
	if err != nil {
		return "postgres"
	}
	return fmt.Sprintf("postgres://%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
}

// RegisterFlags adds the serve flags to fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "address to listen on, host:port [$WARDEN_ADDR]")
	c.RegisterDBFlag(fs)
	fs.StringVar(&c.BaseURL, "base-url", c.BaseURL, "public URL of the console, e.g. https://warden.example.com; used in printed links and the Origin check [$WARDEN_BASE_URL]")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", c.TrustedProxies, "comma-separated IPs/CIDRs of reverse proxies whose X-Forwarded-For is believed [$WARDEN_TRUSTED_PROXIES]")
	fs.BoolVar(&c.SecureCookies, "secure-cookies", c.SecureCookies, "mark cookies Secure with the __Host- prefix and send HSTS; set when served over HTTPS [$WARDEN_SECURE_COOKIES]")
	fs.DurationVar(&c.IdleTimeout, "session-idle-timeout", c.IdleTimeout, "sign out after this long without activity [$WARDEN_SESSION_IDLE_TIMEOUT]")
	fs.DurationVar(&c.AbsoluteTimeout, "session-max-age", c.AbsoluteTimeout, "sign out this long after sign-in, however active [$WARDEN_SESSION_MAX_AGE]")
	fs.StringVar(&c.SessionHashKey, "session-hash-key", c.SessionHashKey, "cookie signing key, base64url, 32+ bytes (default: generated once and kept in the database) [$WARDEN_SESSION_HASH_KEY]")
	fs.StringVar(&c.SessionBlockKey, "session-block-key", c.SessionBlockKey, "cookie encryption key, base64url, 32 bytes (default: generated once and kept in the database) [$WARDEN_SESSION_BLOCK_KEY]")
	fs.Float64Var(&c.APIRateLimit, "api-rate-limit", c.APIRateLimit, "API requests per second per token, bursts up to twice that; 0 turns the limit off [$WARDEN_API_RATE_LIMIT]")
	fs.Float64Var(&c.IntrospectRateLimit, "introspect-rate-limit", c.IntrospectRateLimit, "introspections per second per caller token, bursts up to twice that, apart from --api-rate-limit; 0 turns the limit off [$WARDEN_INTROSPECT_RATE_LIMIT]")
	fs.StringVar(&c.SecretScanningKeys, "secret-scanning-keys", c.SecretScanningKeys, "file of secret-scanning partners' ECDSA P-256 public keys (PEM blocks with a Key-Identifier header, or GitHub's JSON); turns on POST /api/v1/secret-scanning/report [$WARDEN_SECRET_SCANNING_KEYS]")
	fs.IntVar(&c.APIAuthFailures, "api-auth-failures", c.APIAuthFailures, "failed API authentications allowed per client address per minute; 0 turns the limit off [$WARDEN_API_AUTH_FAILURES]")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", c.MetricsAddr, "address of a separate listener serving Prometheus /metrics, e.g. 127.0.0.1:9090; off when empty [$WARDEN_METRICS_ADDR]")
	fs.BoolVar(&c.WebhookAllowHTTP, "webhook-allow-http", c.WebhookAllowHTTP, "accept http:// webhook URLs, not only https:// [$WARDEN_WEBHOOK_ALLOW_HTTP]")
	fs.BoolVar(&c.WebhookAllowPrivate, "webhook-allow-private", c.WebhookAllowPrivate, "let webhooks reach loopback, private, link-local and cloud-metadata addresses [$WARDEN_WEBHOOK_ALLOW_PRIVATE]")
	fs.DurationVar(&c.WebhookPollInterval, "webhook-poll-interval", c.WebhookPollInterval, "how often the webhook worker looks for due deliveries (retries, other replicas' events) [$WARDEN_WEBHOOK_POLL_INTERVAL]")
	fs.BoolVar(&c.WebhookDelivery, "webhook-delivery", c.WebhookDelivery, "send the queued webhooks from this process; false: this replica only queues, another sends [$WARDEN_WEBHOOK_DELIVERY]")
	fs.DurationVar(&c.ExpirySweepInterval, "expiry-sweep-interval", c.ExpirySweepInterval, "how often to queue token.expiring (7 days and 1 day before) and token.expired events [$WARDEN_EXPIRY_SWEEP_INTERVAL]")
	fs.StringVar(&c.SMTPURL, "smtp-url", "", "SMTP server for the token expiry emails, smtp://user:password@host:587 (STARTTLS when offered) or smtps://…:465; it holds a password, which ps shows on a command line: set it in the environment [$WARDEN_SMTP_URL]")
	fs.StringVar(&c.SMTPFrom, "smtp-from", c.SMTPFrom, "sender of the expiry emails, e.g. \"Warden <warden@example.com>\" [$WARDEN_SMTP_FROM]")
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", c.OIDCIssuer, "OpenID Connect issuer URL of the identity provider administrators sign in with, e.g. https://login.example.com/realms/acme; turns on single sign-on (needs --base-url) [$WARDEN_OIDC_ISSUER]")
	fs.StringVar(&c.OIDCClientID, "oidc-client-id", c.OIDCClientID, "client id registered at the identity provider [$WARDEN_OIDC_CLIENT_ID]")
	fs.Func("oidc-client-secret", "the client secret: set WARDEN_OIDC_CLIENT_SECRET; never a flag, which ps shows to every user of the machine", func(string) error {
		return errors.New("the client secret is read from WARDEN_OIDC_CLIENT_SECRET only: a flag shows in ps")
	})
	fs.StringVar(&c.OIDCScopes, "oidc-scopes", c.OIDCScopes, "scopes asked for, space- or comma-separated; must include openid [$WARDEN_OIDC_SCOPES]")
	fs.StringVar(&c.OIDCGroupsClaim, "oidc-groups-claim", c.OIDCGroupsClaim, "ID token claim listing the person's groups, a JSON array of strings [$WARDEN_OIDC_GROUPS_CLAIM]")
	fs.StringVar(&c.OIDCAdminGroups, "oidc-admin-groups", c.OIDCAdminGroups, "comma-separated groups whose members are Warden administrators [$WARDEN_OIDC_ADMIN_GROUPS]")
	fs.StringVar(&c.OIDCDisplayName, "oidc-display-name", c.OIDCDisplayName, "the provider's name on the sign-in button, \"Sign in with <name>\" [$WARDEN_OIDC_DISPLAY_NAME]")
	fs.BoolVar(&c.PasswordLogin, "password-login", c.PasswordLogin, "offer and accept password sign-in; false: single sign-on only [$WARDEN_PASSWORD_LOGIN]")
	fs.BoolVar(&c.AllowBreakGlass, "allow-break-glass", c.AllowBreakGlass, "with --password-login=false, still let accounts made by `warden admin create` sign in with their password, at /login?password=1 [$WARDEN_ALLOW_BREAK_GLASS]")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json [$WARDEN_LOG_FORMAT]")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error [$WARDEN_LOG_LEVEL]")
}

// ApplyEnv sets every flag of fs that was not given on the command line from
// its environment variable (WARDEN_ + the flag name in upper snake case).
func ApplyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || envOnly[f.Name] {
			return
		}
		env := EnvName(f.Name)
		if v, ok := lookup(env); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("web: %s=%q: %w", env, v, err))
			}
		}
	})
	return errors.Join(errs...)
}

// LoadSecrets reads the settings that come from the environment only:
// WARDEN_OIDC_CLIENT_SECRET.
func (c *Config) LoadSecrets(lookup func(string) (string, bool)) {
	if v, ok := lookup(EnvName("oidc-client-secret")); ok {
		c.OIDCClientSecret = v
	}
}

// SplitList splits a comma- or space-separated flag value, dropping
// empty items.
func SplitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

// EnvName returns the environment variable twin of a flag.
func EnvName(flagName string) string {
	return "WARDEN_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Validate checks the configuration and says exactly what is wrong.
func (c Config) Validate() error {
	var errs []error
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		errs = append(errs, fmt.Errorf("--addr %q is not host:port (for example 127.0.0.1:8080)", c.Addr))
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("--metrics-addr %q is not host:port", c.MetricsAddr))
		} else if c.MetricsAddr == c.Addr {
			errs = append(errs, errors.New("--metrics-addr must differ from --addr"))
		}
	}
	if c.DatabaseURL != "" {
		if _, err := models.ParseDatabaseURL(c.DatabaseURL); err != nil {
			errs = append(errs, fmt.Errorf("--database-url: %s", strings.TrimPrefix(err.Error(), "models: ")))
		}
	} else if c.DBPath == "" {
		errs = append(errs, errors.New("--db must name a file"))
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			errs = append(errs, fmt.Errorf("--base-url %q must be an http(s) origin such as https://warden.example.com", c.BaseURL))
		}
	}
	if _, err := request.ParseTrustedProxies(c.TrustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("--trusted-proxies: %w", err))
	}
	if c.IdleTimeout < time.Minute {
		errs = append(errs, errors.New("--session-idle-timeout must be at least 1m"))
	}
	if c.AbsoluteTimeout < c.IdleTimeout {
		errs = append(errs, errors.New("--session-max-age must not be shorter than --session-idle-timeout"))
	}
	if (c.SessionHashKey == "") != (c.SessionBlockKey == "") {
		errs = append(errs, errors.New("--session-hash-key and --session-block-key go together: set both or neither"))
	}
	if c.APIAuthFailures < 0 {
		errs = append(errs, errors.New("--api-auth-failures must not be negative"))
	}
	if c.APIRateLimit < 0 {
		errs = append(errs, errors.New("--api-rate-limit must not be negative"))
	}
	if c.IntrospectRateLimit < 0 {
		errs = append(errs, errors.New("--introspect-rate-limit must not be negative"))
	}
	if c.WebhookPollInterval < 10*time.Millisecond {
		errs = append(errs, errors.New("--webhook-poll-interval must be at least 10ms"))
	}
	if c.ExpirySweepInterval <= 0 {
		errs = append(errs, errors.New("--expiry-sweep-interval must be positive"))
	}
	if c.SMTPURL != "" {
		// The URL holds the password: the errors never repeat it.
		if _, err := models.ParseSMTPURL(c.SMTPURL); err != nil {
			errs = append(errs, fmt.Errorf("--smtp-url: %s", strings.TrimPrefix(err.Error(), "models: ")))
		}
		if c.SMTPFrom == "" {
			errs = append(errs, errors.New("--smtp-url needs --smtp-from, the sender address"))
		} else if err := models.CheckEmailFrom(c.SMTPFrom); err != nil {
			errs = append(errs, fmt.Errorf("--smtp-from: %s", strings.TrimPrefix(err.Error(), "models: ")))
		}
		if c.BaseURL == "" {
			errs = append(errs, errors.New("--smtp-url needs --base-url: each email links to the console"))
		}
	} else if c.SMTPFrom != "" {
		errs = append(errs, errors.New("--smtp-from needs --smtp-url"))
	}
	errs = append(errs, c.validateOIDC()...)
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q must be text or json", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q must be debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// validateOIDC checks the single sign-on settings; the provider itself is
// checked at start by discovery (NewServer).
func (c Config) validateOIDC() []error {
	var errs []error
	if c.OIDCIssuer == "" {
		if c.OIDCClientID != "" || c.OIDCClientSecret != "" || c.OIDCAdminGroups != "" {
			errs = append(errs, errors.New("--oidc-client-id, WARDEN_OIDC_CLIENT_SECRET and --oidc-admin-groups need --oidc-issuer"))
		}
		if !c.PasswordLogin {
			errs = append(errs, errors.New("--password-login=false needs --oidc-issuer: otherwise nobody could sign in"))
		}
		return errs
	}
	u, err := url.Parse(c.OIDCIssuer)
	switch {
	case err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		errs = append(errs, fmt.Errorf("--oidc-issuer %q must be the provider's issuer URL, such as https://login.example.com/realms/acme", c.OIDCIssuer))
	case u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())):
		// ID tokens and codes travel this way: plain HTTP only on this machine.
		errs = append(errs, fmt.Errorf("--oidc-issuer %q must be https:// (http:// only for a provider on this machine)", c.OIDCIssuer))
	}
	if c.OIDCClientID == "" {
		errs = append(errs, errors.New("--oidc-issuer needs --oidc-client-id"))
	}
	if c.OIDCClientSecret == "" {
		errs = append(errs, errors.New("--oidc-issuer needs the client secret in WARDEN_OIDC_CLIENT_SECRET"))
	}
	if len(SplitList(c.OIDCAdminGroups)) == 0 {
		errs = append(errs, errors.New("--oidc-issuer needs --oidc-admin-groups: the groups whose members are administrators"))
	}
	if !slices.Contains(SplitList(c.OIDCScopes), "openid") {
		errs = append(errs, errors.New("--oidc-scopes must include openid"))
	}
	if strings.TrimSpace(c.OIDCGroupsClaim) == "" {
		errs = append(errs, errors.New("--oidc-groups-claim must name a claim"))
	}
	if strings.TrimSpace(c.OIDCDisplayName) == "" || len(c.OIDCDisplayName) > 64 {
		errs = append(errs, errors.New("--oidc-display-name must be 1 to 64 characters"))
	}
	if c.BaseURL == "" {
		errs = append(errs, errors.New("--oidc-issuer needs --base-url: the provider redirects back to <base-url>/login/sso/callback"))
	}
	return errs
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SSORedirectURL is the callback registered at the identity provider.
func (c Config) SSORedirectURL() string { return c.Origin() + "/login/sso/callback" }

// Origin returns the configured public origin without a trailing slash, or "".
func (c Config) Origin() string { return strings.TrimSuffix(c.BaseURL, "/") }

// LookupEnv is os.LookupEnv, for ApplyEnv.
func LookupEnv(k string) (string, bool) { return os.LookupEnv(k) }

// smtpName describes the SMTP server for logs, never with its password.
func (c Config) smtpName() string {
	srv, err := models.ParseSMTPURL(c.SMTPURL)
	if err != nil {
		return "smtp"
	}
	return srv.String()
}
