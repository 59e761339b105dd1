// Package handlers holds the console's Fiber handlers, one file per page or
// action. Handlers parse the request, call the store and render a view; the
// rules themselves live in models.Store.
package handlers

import (
	"log/slog"
	"net/netip"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
	"github.com/warden-console/warden/web/oidc"
	"github.com/warden-console/warden/web/request"
	"github.com/warden-console/warden/web/scanning"
	"github.com/warden-console/warden/web/session"
	"github.com/warden-console/warden/web/throttle"
)

// Handler carries what the handlers depend on.
type Handler struct {
	Store    *models.Store
	Sessions *session.Manager
	Log      *slog.Logger
	// AccountThrottle counts failed sign-ins per email address and
	// IPThrottle per client address (per /64 for IPv6).
	AccountThrottle throttle.Counter
	IPThrottle      throttle.Counter
	// BaseURL is the configured public origin; links shown to be sent to
	// people (set-password links) are built on it, or on the request's host.
	BaseURL string
	// SecureCookies is shown on the settings page.
	SecureCookies bool
	// APIRate limits requests per token; APIAuthFailures counts failed
	// bearer authentications per client address.
	APIRate *throttle.Buckets
	// IntrospectRate limits introspections per caller token, apart from
	// APIRate: a resource server introspects each request it serves.
	IntrospectRate  *throttle.Buckets
	APIAuthFailures throttle.Counter // nil: no limit
	// ScanKeys verify secret-scanning reports; none: the endpoint is off.
	ScanKeys scanning.Keys
	// AuthOutcome counts bearer authentication outcomes for /metrics; nil
	// when metrics are off.
	AuthOutcome func(outcome string)
	// SSO is the identity provider administrators may sign in with (nil:
	// passwords only); SSOName is its name on the sign-in button.
	SSO     *oidc.Provider
	SSOName string
}

func (h *Handler) authOutcome(o string) {
	if h.AuthOutcome != nil {
		h.AuthOutcome(o)
	}
}

func currentUser(c *fiber.Ctx) *models.User { return request.User(c) }

// absoluteURL builds a link to path on this console.
func (h *Handler) absoluteURL(c *fiber.Ctx, path string) string {
	if h.BaseURL != "" {
		return h.BaseURL + path
	}
	return c.Protocol() + "://" + string(c.Request().Host()) + path
}

// render writes component as the HTML response with status. Rendering into
// the response writer (not a buffer) keeps memory flat; a render error
// reaches Fiber's error handler.
func render(c *fiber.Ctx, status int, component templ.Component) error {
	c.Status(status)
	c.Type("html", "utf-8")
	return component.Render(c.UserContext(), c.Response().BodyWriter())
}

// page builds the layout data for the current request.
func (h *Handler) page(c *fiber.Ctx, title, nav string) (views.Page, error) {
	p := views.Page{Title: title, Nav: nav, CSRFToken: request.CSRFToken(c)}
	if u := request.User(c); u != nil {
		p.Admin = &views.Admin{Name: u.Name, Email: u.Handle()}
	}
	if p.CSRFToken == "" {
		tok, err := h.Sessions.AnonymousCSRFToken(c)
		if err != nil {
			return p, err
		}
		p.CSRFToken = tok
	}
	for _, f := range h.Sessions.PopFlashes(c) {
		p.Flashes = append(p.Flashes, views.Flash{Kind: f.Kind, Message: f.Message})
	}
	return p, nil
}

// throttleIPKey groups IPv6 clients by /64, the block one subscriber
// usually controls, so rotating addresses within it does not reset the count.
func throttleIPKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "ip:" + ip
	}
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return "ip:" + p.String()
	}
	return "ip:" + a.Unmap().String()
}
