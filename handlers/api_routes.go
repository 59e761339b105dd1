package handlers

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/web/request"
)

// APIRoute is one API endpoint with the scope its token must hold and the
// least role allowed to call it, which is the scope's (models.WardenScopes).
type APIRoute struct {
	Method  string
	Path    string // relative to /api/v1
	Scope   string // "" for /me, which any working token may call
	MinRole models.Role
	Handler fiber.Handler
}

// route builds an APIRoute whose least role comes from its scope, so the
// role policy and the scopes are one table (SPEC §6): Admin service users
// may call everything; Managers also /introspect; Members only /me.
func route(method, path, scope string, h fiber.Handler) APIRoute {
	min := models.RoleMember
	if scope != "" {
		var ok bool
		if min, ok = models.ScopeMinRole(scope); !ok {
			panic("handlers: route " + method + " " + path + " names no Warden scope: " + scope)
		}
	}
	return APIRoute{Method: method, Path: path, Scope: scope, MinRole: min, Handler: h}
}

// APIRoutes is the API: every endpoint with its scope and policy. A route
// missing here is not served, and the policy test fails for any registered
// route without a policy. The /webhooks routes have their own scopes,
// webhooks:read and webhooks:write, added to issue 19's list, which
// predates them.
func (h *Handler) APIRoutes() []APIRoute {
	return []APIRoute{
		route("GET", "/me", "", h.APIMe),
		route("POST", "/introspect", "introspect", h.APIIntrospect),
		route("GET", "/users", "users:read", h.APIUsersList),
		route("POST", "/users", "users:write", h.APIUserCreate),
		route("GET", "/users/:id", "users:read", h.APIUserGet),
		route("PATCH", "/users/:id", "users:write", h.APIUserPatch),
		route("POST", "/users/:id/deactivate", "users:write", h.APIUserDeactivate),
		route("POST", "/users/:id/reactivate", "users:write", h.APIUserReactivate),
		route("GET", "/users/:id/tokens", "tokens:read", h.APITokensList),
		route("POST", "/users/:id/tokens", "tokens:write", h.APITokenCreate),
		route("GET", "/tokens", "tokens:read", h.APITokensInventory),
		route("POST", "/tokens/revoke", "tokens:write", h.APITokensBulkRevoke),
		route("POST", "/tokens/:id/revoke", "tokens:write", h.APITokenRevoke),
		route("POST", "/tokens/:id/restore", "tokens:write", h.APITokenRestore),
		route("POST", "/tokens/:id/rotate", "tokens:write", h.APITokenRotate),
		route("DELETE", "/tokens/:id", "tokens:write", h.APITokenDelete),
		route("PATCH", "/tokens/:id", "tokens:write", h.APITokenPatch),
		route("GET", "/tokens/:id/ip-suggestions", "tokens:read", h.APITokenIPSuggestions),
		route("GET", "/teams", "teams:read", h.APITeamsList),
		route("POST", "/teams", "teams:write", h.APITeamCreate),
		route("PATCH", "/teams/:id", "teams:write", h.APITeamPatch),
		route("DELETE", "/teams/:id", "teams:write", h.APITeamDelete),
		route("GET", "/audit", "audit:read", h.APIAudit),
		route("GET", "/webhooks", "webhooks:read", h.APIWebhooksList),
		route("POST", "/webhooks", "webhooks:write", h.APIWebhookCreate),
		route("GET", "/webhooks/:id", "webhooks:read", h.APIWebhookGet),
		route("PATCH", "/webhooks/:id", "webhooks:write", h.APIWebhookPatch),
		route("DELETE", "/webhooks/:id", "webhooks:write", h.APIWebhookDelete),
		route("POST", "/webhooks/:id/rotate-secret", "webhooks:write", h.APIWebhookRotateSecret),
		route("POST", "/webhooks/:id/test", "webhooks:write", h.APIWebhookTest),
		route("GET", "/webhooks/:id/deliveries", "webhooks:read", h.APIWebhookDeliveries),
		route("GET", "/settings", "settings:read", h.APISettingsGet),
		route("PATCH", "/settings", "settings:write", h.APISettingsPatch),
	}
}

// RequireRole refuses callers below min with 403, and records the denial.
func (h *Handler) RequireRole(min models.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		auth := request.TokenAuth(c)
		if auth != nil && auth.User.Role.AtLeast(min) {
			return c.Next()
		}
		return h.deny(c, "needs_"+string(min), "This endpoint needs a service user with the "+min.Label()+" role.", nil)
	}
}

// RequireScope refuses a token without scope with 403 naming it, and
// records the denial as RequireRole does. It runs after RequireRole, so a
// refusal here means the token was made narrower than its user's role.
func (h *Handler) RequireScope(scope string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		auth := request.TokenAuth(c)
		if auth != nil && auth.Scopes.Allows(scope) {
			return c.Next()
		}
		return h.deny(c, "needs_scope:"+scope, "This endpoint needs a token with the scope "+scope+".",
			map[string]string{"scope": "The token lacks " + scope + "."})
	}
}

// deny records an API call refused for reason and answers 403.
func (h *Handler) deny(c *fiber.Ctx, reason, detail string, errs map[string]string) error {
	route := c.Method() + " " + c.Route().Path
	if err := h.Store.RecordEvent(c.UserContext(), h.actor(c), "auth.denied", models.OutcomeDenied,
		reason, "route", 0, route); err != nil {
		return err
	}
	return problem(c, Problem{Type: ProblemForbidden, Title: "Forbidden", Status: fiber.StatusForbidden, Detail: detail, Errors: errs})
}

// APIMethodNotAllowed answers a known API path called with the wrong method
// with 405 and an Allow header, and unknown paths with 404.
func (h *Handler) APIMethodNotAllowed(routes []APIRoute) fiber.Handler {
	return func(c *fiber.Ctx) error {
		path := strings.TrimPrefix(c.Path(), "/api/v1")
		// The most literal patterns win: /tokens/revoke is not /tokens/{id}.
		var allow []string
		best := -1
		for _, r := range routes {
			if !pathMatches(r.Path, path) {
				continue
			}
			n := strings.Count(r.Path, "/") - strings.Count(r.Path, ":")
			if n > best {
				allow, best = nil, n
			}
			if n == best {
				allow = append(allow, r.Method)
			}
		}
		if len(allow) == 0 {
			return h.APINotFound(c)
		}
		c.Set(fiber.HeaderAllow, strings.Join(allow, ", "))
		return problem(c, Problem{Type: problemBase + "method-not-allowed", Title: "Method Not Allowed", Status: fiber.StatusMethodNotAllowed,
			Detail: "Use " + strings.Join(allow, " or ") + " on this endpoint."})
	}
}

// APILiteralPaths answers a path without ids called with a method it does
// not serve, before the router reads it as another path's id: DELETE
// /tokens/revoke is a 405, not DELETE /tokens/{id}.
func (h *Handler) APILiteralPaths(routes []APIRoute) fiber.Handler {
	methods := map[string][]string{}
	for _, r := range routes {
		if !strings.Contains(r.Path, ":") {
			methods[r.Path] = append(methods[r.Path], r.Method)
		}
	}
	notAllowed := h.APIMethodNotAllowed(routes)
	return func(c *fiber.Ctx) error {
		ms, ok := methods[strings.TrimSuffix(strings.TrimPrefix(c.Path(), "/api/v1"), "/")]
		if !ok || slices.Contains(ms, c.Method()) {
			return c.Next()
		}
		return notAllowed(c)
	}
}

// pathMatches compares a route pattern with :params against a path. A
// parameter matches one non-empty segment, as in the router: /users//tokens
// names no user, so it is an unknown path (404), not a wrong method.
func pathMatches(pattern, path string) bool {
	// One slash off each end, as the router forgives a trailing one; "//users"
	// keeps its empty first segment and matches nothing.
	path = strings.TrimSuffix(strings.TrimPrefix(path, "/"), "/")
	ps, xs := strings.Split(strings.Trim(pattern, "/"), "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if strings.HasPrefix(ps[i], ":") {
			if xs[i] == "" {
				return false
			}
		} else if ps[i] != xs[i] {
			return false
		}
	}
	return true
}
