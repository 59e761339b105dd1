package handlers

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/web/request"
)

// roleRank orders roles for the API's policies.
var roleRank = map[models.Role]int{models.RoleMember: 1, models.RoleManager: 2, models.RoleAdmin: 3}

// APIRoute is one API endpoint with the least role allowed to call it.
type APIRoute struct {
	Method  string
	Path    string // relative to /api/v1
	MinRole models.Role
	Handler fiber.Handler
}

// APIRoutes is the API: every endpoint with its policy (SPEC §6). Admin
// service users may call everything; Managers also /introspect; Members
// only /me. A route missing here is not served, and the policy test fails
// for any registered route without a policy.
func (h *Handler) APIRoutes() []APIRoute {
	admin, manager, member := models.RoleAdmin, models.RoleManager, models.RoleMember
	return []APIRoute{
		{"GET", "/me", member, h.APIMe},
		{"POST", "/introspect", manager, h.APIIntrospect},
		{"GET", "/users", admin, h.APIUsersList},
		{"POST", "/users", admin, h.APIUserCreate},
		{"GET", "/users/:id", admin, h.APIUserGet},
		{"PATCH", "/users/:id", admin, h.APIUserPatch},
		{"POST", "/users/:id/deactivate", admin, h.APIUserDeactivate},
		{"POST", "/users/:id/reactivate", admin, h.APIUserReactivate},
		{"GET", "/users/:id/tokens", admin, h.APITokensList},
		{"POST", "/users/:id/tokens", admin, h.APITokenCreate},
		{"GET", "/tokens", admin, h.APITokensInventory},
		{"POST", "/tokens/revoke", admin, h.APITokensBulkRevoke},
		{"POST", "/tokens/:id/revoke", admin, h.APITokenRevoke},
		{"POST", "/tokens/:id/restore", admin, h.APITokenRestore},
		{"POST", "/tokens/:id/rotate", admin, h.APITokenRotate},
		{"DELETE", "/tokens/:id", admin, h.APITokenDelete},
		{"GET", "/teams", admin, h.APITeamsList},
		{"POST", "/teams", admin, h.APITeamCreate},
		{"PATCH", "/teams/:id", admin, h.APITeamPatch},
		{"DELETE", "/teams/:id", admin, h.APITeamDelete},
		{"GET", "/audit", admin, h.APIAudit},
		{"GET", "/webhooks", admin, h.APIWebhooksList},
		{"POST", "/webhooks", admin, h.APIWebhookCreate},
		{"GET", "/webhooks/:id", admin, h.APIWebhookGet},
		{"PATCH", "/webhooks/:id", admin, h.APIWebhookPatch},
		{"DELETE", "/webhooks/:id", admin, h.APIWebhookDelete},
		{"POST", "/webhooks/:id/rotate-secret", admin, h.APIWebhookRotateSecret},
		{"POST", "/webhooks/:id/test", admin, h.APIWebhookTest},
		{"GET", "/webhooks/:id/deliveries", admin, h.APIWebhookDeliveries},
	}
}

// RequireRole refuses callers below min with 403, and records the denial.
func (h *Handler) RequireRole(min models.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		auth := request.TokenAuth(c)
		if auth != nil && roleRank[auth.User.Role] >= roleRank[min] {
			return c.Next()
		}
		route := c.Method() + " " + c.Route().Path
		if err := h.Store.RecordEvent(c.UserContext(), h.actor(c), "auth.denied", models.OutcomeDenied,
			"needs_"+string(min), "route", 0, route); err != nil {
			return err
		}
		return problem(c, Problem{Type: ProblemForbidden, Title: "Forbidden", Status: fiber.StatusForbidden,
			Detail: "This endpoint needs a service user with the " + min.Label() + " role."})
	}
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
