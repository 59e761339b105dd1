package web

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/web/oidc"
	"github.com/warden-console/warden/web/session"
)

// Server is a configured Warden console: its store, session manager and app.
type Server struct {
	cfg      Config
	log      *slog.Logger
	store    *models.Store
	sessions *session.Manager
	app      *fiber.App
	metrics  *Metrics
}

// NewServer validates cfg, opens the database (applying migrations) and
// builds the application. Extra store options let tests inject a clock.
func NewServer(ctx context.Context, cfg Config, log *slog.Logger, opts ...models.Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts = append([]models.Option{models.WithSessionLifetime(models.SessionLifetime{
		Idle: cfg.IdleTimeout, Absolute: cfg.AbsoluteTimeout,
	})}, opts...)
	store, err := cfg.OpenStore(ctx, opts...)
	if err != nil {
		return nil, err
	}
	hashKey, blockKey := cfg.SessionHashKey, cfg.SessionBlockKey
	if hashKey == "" {
		if hashKey, blockKey, err = store.SessionKeys(ctx); err != nil {
			_ = store.Close()
			return nil, err
		}
	}
	sm, err := session.NewManager(store, hashKey, blockKey, cfg.SecureCookies)
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	// The webhook key comes from the cookie encryption key, which may have
	// been read from the database just opened: set it now, before serving.
	if err := configureWebhooks(store, cfg, blockKey); err != nil {
		_ = store.Close()
		return nil, err
	}
	if cfg.SMTPURL != "" {
		srv, _ := models.ParseSMTPURL(cfg.SMTPURL) // checked by Validate
		store.SetEmail(models.EmailConfig{SMTP: srv, From: cfg.SMTPFrom, BaseURL: cfg.Origin()})
	}
	store.SetPasswordLogin(models.PasswordLogin{Enabled: cfg.PasswordLogin, BreakGlass: cfg.AllowBreakGlass})
	var sso *oidc.Provider
	if cfg.OIDCIssuer != "" {
		// Discovery now, so a wrong issuer stops the start with a clear
		// error instead of failing each sign-in.
		sso, err = oidc.New(ctx, oidc.Config{
			Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
			RedirectURL: cfg.SSORedirectURL(), Scopes: SplitList(cfg.OIDCScopes),
			GroupsClaim: cfg.OIDCGroupsClaim, AdminGroups: SplitList(cfg.OIDCAdminGroups), Now: store.Now,
		})
		if err != nil {
			_ = store.Close()
			return nil, fmt.Errorf("--oidc-issuer: %w", err)
		}
	}
	var metrics *Metrics
	if cfg.MetricsAddr != "" {
		metrics = NewMetrics(store.SQLDB())
	}
	app, err := NewApp(Deps{Config: cfg, Store: store, Sessions: sm, Log: log, Metrics: metrics, SSO: sso})
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	return &Server{cfg: cfg, log: log, store: store, sessions: sm, app: app, metrics: metrics}, nil
}

// configureWebhooks gives the store the key that seals webhook signing
// secrets, derived from the cookie encryption key (base64url), and the
// --webhook-allow-* flags.
func configureWebhooks(store *models.Store, cfg Config, blockKey string) error {
	bk, err := base64.RawURLEncoding.DecodeString(blockKey)
	if err != nil {
		return fmt.Errorf("web: the cookie encryption key is not base64url: %w", err)
	}
	key, err := models.DeriveWebhookKey(bk)
	if err != nil {
		return fmt.Errorf("web: webhooks: %w", err)
	}
	store.SetWebhooks(models.WebhookConfig{Key: key, AllowHTTP: cfg.WebhookAllowHTTP, AllowPrivate: cfg.WebhookAllowPrivate})
	return nil
}

// App returns the Fiber application (handler tests drive it with app.Test).
func (s *Server) App() *fiber.App { return s.app }

// Store returns the server's store.
func (s *Server) Store() *models.Store { return s.store }

// Close releases the database.
func (s *Server) Close() error { return s.store.Close() }

// Serve answers on ln until ctx ends, then shuts down gracefully: in-flight
// requests finish (up to 10 s) and the database is closed. With no
// administrator yet, it first logs the one-time setup URL.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := s.announceSetup(ctx, ln.Addr()); err != nil {
		_ = s.store.Close()
		return err
	}
	purgeCtx, stopPurge := context.WithCancel(ctx)
	defer stopPurge()
	go s.sessions.Purge(purgeCtx, 10*time.Minute, func(err error) { s.log.Error("purging sessions", "err", err) })
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		s.store.FlushTokenUseEvery(purgeCtx, time.Minute, func(err error) { s.log.Error("writing token use", "err", err) })
	}()

	if s.metrics != nil {
		stopMetrics, err := s.serveMetrics()
		if err != nil {
			_ = s.store.Close()
			return err
		}
		defer stopMetrics()
	}

	// The webhook worker stops with the server; a delivery cut short is
	// still pending and goes out after the restart (at least once).
	// With --webhook-delivery=false this replica only queues.
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		if s.cfg.WebhookDelivery {
			s.store.NewWebhookWorker().Run(purgeCtx, s.cfg.WebhookPollInterval, func(err error) { s.log.Error("delivering webhooks", "err", err) })
		}
	}()
	// With --smtp-url, the email worker sends what the sweep queues; a
	// sweep that queued some wakes it.
	emailed := make(chan struct{})
	go func() {
		defer close(emailed)
		if !s.store.EmailEnabled() {
			return
		}
		s.log.Info("emailing token expiry notices", "smtp", s.cfg.smtpName(), "from", s.cfg.SMTPFrom)
		s.store.NewEmailWorker().Run(purgeCtx, s.cfg.WebhookPollInterval, func(err error) { s.log.Error("sending emails", "err", err) })
	}()
	// The expiry sweep queues its events in the outbox; a commit that
	// queued some wakes the worker above. Every replica sweeps: the notices'
	// key lets only one queue each event.
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		s.store.RunExpirySweeps(purgeCtx, s.cfg.ExpirySweepInterval, func(err error) { s.log.Error("sweeping token expiry", "err", err) })
	}()

	errc := make(chan error, 1)
	go func() { errc <- s.app.Listener(ln) }()
	s.log.Info("warden listening", "url", s.publicURL(ln.Addr()), "db", s.cfg.DatabaseName())

	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		s.log.Info("shutting down")
		if err := s.app.ShutdownWithTimeout(10 * time.Second); err != nil {
			s.log.Error("shutdown", "err", err)
		}
		<-errc
	}
	// Last uses still in memory are written before the database closes.
	stopPurge()
	<-flushed
	<-delivered
	<-emailed
	<-swept
	if err := s.store.Close(); err != nil && serveErr == nil {
		serveErr = err
	}
	return serveErr
}

func (s *Server) announceSetup(ctx context.Context, addr net.Addr) error {
	need, err := s.store.NeedsSetup(ctx)
	if err != nil || !need {
		return err
	}
	token, err := s.store.NewSetupToken(ctx)
	if err != nil {
		return err
	}
	// The one place a secret is logged, by design: it is single-use, dies with
	// the next restart, and the operator needs it to create the first admin.
	s.log.Warn("no administrator yet: open this one-time URL to create the first one",
		"setup_url", s.publicURL(addr)+"/setup?token="+token)
	return nil
}

func (s *Server) publicURL(addr net.Addr) string {
	if o := s.cfg.Origin(); o != "" {
		return o
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// ListenAndServe listens on the configured address and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		_ = s.store.Close()
		return fmt.Errorf("web: listen on %s: %w", s.cfg.Addr, err)
	}
	err = s.Serve(ctx, ln)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// serveMetrics starts the Prometheus listener on --metrics-addr and returns
// a function that stops it. It is a separate listener so that it can be
// bound to an internal address and never exposed with the console.
func (s *Server) serveMetrics() (func(), error) {
	ln, err := net.Listen("tcp", s.cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("web: metrics listener on %s: %w", s.cfg.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics listener", "err", err)
		}
	}()
	s.log.Info("metrics listening", "url", "http://"+ln.Addr().String()+"/metrics")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
