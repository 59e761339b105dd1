package web

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/handlers"
	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/web/oidc"
	"github.com/warden-console/warden/web/request"
	"github.com/warden-console/warden/web/scanning"
	"github.com/warden-console/warden/web/session"
	"github.com/warden-console/warden/web/throttle"
)

// Sign-in throttling: per account, 5 failures in 15 minutes; per client
// address, 20. The account limit stops guessing one password from many
// addresses; the address limit stops one client from spraying many accounts.
const (
	accountFailureLimit = 5
	ipFailureLimit      = 20
	failureWindow       = 15 * time.Minute
	maxBodyBytes        = 1 << 20
)

// failureCounters builds the sign-in throttles (per account, per address)
// and the failed-API-authentication throttle (nil when --api-auth-failures
// is 0). On PostgreSQL, where several replicas share the database, they
// count in it, so every replica sees every failure; on SQLite, with one
// process, in memory.
func failureCounters(d Deps) (account, ip, api throttle.Counter) {
	if d.Store.Dialect() == models.Postgres {
		onError := func(err error) { d.Log.Warn("throttle", "err", err) }
		shared := func(scope string, limit int, window time.Duration) throttle.Counter {
			l := d.Store.SharedLimiter(scope, limit, window)
			l.OnError = onError
			return l
		}
		account, ip = shared("login-account", accountFailureLimit, failureWindow), shared("login-ip", ipFailureLimit, failureWindow)
		if d.Config.APIAuthFailures > 0 {
			api = shared("api-ip", d.Config.APIAuthFailures, time.Minute)
		}
		return account, ip, api
	}
	account, ip = throttle.New(accountFailureLimit, failureWindow), throttle.New(ipFailureLimit, failureWindow)
	if d.Config.APIAuthFailures > 0 {
		api = throttle.New(d.Config.APIAuthFailures, time.Minute)
	}
	return account, ip, api
}

// Deps are what the application is built from.
type Deps struct {
	Config   Config
	Store    *models.Store
	Sessions *session.Manager
	Log      *slog.Logger
	Metrics  *Metrics // nil when --metrics-addr is not set
	// SSO is the discovered identity provider; nil when --oidc-issuer is
	// not set.
	SSO *oidc.Provider
}

// NewApp builds the Fiber application with its middleware chain and routes.
func NewApp(d Deps) (*fiber.App, error) {
	proxies, err := request.ParseTrustedProxies(d.Config.TrustedProxies)
	if err != nil {
		return nil, err
	}
	accountThrottle, ipThrottle, apiThrottle := failureCounters(d)
	var scanKeys scanning.Keys
	if d.Config.SecretScanningKeys != "" {
		data, err := os.ReadFile(d.Config.SecretScanningKeys)
		if err != nil {
			return nil, fmt.Errorf("--secret-scanning-keys: %w", err)
		}
		if scanKeys, err = scanning.ParseKeys(data); err != nil {
			return nil, fmt.Errorf("--secret-scanning-keys %s: %w", d.Config.SecretScanningKeys, err)
		}
	}
	h := &handlers.Handler{
		Store:           d.Store,
		Sessions:        d.Sessions,
		Log:             d.Log,
		AccountThrottle: accountThrottle,
		IPThrottle:      ipThrottle,
		BaseURL:         d.Config.Origin(),
		SecureCookies:   d.Config.SecureCookies,
		APIRate:         throttle.NewBuckets(d.Config.APIRateLimit, int(2*d.Config.APIRateLimit)+1),
		IntrospectRate:  throttle.NewBuckets(d.Config.IntrospectRateLimit, int(2*d.Config.IntrospectRateLimit)+1),
		APIAuthFailures: apiThrottle,
		AuthOutcome:     d.Metrics.TokenAuth,
		ScanKeys:        scanKeys,
		SSO:             d.SSO,
		SSOName:         d.Config.OIDCDisplayName,
	}
	app := fiber.New(fiber.Config{
		// Request strings outlive handlers (logs, sessions, errors); without
		// Immutable, fasthttp reuses their bytes for the next request.
		Immutable:    true,
		ErrorHandler: h.Error,
		BodyLimit:    maxBodyBytes,
		ReadTimeout:  15 * time.Second,
		// Long enough for a streamed export of millions of audit events;
		// slow clients are bounded by ReadTimeout and IdleTimeout.
		WriteTimeout:          30 * time.Minute,
		IdleTimeout:           60 * time.Second,
		DisableStartupMessage: true,
		AppName:               "Warden",
	})

	// Order matters: ids and logging see everything, recovery sits inside
	// logging so a panic is logged with its final 500, headers apply to
	// every response including errors, and compression wraps every handler.
	app.Use(requestContext(proxies))
	app.Use(accessLog(d.Log, d.Metrics))
	app.Use(recoverPanics(d.Log))
	app.Use(securityHeaders(d.Config.SecureCookies))

	app.Use(compressResponses())
	app.Get("/static/*", serveAsset)
	app.Get("/healthz", h.Healthz)
	app.Get("/readyz", h.Readyz)

	// The API authenticates with bearer tokens only: it is mounted before the
	// session and CSRF middleware, so a console cookie never reaches it.
	app.Use("/api", h.APIExactPath)
	app.Get("/api/v1/openapi.json", h.OpenAPI)
	// Other methods get the API's 405 with Allow, before the bearer check:
	// the document is public. Use, not All, so no route is registered
	// for methods the API does not serve.
	app.Use("/api/v1/openapi.json", h.APIMethodNotAllowed([]handlers.APIRoute{{Method: fiber.MethodGet, Path: "/openapi.json"}}))
	// Partners sign their reports instead of holding a token.
	app.Post("/api/v1/secret-scanning/report", h.SecretScanningReport)
	api := app.Group("/api/v1", h.APIAuth)
	routes := h.APIRoutes()
	api.Use(h.APILiteralPaths(routes))
	for _, r := range routes {
		api.Add(r.Method, r.Path, h.RequireRole(r.MinRole), h.RequireScope(r.Scope), r.Handler)
	}
	api.Use(h.APIMethodNotAllowed(routes))
	app.Use("/api", h.APINotFound)

	d.Metrics.watchWrites(d.Store)
	app.Use(loadSession(d.Sessions))
	app.Use(csrf(d.Sessions, d.Store, d.Config.Origin(), d.Log))

	// Pages open to everyone.
	app.Get("/login", h.LoginShow)
	app.Post("/login", h.LoginSubmit)
	app.Post("/logout", h.Logout)
	app.Get("/login/sso", h.SSOStart)
	app.Get("/login/sso/callback", h.SSOCallback)
	app.Get("/setup", h.SetupShow)
	app.Post("/setup", h.SetupSubmit)
	app.Get("/set-password/:token", h.SetPasswordShow)
	app.Post("/set-password/:token", h.SetPasswordSubmit)

	// Everything below needs an administrator's session, including unknown
	// paths: a signed-out visitor learns nothing about which pages exist.
	app.Use(requireAdmin)
	app.Get("/", func(c *fiber.Ctx) error { return c.Redirect("/users", fiber.StatusSeeOther) })
	app.Get("/users", h.UsersList)
	app.Get("/users/new", h.UserNew)
	app.Post("/users", h.UserCreate)
	app.Get("/users/preview-id", h.UserIDPreview)
	app.Get("/users/:id<int>", h.UserShow)
	app.Get("/users/:id<int>/edit", h.UserEdit)
	app.Post("/users/:id<int>/edit", h.UserUpdate)
	app.Get("/users/:id<int>/deactivate", h.UserDeactivateConfirm)
	app.Post("/users/:id<int>/deactivate", h.UserDeactivate)
	app.Post("/users/:id<int>/reactivate", h.UserReactivate)
	app.Post("/users/:id<int>/password-link", h.UserPasswordLink)
	app.Post("/users/:id<int>/sign-out", h.UserSignOut)
	app.Get("/users/:id<int>/tokens/new", h.TokenNew)
	app.Post("/users/:id<int>/tokens", h.TokenCreate)
	app.Get("/users/:id<int>/tokens/revoke-all", h.TokensRevokeAllConfirm)
	app.Post("/users/:id<int>/tokens/revoke-all", h.TokensRevokeAll)
	app.Get("/tokens", h.TokensList)
	app.Post("/tokens/revoke", h.TokensBulkRevoke)
	app.Get("/tokens/reveal/:id", h.TokenRevealShow)
	app.Get("/tokens/lookup", h.TokenLookupShow)
	app.Post("/tokens/lookup", h.TokenLookupSubmit)
	app.Get("/tokens/:id<int>/revoke", h.TokenRevokeConfirm)
	app.Post("/tokens/:id<int>/revoke", h.TokenRevoke)
	app.Get("/tokens/:id<int>/restore", h.TokenRestoreConfirm)
	app.Post("/tokens/:id<int>/restore", h.TokenRestore)
	app.Get("/tokens/:id<int>/rotate", h.TokenRotateConfirm)
	app.Post("/tokens/:id<int>/rotate", h.TokenRotate)
	app.Get("/tokens/:id<int>/addresses", h.TokenAddressesShow)
	app.Post("/tokens/:id<int>/addresses", h.TokenAddressesSave)
	app.Get("/tokens/:id<int>/delete", h.TokenDeleteConfirm)
	app.Post("/tokens/:id<int>/delete", h.TokenDelete)
	app.Get("/audit", h.AuditList)
	app.Get("/audit/export.csv", h.AuditExport("csv"))
	app.Get("/audit/export.ndjson", h.AuditExport("ndjson"))
	app.Post("/audit/verify", h.AuditVerify)
	app.Get("/audit/:id<int>", h.AuditShow)
	app.Get("/settings", h.SettingsShow)
	app.Post("/settings", h.SettingsSave)
	app.Post("/settings/inactivity", h.SettingsInactivitySave)
	app.Get("/settings/webhooks", h.WebhooksList)
	app.Post("/settings/webhooks", h.WebhookCreate)
	app.Get("/settings/webhooks/:id<int>", h.WebhookShow)
	app.Post("/settings/webhooks/:id<int>", h.WebhookUpdate)
	app.Post("/settings/webhooks/:id<int>/enable", h.WebhookEnable)
	app.Post("/settings/webhooks/:id<int>/disable", h.WebhookDisable)
	app.Get("/settings/webhooks/:id<int>/rotate", h.WebhookRotateConfirm)
	app.Post("/settings/webhooks/:id<int>/rotate", h.WebhookRotate)
	app.Get("/settings/webhooks/:id<int>/delete", h.WebhookDeleteConfirm)
	app.Post("/settings/webhooks/:id<int>/delete", h.WebhookDelete)
	app.Post("/settings/webhooks/:id<int>/test", h.WebhookSendTest)
	app.Post("/settings/webhooks/:id<int>/deliveries/:delivery<int>/redeliver", h.WebhookRedeliver)
	app.Get("/teams", h.TeamsList)
	app.Post("/teams", h.TeamCreate)
	app.Get("/teams/:id<int>", h.TeamShow)
	app.Post("/teams/:id<int>", h.TeamUpdate)
	app.Post("/teams/:id<int>/delete", h.TeamDelete)
	app.Get("/account", h.AccountShow)
	app.Post("/account/password", h.AccountPassword)
	app.Post("/account/sessions/end-others", h.AccountEndOtherSessions)
	app.Post("/account/sessions/:id/end", h.AccountEndSession)

	app.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
	return app, nil
}
