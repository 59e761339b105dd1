package models

import (
	"regexp"
	"testing"
)

func TestTokenFormat100k(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 5_000
	}
	scanner := regexp.MustCompile(TokenPattern)
	seen := make(map[string]struct{}, n)
	for i := 0; i < n; i++ {
		tok, err := NewTokenSecret()
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := seen[tok]; dup {
			t.Fatalf("duplicate token after %d", i)
		}
		seen[tok] = struct{}{}
		if len(tok) != TokenLen || !scanner.MatchString(tok) {
			t.Fatalf("token %q does not match the published pattern", tok)
		}
		if err := CheckTokenFormat(tok); err != nil {
			t.Fatalf("token %q fails its own checksum", tok)
		}
	}
}

func TestTokenChecksumCatchesTypos(t *testing.T) {
	tok, _ := NewTokenSecret()
	for i := len(TokenPrefix); i < len(tok); i++ {
		for _, c := range []byte("0aZ") {
			if tok[i] == c {
				continue
			}
			b := []byte(tok)
			b[i] = c
			if CheckTokenFormat(string(b)) == nil {
				t.Fatalf("changing position %d to %q passed the checksum", i, c)
			}
		}
	}
	// Swapping two different neighbours is caught too.
	for i := len(TokenPrefix); i < len(tok)-1; i++ {
		if tok[i] == tok[i+1] {
			continue
		}
		b := []byte(tok)
		b[i], b[i+1] = b[i+1], b[i]
		if CheckTokenFormat(string(b)) == nil {
			t.Fatalf("swapping positions %d and %d passed the checksum", i, i+1)
		}
	}
	for _, bad := range []string{"", "wdn_", tok[:len(tok)-1], tok + "x", "ghp_" + tok[4:], " " + tok[1:], "wdn_" + "!" + tok[5:]} {
		if CheckTokenFormat(bad) == nil {
			t.Errorf("CheckTokenFormat(%q) accepted it", bad)
		}
	}
	if h := TokenHint(tok); h != "wdn_…"+tok[len(tok)-4:] {
		t.Errorf("hint = %q", h)
	}
}

func FuzzCheckTokenFormat(f *testing.F) {
	tok, _ := NewTokenSecret()
	f.Add(tok)
	f.Add("wdn_")
	f.Add("wdn_00000000000000000000000000000000000000")
	f.Add("wdn_0000000000000000000000000000000000000é")
	f.Add("WDN_00000000000000000000000000000000000000")
	shape := regexp.MustCompile(TokenPattern)
	anchored := regexp.MustCompile(`^wdn_[0-9A-Za-z]{38}$`)
	f.Fuzz(func(t *testing.T, s string) {
		if wellFormed(s) != anchored.MatchString(s) {
			t.Fatalf("%q: wellFormed says %v, the anchored pattern %v", s, wellFormed(s), anchored.MatchString(s))
		}
		if wellFormed(s) && !shape.MatchString(s) {
			t.Fatalf("%q has the token's shape but not the published pattern", s)
		}
		if CheckTokenFormat(s) == nil {
			if len(s) != TokenLen || s[:4] != TokenPrefix || string(checksum(s[:TokenLen-tokenChecksumLen])) != s[TokenLen-tokenChecksumLen:] {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}
