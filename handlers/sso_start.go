package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/web/oidc"
)

// ssoPreSessionLifetime is how long a sign-in at the identity provider may
// take: the pre-session cookie, with the flow's state, nonce and PKCE
// verifier, is good for this long and one callback.
const ssoPreSessionLifetime = 10 * time.Minute

// ssoPreSession is the pre-session cookie's content.
type ssoPreSession struct {
	Flow oidc.Flow `json:"f"`
	// Next is where to go after signing in, already through SafeNext.
	Next string `json:"x"`
	// Started is when the flow began, by the store's clock.
	Started time.Time `json:"t"`
}

// SSOStart sends the browser to the identity provider: it draws the flow's
// state, nonce and PKCE verifier, keeps them in the signed pre-session
// cookie, and redirects to the provider's authorization endpoint. It is a
// GET (the sign-in button is a link): the console's CSP allows forms to
// post only to itself, redirects included, and starting a flow changes
// nothing but this browser's pre-session cookie.
func (h *Handler) SSOStart(c *fiber.Ctx) error {
	if h.SSO == nil {
		return fiber.ErrNotFound
	}
	flow, err := oidc.NewFlow()
	if err != nil {
		return err
	}
	pre := ssoPreSession{Flow: flow, Next: SafeNext(c.Query("next")), Started: h.Store.Now()}
	if err := h.Sessions.SetPreSession(c, pre, ssoPreSessionLifetime); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Redirect(h.SSO.AuthURL(flow), fiber.StatusSeeOther)
}
