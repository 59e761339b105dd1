package models

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

func nonZero(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// searchWords splits s into the words the Users search matches: runs of
// letters and digits, lower-cased and without accents ("Zoë O'Brien" is
// zoe, o, brien). Stored text and typed searches are split alike.
func searchWords(s string) []string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r): // a combining accent
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Fields(b.String())
}

// userIDsMatching is a subquery of the ids of the users wordSearch finds,
// and its arguments: on SQLite the full-text index's own list.
func (d Dialect) userIDsMatching(q string) (string, []any) {
	if d == SQLite {
		if words := searchWords(q); len(words) > 0 {
			return "SELECT docid FROM users_fts WHERE users_fts MATCH ?", []any{strings.Join(words, "* ") + "*"}
		}
	}
	c, a := d.wordSearch(q)
	return "SELECT u.id FROM users AS u WHERE " + c, a
}

// wordSearch is the condition, on users AS u, that some word of the user's
// search_text starts with each word of q, and its arguments. The words are
// letters and digits only, so they cannot carry query syntax.
func (d Dialect) wordSearch(q string) (string, []any) {
	words := searchWords(q)
	if len(words) == 0 {
		return "1 = 0", nil
	}
	if d == Postgres {
		return "to_tsvector('simple', u.search_text) @@ to_tsquery('simple', ?)", []any{strings.Join(words, ":* & ") + ":*"}
	}
	return "u.id IN (SELECT docid FROM users_fts WHERE users_fts MATCH ?)", []any{strings.Join(words, "* ") + "*"}
}
