package handlers

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/web/request"
)

// Problem types of the API (RFC 7807). They are stable identifiers, not
// pages to fetch.
const (
	problemBase         = "https://warden.dev/problems/"
	ProblemUnauthorized = problemBase + "unauthorized"
	ProblemForbidden    = problemBase + "forbidden"
	ProblemNotFound     = problemBase + "not-found"
	ProblemValidation   = problemBase + "validation"
	ProblemConflict     = problemBase + "conflict"
	ProblemRule         = problemBase + "rule"
	ProblemInternal     = problemBase + "internal"
)

// Problem is an RFC 7807 problem document.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail,omitempty"`
	Errors    map[string]string `json:"errors,omitempty"`
	Count     *int64            `json:"count,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
}

func problem(c *fiber.Ctx, p Problem) error {
	p.RequestID = request.ID(c)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(p.Status).JSON(p, "application/problem+json")
}

// unauthorized is the one answer for every failed authentication: the
// same status, headers and body whatever went wrong, so a caller cannot
// tell a revoked token from a made-up one.
func unauthorized(c *fiber.Ctx) error {
	c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="warden"`)
	return problem(c, Problem{
		Type: ProblemUnauthorized, Title: "Unauthorized", Status: fiber.StatusUnauthorized,
		Detail: "Send a valid Warden token as: Authorization: Bearer <token>.",
	})
}

// bearerToken reads "Authorization: Bearer <token>". The query string, form
// fields and cookies are never looked at.
func bearerToken(c *fiber.Ctx) (string, bool) {
	values := c.Request().Header.PeekAll(fiber.HeaderAuthorization)
	if len(values) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(string(values[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// APIAuth authenticates every /api/v1 request by its bearer token and
// records the use in memory (no write on this path).
func (h *Handler) APIAuth(c *fiber.Ctx) error {
	var ipKey string // only the failure limiter needs it
	if h.APIAuthFailures != nil {
		ipKey = throttleIPKey(request.ClientIP(c))
		if blocked, wait := h.APIAuthFailures.Blocked(c.UserContext(), ipKey); blocked {
			h.authOutcome("throttled")
			return tooManyRequests(c, wait, "Too many failed authentications from this address.")
		}
	}
	token, ok := bearerToken(c)
	if !ok {
		h.authOutcome("no_token")
		h.failedAuth(c.UserContext(), ipKey)
		return unauthorized(c)
	}
	auth, err := h.Store.AuthenticateTokenFrom(c.UserContext(), token, request.ClientIP(c))
	if errors.Is(err, models.ErrTokenInvalid) {
		var ae *models.TokenAuthError
		if errors.As(err, &ae) {
			// err also says why a refusal's audit event failed, if it did.
			h.Log.Info("token rejected", "request_id", request.ID(c), "reason", ae.Reason, "ip", request.ClientIP(c), "detail", err.Error())
			h.authOutcome(ae.Reason)
		}
		h.failedAuth(c.UserContext(), ipKey)
		return unauthorized(c)
	}
	if err != nil {
		return err
	}
	rate := h.APIRate
	if c.Method() == fiber.MethodPost && c.Path() == "/api/v1/introspect" {
		rate = h.IntrospectRate
	}
	if ok, wait := rate.Allow(auth.Token.ID); !ok {
		h.authOutcome("rate_limited")
		return tooManyRequests(c, wait, "This token is sending requests too fast.")
	}
	h.authOutcome("success")
	h.Store.RecordTokenUse(auth, request.ClientIP(c), c.Get(fiber.HeaderUserAgent))
	request.SetTokenAuth(c, auth)
	return c.Next()
}

func (h *Handler) failedAuth(ctx context.Context, ipKey string) {
	if h.APIAuthFailures != nil {
		h.APIAuthFailures.Fail(ctx, ipKey)
	}
}

// tooManyRequests answers 429 with Retry-After in whole seconds.
func tooManyRequests(c *fiber.Ctx, wait time.Duration, detail string) error {
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	return problem(c, Problem{Type: problemBase + "rate-limited", Title: "Too Many Requests", Status: fiber.StatusTooManyRequests,
		Detail: detail + " Retry after the time in Retry-After."})
}

// APIExactPath answers a path with a trailing slash as unknown (404): the
// router would serve /users/ as /users, so a client building /users/{id}
// with an empty id would get the list instead of an error.
func (h *Handler) APIExactPath(c *fiber.Ctx) error {
	if strings.HasSuffix(c.Path(), "/") {
		return h.APINotFound(c)
	}
	return c.Next()
}

// APINotFound answers unknown API paths.
func (h *Handler) APINotFound(c *fiber.Ctx) error {
	return problem(c, Problem{Type: ProblemNotFound, Title: "Not Found", Status: fiber.StatusNotFound, Detail: "There is no such API endpoint."})
}
