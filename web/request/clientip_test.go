package request

import (
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	tp, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"untrusted peer ignores the header", "203.0.113.7", []string{"1.2.3.4"}, "203.0.113.7"},
		{"trusted proxy, one hop", "10.1.1.1", []string{"198.51.100.2"}, "198.51.100.2"},
		{"client-forged entries stay on the left", "10.1.1.1", []string{"6.6.6.6, 198.51.100.2"}, "198.51.100.2"},
		{"chain of trusted proxies", "10.1.1.1", []string{"198.51.100.2, 192.0.2.1, 10.9.9.9"}, "198.51.100.2"},
		{"several header lines", "10.1.1.1", []string{"6.6.6.6", "198.51.100.2"}, "198.51.100.2"},
		{"trusted proxy without header", "10.1.1.1", nil, "10.1.1.1"},
		{"garbage hop stops the walk", "10.1.1.1", []string{"198.51.100.2, not-an-ip"}, "10.1.1.1"},
		{"IPv4-mapped IPv6 peer", "::ffff:10.1.1.1", []string{"198.51.100.2"}, "198.51.100.2"},
		{"IPv6 client", "10.1.1.1", []string{"2001:db8::1"}, "2001:db8::1"},
	}
	for _, c := range cases {
		if got := tp.ClientIP(c.peer, c.xff); got != c.want {
			t.Errorf("%s: ClientIP(%q, %q) = %q; want %q", c.name, c.peer, c.xff, got, c.want)
		}
	}
	none, _ := ParseTrustedProxies("")
	if got := none.ClientIP("10.1.1.1", []string{"1.2.3.4"}); got != "10.1.1.1" {
		t.Errorf("with no trusted proxies the header was believed: %q", got)
	}
}

func TestParseTrustedProxiesRejectsGarbage(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "proxy.example.com", "1.2.3"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted it", bad)
		}
	}
}

func FuzzClientIP(f *testing.F) {
	tp, _ := ParseTrustedProxies("10.0.0.0/8")
	f.Add("10.0.0.1", "1.2.3.4, 10.0.0.2")
	f.Add("203.0.113.1", "1.2.3.4")
	f.Add("10.0.0.1", ",,,")
	f.Fuzz(func(t *testing.T, peer, xff string) {
		got := tp.ClientIP(peer, []string{xff})
		p, err := netip.ParseAddr(peer)
		if err != nil {
			return
		}
		if !tp.trusts(p.Unmap()) && got != p.Unmap().String() {
			t.Fatalf("untrusted peer %q: header %q changed the client to %q", peer, xff, got)
		}
		if _, err := netip.ParseAddr(got); err != nil {
			t.Fatalf("ClientIP returned a non-address %q", got)
		}
	})
}
