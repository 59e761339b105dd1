package models

import (
	"strings"
	"testing"
	"unicode"
)

// FuzzSearchWords: whatever is typed, the words handed to the full-text
// index are non-empty runs of lower-case letters and digits, so no typed
// text can become query syntax (FTS4 MATCH or tsquery), and splitting the
// stored text of what was typed finds the same words.
func FuzzSearchWords(f *testing.F) {
	for _, s := range []string{"Zoë O'Brien", "deploy-bot@service", `"a" OR b*`, "x:* & !y", "NEAR/2", "Ω≈ç√", "\x00\xff", "ＡＢＣ１"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words := searchWords(s)
		for _, w := range words {
			if w == "" {
				t.Fatalf("%q: an empty word", s)
			}
			for _, r := range w {
				if !(unicode.IsLetter(r) || unicode.IsDigit(r)) || unicode.ToLower(r) != r {
					t.Fatalf("%q: word %q has %q", s, w, r)
				}
			}
		}
		if again := searchWords(strings.Join(words, " ")); strings.Join(again, " ") != strings.Join(words, " ") {
			t.Fatalf("%q: words %q split again as %q", s, words, again)
		}
		for _, d := range []Dialect{SQLite, Postgres} {
			cond, args := d.wordSearch(s)
			if len(words) == 0 && (cond != "1 = 0" || args != nil) {
				t.Fatalf("%q: no words, yet %s %v", s, cond, args)
			}
		}
	})
}
