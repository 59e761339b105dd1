package models

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCleanCIDRs(t *testing.T) {
	many := make([]string, 33)
	for i := range many {
		many[i] = fmt.Sprintf("10.0.%d.0/24", i)
	}
	cases := []struct {
		name string
		in   []string
		want []string
		msg  string // a part of the refusal, "" for none
	}{
		{"none", nil, nil, ""},
		{"blanks are none", []string{" ", ""}, nil, ""},
		{"ranges kept in order, deduplicated", []string{"203.0.113.0/24", " 2001:db8::/48 ", "203.0.113.0/24"},
			[]string{"203.0.113.0/24", "2001:db8::/48"}, ""},
		{"bare addresses", []string{"198.51.100.7", "2001:db8::1"}, []string{"198.51.100.7/32", "2001:db8::1/128"}, ""},
		{"IPv4-mapped written as IPv4", []string{"::ffff:198.51.100.0/120", "::ffff:198.51.100.9"},
			[]string{"198.51.100.0/24", "198.51.100.9/32"}, ""},
		{"host bits set", []string{"10.0.0.5/24"}, nil, "“10.0.0.5/24” has bits set past /24: write 10.0.0.0/24 for the range, or 10.0.0.5/32"},
		{"not a range", []string{"10.0.0.0/33"}, nil, "“10.0.0.0/33” is not an address range"},
		{"a name", []string{"example.com"}, nil, "“example.com” is not an address range"},
		{"a zone", []string{"fe80::1%eth0"}, nil, "“fe80::1%eth0” is not an address range"},
		{"33 ranges", many, nil, "at most 32 address ranges"},
		{"32 ranges", many[:32], many[:32], ""},
	}
	for _, c := range cases {
		got, msg := CleanCIDRs(c.in)
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

func TestAllowlistMatching(t *testing.T) {
	list := "203.0.113.0/24 2001:db8:1::/48 192.0.2.7/32"
	l := allowlistOf(&Token{AllowedCIDRs: &list})
	cases := map[string]bool{
		"203.0.113.1":           true,
		"203.0.113.255":         true,
		"203.0.114.1":           false,
		"192.0.2.7":             true,
		"192.0.2.8":             false,
		"2001:db8:1::5":         true,
		"2001:db8:1:ffff::1":    true,
		"2001:db8:2::1":         false,
		"::ffff:203.0.113.9":    true, // IPv4-mapped IPv6 is its IPv4 address
		"::ffff:198.51.100.1":   false,
		"fe80::1%eth0":          false,
		"":                      false,
		"not an address":        false,
		"2001:db8:1::5%eth0":    true,
		"::ffff:192.0.2.7":      true,
		"64:ff9b::203.0.113.1":  false, // NAT64 is another address
		"2001:db8:1::ffff:1:ab": true,
	}
	for ip, want := range cases {
		if got := l.allows(ip); got != want {
			t.Errorf("allows(%q) = %v, want %v", ip, got, want)
		}
	}
	if !allowlist(nil).allows("198.51.100.1") {
		t.Error("no allowlist refused an address")
	}
	bad := "not-a-range"
	if allowlistOf(&Token{AllowedCIDRs: &bad}).allows("198.51.100.1") {
		t.Error("a stored allowlist that does not parse allowed an address")
	}
}

func TestAllowlistRefusesOutsideAndAuditsOnceAMinute(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	svc := mustServiceAs(t, s, "Pinned", RoleAdmin)
	tok, secret, err := s.GenerateToken(ctx, System, svc.ID, NewToken{Name: "pinned", Expiry: Expiry{Days: 30},
		AllowedCIDRs: []string{"203.0.113.0/24", "2001:db8::/64"}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tok.CIDRList(), []string{"203.0.113.0/24", "2001:db8::/64"}) {
		t.Fatalf("stored %v", tok.CIDRList())
	}
	refusals := func() int {
		t.Helper()
		page, err := s.ListAudit(ctx, AuditQuery{Actions: []string{"token.ip_refused"}})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Events)
	}
	// Twice each: the second answer comes from the auth cache.
	for range 2 {
		for _, ip := range []string{"203.0.113.40", "2001:db8::9", "::ffff:203.0.113.41"} {
			if _, err := s.AuthenticateTokenFrom(ctx, secret, ip); err != nil {
				t.Errorf("from %s: %v", ip, err)
			}
		}
	}
	for range 3 {
		_, err := s.AuthenticateTokenFrom(ctx, secret, "198.51.100.7")
		var ae *TokenAuthError
		if !errors.As(err, &ae) || ae.Reason != "ip_refused" || !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("from outside: %v; want an invalid-token refusal", err)
		}
	}
	if n := refusals(); n != 1 {
		t.Fatalf("%d token.ip_refused events after three refusals in a minute; want 1", n)
	}
	page, _ := s.ListAudit(ctx, AuditQuery{Actions: []string{"token.ip_refused"}})
	e := page.Events[0]
	if e.TargetID == nil || *e.TargetID != tok.ID || e.IP != "198.51.100.7" || e.Outcome != OutcomeDenied ||
		!strings.Contains(e.Changes, `"198.51.100.7"`) || e.ActorID == nil || *e.ActorID != svc.ID {
		t.Errorf("event %+v", e)
	}
	clock.Advance(time.Minute)
	if _, err := s.AuthenticateTokenFrom(ctx, secret, "198.51.100.7"); !errors.Is(err, ErrTokenInvalid) {
		t.Fatal(err)
	}
	if n := refusals(); n != 2 {
		t.Errorf("%d events a minute later; want 2", n)
	}

	// Introspection checks the allowlist only when told where the token
	// came from; its refusal is audited like the API's (a minute on).
	caller, err := s.AuthenticateTokenFrom(ctx, secret, "203.0.113.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.IntrospectToken(ctx, caller, secret, ""); err != nil {
		t.Errorf("introspection without client_ip: %v", err)
	}
	if _, err := s.IntrospectToken(ctx, caller, secret, "203.0.113.77"); err != nil {
		t.Errorf("introspection from inside: %v", err)
	}
	clock.Advance(time.Minute)
	if _, err := s.IntrospectToken(ctx, caller, secret, "198.51.100.7"); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("introspection from outside: %v", err)
	}
	if n := refusals(); n != 3 {
		t.Errorf("%d events after an introspection refusal; want 3", n)
	}
}

func TestSetTokenAllowlistAppliesAtOnceAndIsAudited(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	svc := mustServiceAs(t, s, "Movable", RoleAdmin)
	tok, secret := mustToken(t, s, svc.ID, "m", Expiry{Days: 30})
	if _, err := s.AuthenticateTokenFrom(ctx, secret, "198.51.100.7"); err != nil {
		t.Fatal(err) // cached from here on
	}
	if _, err := s.SetTokenAllowlist(ctx, System, tok.ID, []string{"203.0.113.0/24"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateTokenFrom(ctx, secret, "198.51.100.7"); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("after restricting: %v; want refused", err)
	}
	// The same list again writes nothing.
	if _, err := s.SetTokenAllowlist(ctx, System, tok.ID, []string{" 203.0.113.0/24 "}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetTokenAllowlist(ctx, System, tok.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateTokenFrom(ctx, secret, "198.51.100.7"); err != nil {
		t.Errorf("after clearing: %v", err)
	}
	page, err := s.ListAudit(ctx, AuditQuery{Actions: []string{"token.allowlist"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 2 {
		t.Fatalf("%d token.allowlist events; want 2 (set, cleared)", len(page.Events))
	}
	// Newest first.
	if c := page.Events[0].ParsedChanges()["allowed_cidrs"]; c.Before != "203.0.113.0/24" || c.After != "any address" {
		t.Errorf("clearing recorded %+v", c)
	}
	if c := page.Events[1].ParsedChanges()["allowed_cidrs"]; c.Before != "any address" || c.After != "203.0.113.0/24" {
		t.Errorf("setting recorded %+v", c)
	}
	_, err = s.SetTokenAllowlist(ctx, System, tok.ID, []string{"10.0.0.1/8"})
	if msg := FieldErrors(err)["allowed_cidrs"]; !strings.Contains(msg, "10.0.0.1/8") {
		t.Errorf("bad range: %v; want a message on allowed_cidrs naming it", err)
	}
	if _, err := s.SetTokenAllowlist(ctx, System, 999999, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown token: %v", err)
	}
}

func TestRotationKeepsOrReplacesTheAllowlist(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	svc := mustServiceAs(t, s, "Rotating", RoleAdmin)
	old, _, err := s.GenerateToken(ctx, System, svc.ID, NewToken{Name: "r", Expiry: Expiry{Days: 30}, AllowedCIDRs: []string{"192.0.2.0/24"}})
	if err != nil {
		t.Fatal(err)
	}
	kept, _, err := s.RotateToken(ctx, System, old.ID, 0)
	if err != nil || !reflect.DeepEqual(kept.CIDRList(), []string{"192.0.2.0/24"}) {
		t.Fatalf("rotation kept %v, %v", kept.CIDRList(), err)
	}
	moved, _, err := s.RotateTokenWith(ctx, System, kept.ID, 0, TokenRotation{AllowedCIDRs: &[]string{"198.51.100.0/24"}})
	if err != nil || !reflect.DeepEqual(moved.CIDRList(), []string{"198.51.100.0/24"}) {
		t.Fatalf("rotation with a new list gave %v, %v", moved.CIDRList(), err)
	}
	open, _, err := s.RotateTokenWith(ctx, System, moved.ID, 0, TokenRotation{AllowedCIDRs: &[]string{}})
	if err != nil || open.AllowedCIDRs != nil {
		t.Fatalf("rotation with [] gave %v, %v", open.AllowedCIDRs, err)
	}
	_, _, err = s.RotateTokenWith(ctx, System, open.ID, 0, TokenRotation{AllowedCIDRs: &[]string{"nope"}})
	if FieldErrors(err)["allowed_cidrs"] == "" {
		t.Errorf("bad range at rotation: %v", err)
	}
}

func TestSuggestRangesMerges(t *testing.T) {
	obs := func(ips ...string) []ObservedAddress {
		out := make([]ObservedAddress, len(ips))
		for i, ip := range ips {
			out[i] = ObservedAddress{IP: ip, Uses: int64(i + 1)}
		}
		return out
	}
	cidrs := func(r []SuggestedRange) []string {
		out := []string{}
		for _, x := range r {
			out = append(out, x.CIDR)
		}
		return out
	}
	cases := []struct {
		name string
		in   []ObservedAddress
		want []string
	}{
		{"nothing", nil, []string{}},
		{"one address", obs("203.0.113.9"), []string{"203.0.113.9/32"}},
		{"two in a /24 stay apart", obs("203.0.113.9", "203.0.113.10"), []string{"203.0.113.9/32", "203.0.113.10/32"}},
		{"three in a /24 merge", obs("203.0.113.10", "203.0.113.9", "203.0.113.200", "198.51.100.1"),
			[]string{"198.51.100.1/32", "203.0.113.0/24"}},
		{"IPv6: three in a /64 merge", obs("2001:db8::1", "2001:db8::2", "2001:db8::ffff", "2001:db8:0:1::1"),
			[]string{"2001:db8::/64", "2001:db8:0:1::1/128"}},
		{"IPv4-mapped counts as IPv4", obs("::ffff:192.0.2.1", "192.0.2.2", "192.0.2.3"), []string{"192.0.2.0/24"}},
		{"the same address twice counts once", obs("192.0.2.1", "::ffff:192.0.2.1", "192.0.2.2"),
			[]string{"192.0.2.1/32", "192.0.2.2/32"}},
	}
	for _, c := range cases {
		if got := cidrs(suggestRanges(c.in)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	r := suggestRanges(obs("203.0.113.1", "203.0.113.2", "203.0.113.3"))
	if r[0].Addresses != 3 || r[0].Uses != 6 {
		t.Errorf("merged range covers %d addresses, %d uses; want 3, 6", r[0].Addresses, r[0].Uses)
	}
}

func TestObservedAddressesAreKeptBoundedAndForgotten(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	ctx := context.Background()
	svc := mustServiceAs(t, s, "Travelling", RoleAdmin)
	tok, secret := mustToken(t, s, svc.ID, "t", Expiry{Days: 365})
	use := func(ip string) {
		t.Helper()
		auth, err := s.AuthenticateTokenFrom(ctx, secret, ip)
		if err != nil {
			t.Fatal(err)
		}
		s.RecordTokenUse(auth, ip, "test")
	}
	for i := 1; i <= 3; i++ {
		use(fmt.Sprintf("203.0.113.%d", i))
	}
	use("203.0.113.1")
	use("2001:db8::5")
	// Seen before the flush: pending uses are merged in.
	g, err := s.SuggestAllowlist(ctx, tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"203.0.113.0/24", "2001:db8::5/128"}; !reflect.DeepEqual(g.CIDRs(), want) {
		t.Fatalf("before the flush: %v, want %v", g.CIDRs(), want)
	}
	if _, err := s.FlushTokenUse(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	use("203.0.113.1")
	if _, err := s.FlushTokenUse(ctx); err != nil {
		t.Fatal(err)
	}
	obs, err := s.TokenAddresses(ctx, tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(obs) != 4 || obs[0].IP != "203.0.113.1" || obs[0].Uses != 3 || !obs[0].LastSeen.Equal(clock.Now()) {
		t.Fatalf("after two flushes: %+v", obs)
	}
	// An introspection that does not say where the token came from is no
	// observation.
	auth, _ := s.AuthenticateTokenFrom(ctx, secret, "203.0.113.1")
	s.RecordIntrospectedUse(auth, "192.0.2.250", "resource-server")
	if obs, _ := s.TokenAddresses(ctx, tok.ID); len(obs) != 4 {
		t.Errorf("an introspection without client_ip was observed: %+v", obs)
	}

	// At most 64 per token: the most recent stay.
	for i := range 70 {
		clock.Advance(time.Second)
		use(fmt.Sprintf("198.51.100.%d", i))
		if i%20 == 19 {
			if _, err := s.FlushTokenUse(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.FlushTokenUse(ctx); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := s.db.Raw("SELECT COUNT(*) FROM token_addresses WHERE token_id = ?", tok.ID).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	obs, _ = s.TokenAddresses(ctx, tok.ID)
	if n != 64 || len(obs) != 64 || obs[0].IP != "198.51.100.69" || obs[63].IP != "198.51.100.6" {
		t.Fatalf("kept %d rows, read %d, newest %s, oldest %s; want 64 from .69 to .6", n, len(obs), obs[0].IP, obs[len(obs)-1].IP)
	}

	// After 30 days unseen, an address is neither suggested nor kept.
	clock.Advance(AddressWindow + time.Minute)
	if g, _ := s.SuggestAllowlist(ctx, tok.ID); len(g.Ranges) != 0 || len(g.Observed) != 0 {
		t.Errorf("30 days on, still suggested: %+v", g)
	}
	use("192.0.2.1")
	if _, err := s.FlushTokenUse(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Raw("SELECT COUNT(*) FROM token_addresses").Scan(&n).Error; err != nil || n != 1 {
		t.Errorf("%d rows after a flush 30 days on, %v; want only the new address", n, err)
	}
}

func TestFlushSkipsTheAddressesOfATokenDeletedElsewhere(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	svc := mustServiceAs(t, s, "Gone", RoleAdmin)
	tok, secret := mustToken(t, s, svc.ID, "g", Expiry{Days: 30})
	auth, err := s.AuthenticateTokenFrom(ctx, secret, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	s.RecordTokenUse(auth, "192.0.2.1", "test")
	// Another replica deletes it: this one's buffer still holds the use.
	if err := s.db.Exec("DELETE FROM tokens WHERE id = ?", tok.ID).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := s.FlushTokenUse(ctx); err != nil {
		t.Fatalf("flush after another replica deleted the token: %v", err)
	}
}
