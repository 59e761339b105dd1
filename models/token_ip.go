package models

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Allowlist limits.
const (
	// MaxAllowedCIDRs bounds one token's allowlist.
	MaxAllowedCIDRs = 32
	// maxTokenAddresses bounds the observed addresses kept per token: the
	// most recently seen ones stay.
	maxTokenAddresses = 64
	// AddressWindow is how long an observed address is kept and suggested.
	AddressWindow = 30 * 24 * time.Hour
	// ipRefusalEvery is how often one token's refusals from outside its
	// allowlist are audited, so a flood cannot fill the log.
	ipRefusalEvery = time.Minute
	// mergeAtLeast is how many observed addresses of one /24 (IPv4) or /64
	// (IPv6) make the suggestion that whole range instead of each address.
	mergeAtLeast = 3
)

// CleanCIDRs checks a token's allowlist and returns it canonical: each
// range masked, IPv4-mapped IPv6 ranges written as IPv4, a bare address as
// its /32 or /128, without blanks or repeats, in the order given. None at
// all is nil: any address. Refusals name the offending value.
func CleanCIDRs(raw []string) ([]string, string) {
	var out []string
	for _, s := range raw {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, msg := parseCIDR(s)
		if msg != "" {
			return nil, msg
		}
		if c := p.String(); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if len(out) > MaxAllowedCIDRs {
		return nil, fmt.Sprintf("Give at most %d address ranges; there are %d.", MaxAllowedCIDRs, len(out))
	}
	return out, ""
}

// parseCIDR reads one range or bare address. A range with bits set past its
// length is refused rather than masked: "10.0.0.5/24" may mean the one host.
func parseCIDR(s string) (netip.Prefix, string) {
	bad := fmt.Sprintf("“%s” is not an address range: write one such as 203.0.113.0/24, 2001:db8::/48 or a single address.", shortScope(s))
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, bad
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), ""
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, bad
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Sprintf("“%s” has bits set past /%d: write %s for the range, or %s/%d for the one address.",
			s, p.Bits(), p.Masked(), p.Addr(), p.Addr().BitLen())
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p, ""
}

// joinCIDRs is the stored form of an allowlist: space-separated, or NULL
// for any address.
func joinCIDRs(cidrs []string) *string { return joinScopes(cidrs) }

// CIDRList is the token's allowlist, nil when it may be used from anywhere.
func (t *Token) CIDRList() []string {
	if t.AllowedCIDRs == nil {
		return nil
	}
	return strings.Fields(*t.AllowedCIDRs)
}

// allowlist is a token's parsed allowlist; nil allows any address.
type allowlist []netip.Prefix

// allowlistOf parses a stored allowlist once per cached authentication. A
// stored value that does not parse (written by hand) allows nothing.
func allowlistOf(t *Token) allowlist {
	if t.AllowedCIDRs == nil {
		return nil
	}
	l := allowlist{}
	for _, s := range strings.Fields(*t.AllowedCIDRs) {
		if p, err := netip.ParsePrefix(s); err == nil {
			l = append(l, p)
		}
	}
	return l
}

// allows reports whether ip is inside the allowlist. An IPv4-mapped IPv6
// address is its IPv4 address.
func (l allowlist) allows(ip string) bool {
	if l == nil {
		return true
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range l {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// AuthenticateTokenFrom is AuthenticateToken for a request from address ip
// (as resolved through the trusted proxies): a token with an allowlist is
// refused from outside it like any invalid token, and the refusal is
// audited as token.ip_refused, at most once a minute per token.
func (s *Store) AuthenticateTokenFrom(ctx context.Context, secret, ip string) (*TokenAuth, error) {
	auth, err := s.AuthenticateToken(ctx, secret)
	if err != nil {
		return nil, err
	}
	if err := s.checkAddress(ctx, auth, ip, "api"); err != nil {
		return nil, err
	}
	return auth, nil
}

// checkAddress refuses auth from ip when its token's allowlist excludes it.
// A failed audit write is joined to the refusal, which still says only
// "invalid token", so the answer never reveals that the token exists.
func (s *Store) checkAddress(ctx context.Context, auth *TokenAuth, ip, via string) error {
	if auth.allowed.allows(ip) {
		return nil
	}
	refusal := &TokenAuthError{Reason: "ip_refused"}
	if !s.ipRefusals.due(auth.Token.ID, s.Now()) {
		return refusal
	}
	t, u := auth.Token, auth.User
	a := Actor{Kind: ActorService, ID: u.ID, Label: u.Handle(), TokenID: t.ID, IP: ip}
	err := s.write(ctx, func(tx *gorm.DB) error {
		ch := Changes{}
		ch.set("address", nil, clip(ip))
		ch.set("via", nil, via)
		return s.record(tx, a, "token.ip_refused", OutcomeDenied, "outside_allowlist", tokenTarget(t), ch)
	})
	if err != nil {
		s.ipRefusals.undo(t.ID)
		return errors.Join(refusal, err)
	}
	return refusal
}

// ipRefusalLog remembers when each token's last refusal was audited, in
// this process: with several replicas, each audits at most one a minute.
type ipRefusalLog struct {
	mu   sync.Mutex
	last map[int64]time.Time
}

// due reports whether a refusal of token id at now is to be audited, and
// if so notes it.
func (l *ipRefusalLog) due(id int64, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil || len(l.last) >= maxKeptAuths {
		l.last = map[int64]time.Time{}
	}
	if at, ok := l.last[id]; ok && now.Sub(at) < ipRefusalEvery {
		return false
	}
	l.last[id] = now
	return true
}

func (l *ipRefusalLog) undo(id int64) {
	l.mu.Lock()
	delete(l.last, id)
	l.mu.Unlock()
}

// SetTokenAllowlist replaces a token's allowlist (none: any address),
// audited as token.allowlist with the before and after. The same list
// again changes nothing and writes nothing.
func (s *Store) SetTokenAllowlist(ctx context.Context, a Actor, id int64, cidrs []string) (*Token, error) {
	clean, msg := CleanCIDRs(cidrs)
	if msg != "" {
		return nil, NewValidationError("allowed_cidrs", msg)
	}
	var out *Token
	err := s.write(ctx, func(tx *gorm.DB) error {
		t, err := tokenByID(tx, id)
		if err != nil {
			return err
		}
		before, after := t.AllowedCIDRs, joinCIDRs(clean)
		out = t
		if cidrText(before) == cidrText(after) {
			return nil
		}
		if err := tx.Model(&Token{}).Where("id = ?", id).Update("allowed_cidrs", after).Error; err != nil {
			return fmt.Errorf("models: set allowlist: %w", err)
		}
		t.AllowedCIDRs = after
		ch := Changes{}
		ch.set("allowed_cidrs", cidrText(before), cidrText(after))
		return s.record(tx, a, "token.allowlist", OutcomeSuccess, "", tokenTarget(t), ch)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// cidrText is an allowlist as its audit event shows it.
func cidrText(s *string) string {
	if s == nil {
		return "any address"
	}
	return *s
}

// ObservedAddress is one address a token was used from in the last 30 days.
type ObservedAddress struct {
	IP        string    `json:"ip"`
	Uses      int64     `json:"uses"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// SuggestedRange is one range of a proposed allowlist and what it covers.
type SuggestedRange struct {
	CIDR      string `json:"cidr"`
	Addresses int    `json:"addresses"` // observed addresses inside it
	Uses      int64  `json:"uses"`
}

// AddressSuggestion is a proposed allowlist for a token and the observed
// addresses behind it.
type AddressSuggestion struct {
	Ranges   []SuggestedRange  `json:"ranges"`
	Observed []ObservedAddress `json:"observed"`
	Since    time.Time         `json:"since"`
}

// CIDRs is the proposal as an allowlist.
func (g *AddressSuggestion) CIDRs() []string {
	out := make([]string, len(g.Ranges))
	for i, r := range g.Ranges {
		out[i] = r.CIDR
	}
	return out
}

// TokenAddresses returns the addresses token id was used from in the last
// 30 days, the most recent first, with uses not yet written merged in.
func (s *Store) TokenAddresses(ctx context.Context, id int64) ([]ObservedAddress, error) {
	since := s.Now().Add(-AddressWindow)
	var rows []ObservedAddress
	err := s.db.WithContext(ctx).Raw(`SELECT ip, uses, first_seen, last_seen FROM token_addresses
		WHERE token_id = ? AND last_seen >= ?`, id, since).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: token addresses: %w", err)
	}
	rows = s.usage.mergeSeen(id, rows)
	slices.SortFunc(rows, func(a, b ObservedAddress) int {
		return cmp.Or(b.LastSeen.Compare(a.LastSeen), cmp.Compare(a.IP, b.IP))
	})
	return rows[:min(len(rows), maxTokenAddresses)], nil
}

// SuggestAllowlist proposes the smallest allowlist covering the addresses
// token id was used from in the last 30 days: each address as its /32 or
// /128, except that three or more in one /24 (IPv4) or /64 (IPv6) become
// that range. A token never used proposes nothing.
func (s *Store) SuggestAllowlist(ctx context.Context, id int64) (*AddressSuggestion, error) {
	if _, err := s.TokenByID(ctx, id); err != nil {
		return nil, err
	}
	obs, err := s.TokenAddresses(ctx, id)
	if err != nil {
		return nil, err
	}
	return &AddressSuggestion{Ranges: suggestRanges(obs), Observed: obs, Since: s.Now().Add(-AddressWindow)}, nil
}

// suggestRanges groups observed addresses by /24 or /64 and merges a group
// of mergeAtLeast or more; the result is in address order.
func suggestRanges(obs []ObservedAddress) []SuggestedRange {
	type group struct {
		addrs []netip.Addr
		uses  []int64
	}
	groups := map[netip.Prefix]*group{}
	for _, o := range obs {
		a, err := netip.ParseAddr(o.IP)
		if err != nil {
			continue
		}
		a = a.Unmap().WithZone("")
		bits := 24
		if a.Is6() {
			bits = 64
		}
		key := netip.PrefixFrom(a, bits).Masked()
		g := groups[key]
		if g == nil {
			g = &group{}
			groups[key] = g
		}
		if !slices.Contains(g.addrs, a) {
			g.addrs = append(g.addrs, a)
			g.uses = append(g.uses, o.Uses)
		}
	}
	var out []SuggestedRange
	var at []netip.Prefix // each range's prefix, to sort by
	for key, g := range groups {
		if len(g.addrs) >= mergeAtLeast {
			var n int64
			for _, u := range g.uses {
				n += u
			}
			out, at = append(out, SuggestedRange{CIDR: key.String(), Addresses: len(g.addrs), Uses: n}), append(at, key)
			continue
		}
		for i, a := range g.addrs {
			p := netip.PrefixFrom(a, a.BitLen())
			out, at = append(out, SuggestedRange{CIDR: p.String(), Addresses: 1, Uses: g.uses[i]}), append(at, p)
		}
	}
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int {
		return cmp.Or(at[i].Addr().Compare(at[j].Addr()), cmp.Compare(at[i].Bits(), at[j].Bits()))
	})
	sorted := make([]SuggestedRange, len(out))
	for i, k := range idx {
		sorted[i] = out[k]
	}
	return sorted
}

// writeSeen adds a flush's observed addresses to token_addresses, keeps
// each token's 64 most recent, and forgets those older than the window.
func writeSeen(tx *gorm.DB, seen map[int64]map[string]*seenAddr, now time.Time) error {
	for id, addrs := range seen {
		for ip, a := range addrs {
			// A token deleted since (by another replica) is skipped: a
			// foreign-key failure would fail every later flush too.
			if err := tx.Exec(`INSERT INTO token_addresses (token_id, ip, uses, first_seen, last_seen)
				SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM tokens WHERE id = ?)
				ON CONFLICT (token_id, ip) DO UPDATE SET uses = token_addresses.uses + excluded.uses,
				last_seen = CASE WHEN excluded.last_seen > token_addresses.last_seen THEN excluded.last_seen ELSE token_addresses.last_seen END`,
				id, ip, a.n, a.first, a.last, id).Error; err != nil {
				return fmt.Errorf("models: token addresses: %w", err)
			}
		}
		if err := tx.Exec(`DELETE FROM token_addresses WHERE token_id = ? AND ip NOT IN
			(SELECT ip FROM token_addresses WHERE token_id = ? ORDER BY last_seen DESC, ip LIMIT ?)`, id, id, maxTokenAddresses).Error; err != nil {
			return fmt.Errorf("models: token addresses: %w", err)
		}
	}
	if err := tx.Exec(`DELETE FROM token_addresses WHERE last_seen < ?`, now.Add(-AddressWindow)).Error; err != nil {
		return fmt.Errorf("models: token addresses: %w", err)
	}
	return nil
}
