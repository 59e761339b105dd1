package models

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Field limits shared by forms, the API and the store.
const (
	MaxNameChars  = 100
	MaxEmailBytes = 254
)

// isBidiControl reports the invisible characters that reorder text (the
// "Trojan Source" family); they have no place in a name or identifier.
func isBidiControl(r rune) bool {
	switch {
	case r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069', r == '\u200E', r == '\u200F', r == '\u061C':
		return true
	}
	return false
}

// CleanName trims and NFC-normalises a display name and returns a
// user-facing message when it is unacceptable.
func CleanName(raw string) (string, string) {
	if !utf8.ValidString(raw) {
		return "", "The name contains invalid characters."
	}
	name := norm.NFC.String(strings.TrimSpace(raw))
	if name == "" {
		return "", "Enter a name."
	}
	for _, r := range name {
		if unicode.IsControl(r) || isBidiControl(r) || r == utf8.RuneError {
			return name, "The name must not contain control or text-direction characters."
		}
	}
	if utf8.RuneCountInString(name) > MaxNameChars {
		return name, "Use at most 100 characters."
	}
	return name, ""
}

// CleanEmail trims an email address, checks its shape and returns it with its
// lower-cased uniqueness key and a user-facing message when it is unacceptable.
// Warden sends no mail, so the check is about typos, not deliverability.
func CleanEmail(raw string) (email, key, problem string) {
	email = strings.TrimSpace(raw)
	if email == "" {
		return "", "", "Enter an email address."
	}
	if len(email) > MaxEmailBytes || !utf8.ValidString(email) {
		return email, "", "Enter a valid email address."
	}
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") ||
		!strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return email, "", "Enter a valid email address, like name@example.com."
	}
	for _, r := range email {
		if unicode.IsSpace(r) || unicode.IsControl(r) || isBidiControl(r) || r == '<' || r == '>' || r == '"' {
			return email, "", "Enter a valid email address, like name@example.com."
		}
	}
	return email, strings.ToLower(email), ""
}
