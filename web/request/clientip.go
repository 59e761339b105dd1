package request

import (
	"fmt"
	"net/netip"
	"strings"
)

// TrustedProxies is the set of peers whose X-Forwarded-For header is believed.
type TrustedProxies struct {
	prefixes []netip.Prefix
}

// ParseTrustedProxies parses a comma-separated list of IP addresses and CIDR
// ranges. An empty list trusts nobody: the peer address is the client.
func ParseTrustedProxies(list string) (*TrustedProxies, error) {
	tp := &TrustedProxies{}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.Contains(item, "/") {
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("request: trusted proxy %q is not an IP address or CIDR range", item)
			}
			tp.prefixes = append(tp.prefixes, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("request: trusted proxy %q is not an IP address or CIDR range", item)
		}
		a = a.Unmap()
		tp.prefixes = append(tp.prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	return tp, nil
}

func (tp *TrustedProxies) trusts(a netip.Addr) bool {
	if tp == nil {
		return false
	}
	a = a.Unmap()
	for _, p := range tp.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP resolves the client address of a request that arrived from peer
// with the given X-Forwarded-For header values. The header is read only when
// the peer is a trusted proxy, and then from right to left: each proxy
// appends the address it saw, so the rightmost address not belonging to a
// trusted proxy is the first one nobody could forge. Entries the client wrote
// itself stand further left and are never reached.
func (tp *TrustedProxies) ClientIP(peer string, xff []string) string {
	peerAddr, err := netip.ParseAddr(peer)
	if err != nil {
		return peer
	}
	peerAddr = peerAddr.Unmap()
	if !tp.trusts(peerAddr) {
		return peerAddr.String()
	}
	var hops []string
	for _, h := range xff {
		hops = append(hops, strings.Split(h, ",")...)
	}
	client := peerAddr
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // garbage from here on cannot be trusted; keep the last good hop
		}
		client = a.Unmap()
		if !tp.trusts(client) {
			break
		}
	}
	return client.String()
}
