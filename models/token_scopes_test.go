package models

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustServiceAs(t *testing.T, s *Store, name string, r Role) *User {
	t.Helper()
	u, err := s.CreateServiceUser(context.Background(), System, NewServiceUser{Name: name, Role: r})
	if err != nil {
		t.Fatalf("create service user: %v", err)
	}
	return u
}

func TestRoleScopesFollowTheTable(t *testing.T) {
	cases := map[Role][]string{
		RoleMember:  {},
		RoleManager: {"introspect"},
		RoleAdmin: {"users:read", "users:write", "tokens:read", "tokens:write", "teams:read", "teams:write",
			"audit:read", "webhooks:read", "webhooks:write", "introspect", "settings:read", "settings:write"},
	}
	for r, want := range cases {
		if got := RoleScopes(r); !reflect.DeepEqual(got, want) {
			t.Errorf("RoleScopes(%s) = %v, want %v", r, got, want)
		}
	}
}

func TestCleanScopes(t *testing.T) {
	many := make([]string, 33)
	for i := range many {
		many[i] = fmt.Sprintf("svc.s%02d", i)
	}
	cases := []struct {
		name string
		in   []string
		role Role
		want []string
		msg  string // a part of the refusal, "" for none
	}{
		{"none", nil, RoleMember, nil, ""},
		{"blanks are none", []string{" ", ""}, RoleAdmin, nil, ""},
		{"ordered, deduplicated", []string{"tokens:write", "billing.read", "users:read", "billing.read", "a:b"}, RoleAdmin,
			[]string{"users:read", "tokens:write", "a:b", "billing.read"}, ""},
		{"downstream only", []string{"orders:read"}, RoleMember, []string{"orders:read"}, ""},
		{"manager introspects", []string{"introspect"}, RoleManager, []string{"introspect"}, ""},
		{"wider than the role", []string{"tokens:write"}, RoleManager, nil, "“tokens:write” needs the Admin role"},
		{"member cannot introspect", []string{"introspect"}, RoleMember, nil, "“introspect” needs the Manager role"},
		{"unknown Warden scope", []string{"users:delete"}, RoleAdmin, nil, "“users:delete” is not one of Warden's scopes"},
		{"Warden-looking", []string{"introspect:all"}, RoleAdmin, nil, "“introspect:all”"},
		{"uppercase", []string{"Billing"}, RoleAdmin, nil, "“Billing” is not a scope"},
		{"space inside", []string{"a b"}, RoleAdmin, nil, "“a b” is not a scope"},
		{"too long", []string{"a" + strings.Repeat("b", 64)}, RoleAdmin, nil, "is not a scope"},
		{"longest", []string{"a" + strings.Repeat("b", 63)}, RoleAdmin, []string{"a" + strings.Repeat("b", 63)}, ""},
		{"33 scopes", many, RoleAdmin, nil, "at most 32 scopes"},
		{"32 scopes", many[:32], RoleAdmin, many[:32], ""},
	}
	for _, c := range cases {
		got, msg := CleanScopes(c.in, c.role)
		if c.msg == "" {
			if msg != "" || !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s: got %v, %q; want %v", c.name, got, msg, c.want)
			}
			continue
		}
		if !strings.Contains(msg, c.msg) || got != nil {
			t.Errorf("%s: got %v, %q; want a refusal with %q", c.name, got, msg, c.msg)
		}
	}
}

func TestTokenScopesAreStoredAndIntersectedWithTheRole(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	svc := mustServiceAs(t, s, "Deployer", RoleAdmin)

	scoped, secret, err := s.GenerateToken(ctx, System, svc.ID, NewToken{Name: "deploy", Expiry: Expiry{Days: 30},
		Scopes: []string{"introspect", "tokens:write", "deploy.run"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "tokens:write introspect deploy.run"; scoped.Scopes == nil || *scoped.Scopes != want {
		t.Fatalf("stored scopes %v, want %q", scoped.Scopes, want)
	}
	stored, err := s.TokenByID(ctx, scoped.ID)
	if err != nil || !reflect.DeepEqual(stored.ScopeList(), []string{"tokens:write", "introspect", "deploy.run"}) {
		t.Fatalf("read back %v, %v", stored.ScopeList(), err)
	}
	_, plainSecret := mustToken(t, s, svc.ID, "plain", Expiry{Days: 30})

	check := func(label, secret string, allowed, refused []string, names []string) {
		t.Helper()
		// Twice: the second answer comes from the auth cache.
		for range 2 {
			auth, err := s.AuthenticateToken(ctx, secret)
			if err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			for _, sc := range allowed {
				if !auth.Scopes.Allows(sc) {
					t.Errorf("%s: %s refused", label, sc)
				}
			}
			for _, sc := range refused {
				if auth.Scopes.Allows(sc) {
					t.Errorf("%s: %s allowed", label, sc)
				}
			}
			if got := auth.Scopes.Names(); !reflect.DeepEqual(got, names) {
				t.Errorf("%s: names %v, want %v", label, got, names)
			}
		}
	}
	check("scoped admin", secret, []string{"", "tokens:write", "introspect"}, []string{"tokens:read", "users:read", "webhooks:write"},
		[]string{"tokens:write", "introspect", "deploy.run"})
	check("unscoped admin", plainSecret, []string{"", "users:write", "webhooks:read", "introspect"}, nil, RoleScopes(RoleAdmin))

	// A demotion narrows both at the next request, scoped or not.
	if _, err := s.UpdateUser(ctx, System, svc.ID, UserUpdate{Role: RoleManager}); err != nil {
		t.Fatal(err)
	}
	check("scoped manager", secret, []string{"introspect"}, []string{"tokens:write"}, []string{"introspect", "deploy.run"})
	check("unscoped manager", plainSecret, []string{"introspect"}, []string{"users:read", "tokens:write"}, []string{"introspect"})
	if _, err := s.UpdateUser(ctx, System, svc.ID, UserUpdate{Role: RoleMember}); err != nil {
		t.Fatal(err)
	}
	check("scoped member", secret, []string{""}, []string{"introspect", "tokens:write"}, []string{"deploy.run"})
	check("unscoped member", plainSecret, []string{""}, []string{"introspect"}, []string{})

	// Never wider than the role at creation.
	_, _, err = s.GenerateToken(ctx, System, svc.ID, NewToken{Name: "wide", Expiry: Expiry{Days: 30}, Scopes: []string{"introspect"}})
	if msg := FieldErrors(err)["scopes"]; !strings.Contains(msg, "introspect") {
		t.Errorf("member token with introspect: %v; want a message on scopes naming it", err)
	}
	_, _, err = s.GenerateToken(ctx, System, svc.ID, NewToken{Name: "typo", Expiry: Expiry{Days: 30}, Scopes: []string{"users:delete"}})
	if msg := FieldErrors(err)["scopes"]; !strings.Contains(msg, "users:delete") {
		t.Errorf("users:delete: %v; want a message on scopes naming it", err)
	}
}

func TestRotationKeepsScopes(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	svc := mustServiceAs(t, s, "Rotator", RoleAdmin)
	old, _, err := s.GenerateToken(ctx, System, svc.ID, NewToken{Name: "r", Expiry: Expiry{Days: 30}, Scopes: []string{"audit:read", "x.y"}})
	if err != nil {
		t.Fatal(err)
	}
	fresh, _, err := s.RotateToken(ctx, System, old.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fresh.ScopeList(), []string{"audit:read", "x.y"}) {
		t.Errorf("rotation kept %v, want [audit:read x.y]", fresh.ScopeList())
	}
	clock.Advance(time.Minute)
	next, _, err := s.RotateTokenWith(ctx, System, fresh.ID, 0, TokenRotation{})
	if err != nil || !reflect.DeepEqual(next.ScopeList(), fresh.ScopeList()) {
		t.Errorf("rotation without scopes: %v, %v; want them inherited", next.ScopeList(), err)
	}
	clock.Advance(time.Minute)
	narrowed, _, err := s.RotateTokenWith(ctx, System, next.ID, 0, TokenRotation{Scopes: &[]string{"tokens:read"}})
	if err != nil || !reflect.DeepEqual(narrowed.ScopeList(), []string{"tokens:read"}) {
		t.Errorf("rotation to tokens:read: %v, %v", narrowed.ScopeList(), err)
	}
	clock.Advance(time.Minute)
	all, _, err := s.RotateTokenWith(ctx, System, narrowed.ID, 0, TokenRotation{Scopes: &[]string{}})
	if err != nil || all.Scoped() {
		t.Errorf("rotation to no scopes: %v, %v; want unscoped", all.Scopes, err)
	}
	clock.Advance(time.Minute)
	if _, _, err := s.RotateTokenWith(ctx, System, all.ID, 0, TokenRotation{Scopes: &[]string{"users:delete"}}); FieldErrors(err)["scopes"] == "" {
		t.Errorf("rotation to users:delete: %v; want a message on scopes", err)
	}
	if got, _ := s.TokenByID(ctx, all.ID); got.State(s.Now()) != TokenActive || got.ReplacedBy != nil {
		t.Error("a refused rotation replaced the token")
	}
}
