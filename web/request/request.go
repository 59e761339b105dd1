// Package request holds typed accessors for the values the middleware chain
// attaches to a request. The accessors never panic: a missing value reads as
// its zero value, which every caller must treat as "not signed in".
package request

import (
	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
)

type contextKey int

const (
	requestIDKey contextKey = iota
	clientIPKey
	sessionKey
	userKey
	csrfTokenKey
)

// SetID records the request id.
func SetID(c *fiber.Ctx, id string) { c.Locals(requestIDKey, id) }

// ID returns the request id, or "".
func ID(c *fiber.Ctx) string {
	v, _ := c.Locals(requestIDKey).(string)
	return v
}

// SetClientIP records the client address resolved through trusted proxies.
func SetClientIP(c *fiber.Ctx, ip string) { c.Locals(clientIPKey, ip) }

// ClientIP returns the client address resolved through trusted proxies,
// falling back to the peer address.
func ClientIP(c *fiber.Ctx) string {
	if v, ok := c.Locals(clientIPKey).(string); ok && v != "" {
		return v
	}
	return c.Context().RemoteIP().String()
}

// SetSession records the signed-in session and its user.
func SetSession(c *fiber.Ctx, s *models.Session, u *models.User) {
	c.Locals(sessionKey, s)
	c.Locals(userKey, u)
}

// Session returns the console session, or nil when not signed in.
func Session(c *fiber.Ctx) *models.Session {
	v, _ := c.Locals(sessionKey).(*models.Session)
	return v
}

// User returns the signed-in administrator, or nil.
func User(c *fiber.Ctx) *models.User {
	v, _ := c.Locals(userKey).(*models.User)
	return v
}

// SetCSRFToken records the token forms on this page must carry.
func SetCSRFToken(c *fiber.Ctx, t string) { c.Locals(csrfTokenKey, t) }

// CSRFToken returns the token forms on this page must carry, or "".
func CSRFToken(c *fiber.Ctx) string {
	v, _ := c.Locals(csrfTokenKey).(string)
	return v
}

const tokenAuthKey contextKey = 100

// SetTokenAuth records the API caller authenticated by a bearer token.
func SetTokenAuth(c *fiber.Ctx, a *models.TokenAuth) { c.Locals(tokenAuthKey, a) }

// TokenAuth returns the API caller, or nil.
func TokenAuth(c *fiber.Ctx) *models.TokenAuth {
	v, _ := c.Locals(tokenAuthKey).(*models.TokenAuth)
	return v
}
