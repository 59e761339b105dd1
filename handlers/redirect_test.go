package handlers

import (
	"net/url"
	"strings"
	"testing"
)

func TestSafeNext(t *testing.T) {
	keep := []string{"/", "/account", "/users?sort=name&dir=asc", "/users/12#tokens", "/a/%20b"}
	for _, n := range keep {
		if got := SafeNext(n); got != n {
			t.Errorf("SafeNext(%q) = %q; want it kept", n, got)
		}
	}
	refuse := []string{
		"", "https://evil.example", "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example",
		"http:/evil.example", "javascript:alert(1)", "evil.example", "/%2f%2fevil.example", "/%5cevil.example",
		"/\tevil", "/\nhttps://evil", " /account", "data:text/html,x", "/" + strings.Repeat("a", 3000),
	}
	for _, n := range refuse {
		if got := SafeNext(n); got != "/" {
			t.Errorf("SafeNext(%q) = %q; want /", n, got)
		}
	}
}

// FuzzSafeNext checks the property that matters: whatever comes in, what
// comes out resolves to this origin.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "//x", "/\\x", "https://x", "/a?b=c", "/%2f%2fx", "\x00"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://warden.example/login")
	f.Fuzz(func(t *testing.T, next string) {
		got := SafeNext(next)
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.Contains(got, "\\") {
			t.Fatalf("SafeNext(%q) = %q", next, got)
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("SafeNext(%q) = %q, which does not parse", next, got)
		}
		if r := base.ResolveReference(u); r.Host != base.Host || r.Scheme != base.Scheme {
			t.Fatalf("SafeNext(%q) = %q resolves to %s", next, got, r)
		}
	})
}
