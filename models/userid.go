package models

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// ServiceSuffix ends every service user's user_id.
const ServiceSuffix = "@service"

// letters that do not decompose into a base letter and an accent, spelled
// the way people transliterate them.
var transliterations = map[rune]string{
	'ß': "ss", 'æ': "ae", 'Æ': "ae", 'ø': "o", 'Ø': "o", 'œ': "oe", 'Œ': "oe",
	'ł': "l", 'Ł': "l", 'đ': "d", 'Đ': "d", 'ð': "d", 'Ð': "d", 'þ': "th", 'Þ': "th", 'ı': "i",
}

// DeriveUserID turns a service user's display name into its user_id (SPEC
// §2.2): accents stripped ("Café" → "cafe"), lower case, white space to "_",
// everything outside [a-z0-9_-] removed, runs of "_" collapsed, "_" and "-"
// trimmed from both ends, then "@service" appended.
//
// It is idempotent: a name that already ends in "@service" is treated as its
// stem, so DeriveUserID(DeriveUserID(x)) == DeriveUserID(x). It returns ""
// when nothing is left of the name; callers report that as a validation error.
func DeriveUserID(name string) string {
	name = strings.TrimSuffix(name, ServiceSuffix)
	var b strings.Builder
	lastUnderscore := false
	emit := func(r rune) {
		if r == '_' {
			if lastUnderscore || b.Len() == 0 {
				return // collapse runs; a leading one would be trimmed anyway
			}
			lastUnderscore = true
		} else {
			lastUnderscore = false
		}
		b.WriteRune(r)
	}
	for _, r := range norm.NFKD.String(name) {
		if t, ok := transliterations[r]; ok {
			for _, tr := range t {
				emit(tr)
			}
			continue
		}
		switch {
		case unicode.Is(unicode.Mn, r):
			// a combining accent split off by NFKD: drop it
		case unicode.IsSpace(r) || r == '_':
			emit('_')
		case r >= 'A' && r <= 'Z':
			emit(r + ('a' - 'A'))
		case (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-':
			emit(r)
		}
	}
	stem := strings.Trim(b.String(), "_-")
	// Trimming "-" can expose a "_" run edge ("a_-" → "a_"); trim again until stable.
	for {
		t := strings.Trim(stem, "_-")
		if t == stem {
			break
		}
		stem = t
	}
	if stem == "" {
		return ""
	}
	return stem + ServiceSuffix
}
