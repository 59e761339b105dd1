package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/handlers"
	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/web/request"
	"github.com/warden-console/warden/web/session"
	"github.com/warden-console/warden/web/throttle"
)

// requestContext gives every request an id (echoed as X-Request-ID) and
// resolves the client address through the trusted proxies.
func requestContext(proxies *request.TrustedProxies) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		request.SetID(c, id)
		c.Set("X-Request-ID", id)
		var xff []string
		c.Request().Header.VisitAll(func(k, v []byte) {
			if strings.EqualFold(string(k), fiber.HeaderXForwardedFor) {
				xff = append(xff, string(v))
			}
		})
		request.SetClientIP(c, proxies.ClientIP(c.Context().RemoteIP().String(), xff))
		return c.Next()
	}
}

// accessLog writes one structured line per request. Errors are turned into
// responses here (as Fiber's own logger does) so the line has the final
// status. The query string is left out: it may carry a setup token.
func accessLog(log *slog.Logger, metrics *Metrics) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		metrics.observe(c, start)
		status := c.Response().StatusCode()
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		if !log.Enabled(c.UserContext(), level) {
			return nil // at --log-level error, most requests: skip building the line
		}
		// A streamed body (the audit export) must not be read here: that
		// would buffer the whole export in memory.
		size := -1
		if !c.Response().IsBodyStream() {
			size = len(c.Response().Body())
		}
		log.LogAttrs(c.UserContext(), level, "request",
			slog.String("request_id", request.ID(c)),
			slog.String("method", c.Method()),
			slog.String("path", redactPath(c.Path())),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.Int("bytes", size),
			slog.String("ip", request.ClientIP(c)),
		)
		return nil
	}
}

// redactPath hides the one-time token of set-password links, which travels
// in the path.
func redactPath(p string) string {
	if strings.HasPrefix(p, "/set-password/") {
		return "/set-password/[redacted]"
	}
	return p
}

// recoverPanics turns a panic into a 500 page and logs the stack on the
// server only.
func recoverPanics(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic", "request_id", request.ID(c), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = errors.New("web: recovered from panic")
			}
		}()
		return c.Next()
	}
}

// contentSecurityPolicy allows only Warden's own files: no inline script or
// style, no framing, forms only to this origin.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the headers of SPEC §8 on every response. Referrer
// policy is same-origin (not helmet's no-referrer), which keeps the Referer
// header on same-origin requests.
func securityHeaders(secure bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		h := &c.Response().Header
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		if secure {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		// Pages may show credentials and personal data: never cache them.
		// The static handler overrides this for its immutable assets.
		h.Set(fiber.HeaderCacheControl, "no-store")
		return c.Next()
	}
}

// loadSession attaches the signed-in session, if any, to the request.
func loadSession(sm *session.Manager) fiber.Handler {
	return func(c *fiber.Ctx) error {
		s, u, err := sm.Load(c)
		switch {
		case err == nil:
			request.SetSession(c, s, u)
			request.SetCSRFToken(c, s.CSRFToken)
		case errors.Is(err, models.ErrSessionExpired):
			sm.AddFlash(c, "info", "Your session expired. Sign in again to continue.")
		case errors.Is(err, models.ErrNotFound):
		default:
			return err
		}
		return c.Next()
	}
}

func isSafeMethod(m string) bool {
	return m == fiber.MethodGet || m == fiber.MethodHead || m == fiber.MethodOptions || m == fiber.MethodTrace
}

// csrf protects every unsafe request twice: the browser's own Sec-Fetch-Site
// and Origin headers must say the request comes from this origin, and the
// body's form field _csrf (or the X-CSRF-Token header of htmx requests) must
// match the session's token, or before sign-in the token of the signed CSRF
// cookie. A _csrf in the query string is refused.
func csrf(sm *session.Manager, store *models.Store, origin string, log *slog.Logger) fiber.Handler {
	// Anonymous rejections (a forged sign-in form, say) are audited at most
	// 10 a minute per client address: anyone on the internet can send them,
	// and they must not be able to grow the append-only log at will. The
	// rest go to the server log. Rejections on a signed-in session are
	// always audited.
	anonymous := throttle.New(10, time.Minute)
	reject := func(c *fiber.Ctx, reason string) error {
		a := models.Actor{Kind: models.ActorAnonymous, Label: "anonymous"}
		if u := request.User(c); u != nil {
			a = models.AsUser(u)
		} else {
			key := request.ClientIP(c)
			if blocked, _ := anonymous.Blocked(c.UserContext(), key); blocked {
				log.Warn("CSRF rejection not audited: too many from this address", "request_id", request.ID(c), "ip", key, "reason", reason)
				return handlers.ErrCSRF
			}
			anonymous.Fail(c.UserContext(), key)
		}
		a.IP, a.UserAgent, a.RequestID = request.ClientIP(c), c.Get(fiber.HeaderUserAgent), request.ID(c)
		if err := store.RecordEvent(c.UserContext(), a, "security.csrf_rejected", models.OutcomeDenied, reason,
			"route", 0, c.Method()+" "+redactPath(c.Path())); err != nil {
			return err
		}
		return handlers.ErrCSRF
	}
	return func(c *fiber.Ctx) error {
		if isSafeMethod(c.Method()) {
			return c.Next()
		}
		if !sameOrigin(c, origin) {
			return reject(c, "cross_origin")
		}
		// Signing out of a session that has already ended has nothing to
		// protect; let it through so the button still leads to the login page.
		if c.Path() == "/logout" && request.Session(c) == nil {
			return c.Next()
		}
		// A token in the URL leaks into logs, history and Referer headers,
		// and a form never puts it there: refuse it even beside a good one.
		if c.Request().URI().QueryArgs().Has("_csrf") {
			return reject(c, "token_in_query")
		}
		got := c.Get("X-CSRF-Token")
		if got == "" {
			got = handlers.BodyValue(c, "_csrf")
		}
		if got == "" {
			return reject(c, "missing_token")
		}
		if !tokenEqual(got, request.CSRFToken(c)) && !tokenEqual(got, sm.CurrentAnonymousCSRFToken(c)) {
			return reject(c, "wrong_token")
		}
		return c.Next()
	}
}

func tokenEqual(a, b string) bool {
	return b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// sameOrigin applies the Fetch Metadata and Origin checks. A request with
// neither header (not a browser, or a very old one) passes here and still
// needs the token.
func sameOrigin(c *fiber.Ctx, configured string) bool {
	switch c.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default: // cross-site, or same-site: a sibling subdomain is another origin
		return false
	}
	o := c.Get(fiber.HeaderOrigin)
	if o == "" {
		return true
	}
	if configured != "" {
		return o == configured
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false // includes the opaque origin "null"
	}
	return strings.EqualFold(u.Host, string(c.Request().Host()))
}

// requireAdmin lets signed-in administrators through and sends everyone else
// to the sign-in page, remembering where they were going.
func requireAdmin(c *fiber.Ctx) error {
	if request.User(c) != nil {
		return c.Next()
	}
	target := "/login"
	if c.Method() == fiber.MethodGet {
		if next := handlers.SafeNext(c.OriginalURL()); next != "/" {
			target += "?next=" + url.QueryEscape(next)
		}
	}
	if c.Get("HX-Request") == "true" {
		// htmx would swap the login page into a fragment; make it navigate.
		c.Set("HX-Redirect", target)
		return c.SendStatus(fiber.StatusUnauthorized)
	}
	return c.Redirect(target, fiber.StatusSeeOther)
}
