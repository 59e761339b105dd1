package models

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// MaxTokenScopes bounds the scopes of one token, Warden's and downstream
// ones together.
const MaxTokenScopes = 32

// WardenScope is one of Warden's own API scopes: the area of the API it
// opens and the least role whose tokens may hold it.
type WardenScope struct {
	Name    string
	Area    string // the console groups the checkboxes by it
	Label   string // what it allows, for the console
	MinRole Role
}

// WardenScopes is the one table of Warden's API scopes. Each API route
// names one (handlers/api_routes.go) and takes its least role from here, so
// what a role allows and what a route needs cannot drift apart: Members hold
// none (their tokens reach only /me, which needs no scope), Managers
// introspect, Admins hold all. webhooks:* and settings:* are not in issue
// 19's list, which predates the /webhooks routes (issue 18) and the
// /settings route; without them those routes would need a scope no token
// could be given.
var WardenScopes = []WardenScope{
	{"users:read", "Users", "Read service users and people", RoleAdmin},
	{"users:write", "Users", "Create, change and deactivate users", RoleAdmin},
	{"tokens:read", "Tokens", "Read tokens", RoleAdmin},
	{"tokens:write", "Tokens", "Generate, rotate, revoke and delete tokens", RoleAdmin},
	{"teams:read", "Teams", "Read teams", RoleAdmin},
	{"teams:write", "Teams", "Create, change and delete teams", RoleAdmin},
	{"audit:read", "Audit", "Read the audit log", RoleAdmin},
	{"webhooks:read", "Webhooks", "Read webhook endpoints and deliveries", RoleAdmin},
	{"webhooks:write", "Webhooks", "Manage webhook endpoints", RoleAdmin},
	{"introspect", "Introspection", "Check tokens presented to other services", RoleManager},
	{"settings:read", "Settings", "Read the token expiry policy and inactivity auto-revoke", RoleAdmin},
	{"settings:write", "Settings", "Change the token expiry policy and inactivity auto-revoke", RoleAdmin},
}

// wardenScopeBit is each Warden scope's bit in a scopeMask, by name.
var wardenScopeBit = func() map[string]scopeMask {
	m := make(map[string]scopeMask, len(WardenScopes))
	for i, s := range WardenScopes {
		m[s.Name] = 1 << i
	}
	return m
}()

// wardenScopeAreas are the first words of Warden's scopes: a scope that
// starts with one ("users:delete", "introspect:all") looks like Warden's and
// must be one of them, or a typo would pass as a downstream scope.
var wardenScopeAreas = map[string]bool{"users": true, "tokens": true, "teams": true, "audit": true, "webhooks": true, "introspect": true, "settings": true}

// scopePattern is the shape of any scope, Warden's or downstream.
var scopePattern = regexp.MustCompile(`^[a-z][a-z0-9_.:-]{0,63}$`)

// roleRank orders roles: a role holds what every lower one holds.
func roleRank(r Role) int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleManager:
		return 2
	case RoleMember:
		return 1
	}
	return 0
}

// AtLeast reports whether r holds everything min holds.
func (r Role) AtLeast(min Role) bool { return roleRank(r) >= roleRank(min) && roleRank(min) > 0 }

// ScopeMinRole is the least role that may hold a Warden scope; ok is false
// for a name that is not one.
func ScopeMinRole(name string) (Role, bool) {
	for _, s := range WardenScopes {
		if s.Name == name {
			return s.MinRole, true
		}
	}
	return "", false
}

// RoleScopes lists the Warden scopes r allows, in the table's order: what
// an unscoped token of that role has.
func RoleScopes(r Role) []string {
	return roleMask(r).names()
}

// scopeMask is a set of Warden scopes, one bit each in WardenScopes' order.
type scopeMask uint32

func roleMask(r Role) scopeMask {
	var m scopeMask
	for i, s := range WardenScopes {
		if r.AtLeast(s.MinRole) {
			m |= 1 << i
		}
	}
	return m
}

func (m scopeMask) names() []string {
	out := []string{}
	for i, s := range WardenScopes {
		if m&(1<<i) != 0 {
			out = append(out, s.Name)
		}
	}
	return out
}

// CleanScopes checks the scopes asked for a token of a user with role r and
// returns them in order (Warden's in the table's, then downstream ones
// sorted), without blanks or repeats. None at all is nil: the token has all
// that its role allows. Refusals name the offending value.
func CleanScopes(raw []string, r Role) ([]string, string) {
	var warden scopeMask
	var down []string
	for _, s := range raw {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if bit, ok := wardenScopeBit[s]; ok {
			if min, _ := ScopeMinRole(s); !r.AtLeast(min) {
				return nil, fmt.Sprintf("“%s” needs the %s role; this token's user is %s. A token may be narrower than its user's role, never wider.", s, min.Label(), r.Label())
			}
			warden |= bit
			continue
		}
		if !scopePattern.MatchString(s) {
			return nil, fmt.Sprintf("“%s” is not a scope: use a lowercase letter, then up to 63 of a-z, 0-9, _ . : -.", shortScope(s))
		}
		if area, _, _ := strings.Cut(s, ":"); wardenScopeAreas[area] {
			return nil, fmt.Sprintf("“%s” is not one of Warden's scopes (%s).", s, strings.Join(roleMask(RoleAdmin).names(), ", "))
		}
		if !slices.Contains(down, s) {
			down = append(down, s)
		}
	}
	out := append(warden.names(), slices.Sorted(slices.Values(down))...)
	if len(out) > MaxTokenScopes {
		return nil, fmt.Sprintf("Give at most %d scopes; there are %d.", MaxTokenScopes, len(out))
	}
	if len(out) == 0 {
		return nil, ""
	}
	return out, ""
}

// shortScope keeps a refused value short enough to quote in a message.
func shortScope(s string) string {
	if r := []rune(s); len(r) > 70 {
		return string(r[:69]) + "…"
	}
	return s
}

// joinScopes is the stored form of a token's scopes: space-separated, or
// NULL for a token with all that its role allows.
func joinScopes(scopes []string) *string {
	if len(scopes) == 0 {
		return nil
	}
	s := strings.Join(scopes, " ")
	return &s
}

// Scoped reports whether the token was given scopes; an unscoped token has
// all that its user's role allows.
func (t *Token) Scoped() bool { return t.Scopes != nil }

// ScopeList is the scopes the token was given, nil when unscoped.
func (t *Token) ScopeList() []string {
	if t.Scopes == nil {
		return nil
	}
	return strings.Fields(*t.Scopes)
}

// ScopeGrant is what an authenticated token may do: its Warden scopes
// intersected with its user's role, and its downstream scopes. It is
// parsed once per cached authentication, not per request.
type ScopeGrant struct {
	warden     scopeMask
	downstream []string // shared by every copy: never modified
}

// grantOf intersects t's scopes with u's role now, so a demotion narrows a
// scoped token as it narrows an unscoped one.
func grantOf(t *Token, u *User) *ScopeGrant {
	role := roleMask(u.Role)
	if t.Scopes == nil {
		return &ScopeGrant{warden: role}
	}
	g := &ScopeGrant{}
	for _, s := range strings.Fields(*t.Scopes) {
		if bit, ok := wardenScopeBit[s]; ok {
			g.warden |= bit & role
		} else {
			g.downstream = append(g.downstream, s)
		}
	}
	return g
}

// Allows reports whether the grant holds a Warden scope; "" (a route that
// needs none) is always allowed.
func (g *ScopeGrant) Allows(scope string) bool {
	if scope == "" {
		return true
	}
	return g != nil && g.warden&wardenScopeBit[scope] != 0
}

// Names lists the grant: Warden scopes in the table's order, then the
// downstream ones.
func (g *ScopeGrant) Names() []string {
	if g == nil {
		return []string{}
	}
	return append(g.warden.names(), g.downstream...)
}
