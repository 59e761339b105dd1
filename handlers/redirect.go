package handlers

import (
	"net/url"
	"strings"
	"unicode"
)

// SafeNext returns next when it is a path on this site, and "/" otherwise.
// It is the only gate between the ?next= parameter and a redirect, so it
// refuses everything a browser might resolve to another origin:
// scheme-relative "//host", backslashes (which browsers treat as slashes),
// control characters, and anything with a scheme or host.
func SafeNext(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' {
		return "/"
	}
	if strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') {
		return "/"
	}
	for _, r := range next {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	// Encoded slashes or backslashes at the start can be decoded by a proxy
	// into "//" on the way back.
	if lower := strings.ToLower(next); strings.HasPrefix(lower, "/%2f") || strings.HasPrefix(lower, "/%5c") {
		return "/"
	}
	return next
}
