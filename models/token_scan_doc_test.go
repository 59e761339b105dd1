package models

import (
	"hash/crc32"
	"os"
	"regexp"
	"strings"
	"testing"
)

// ValidWardenToken reports whether s is shaped like a Warden token and its
// checksum (the CRC32 of the first 36 characters, as 6 base62 digits) matches.
func ValidWardenToken(s string) bool {
	const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	if !regexp.MustCompile(`^wdn_[0-9A-Za-z]{38}$`).MatchString(s) {
		return false
	}
	c := crc32.ChecksumIEEE([]byte(s[:36]))
	sum := make([]byte, 6)
	for i := 5; i >= 0; i-- {
		sum[i] = base62[c%62]
		c /= 62
	}
	return string(sum) == s[36:]
}

// TestSecretScanningDoc: docs/secret-scanning.md publishes the pattern
// (TokenPattern), a gitleaks rule with the same pattern, and the
// checksum-verifying function above, verbatim; the patterns find generated
// tokens in text and not near-misses, and the function accepts generated
// tokens and refuses a wrong checksum.
func TestSecretScanningDoc(t *testing.T) {
	doc, err := os.ReadFile("../docs/secret-scanning.md")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile("token_scan_doc_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fn := string(self)
	fn = fn[strings.Index(fn, "// ValidWardenToken"):]
	fn = fn[:strings.Index(fn, "\n}\n")+3]
	if !strings.Contains(string(doc), fn) {
		t.Error("the doc's Go example is not ValidWardenToken as tested here")
	}
	if !strings.Contains(string(doc), "`"+TokenPattern+"`") {
		t.Errorf("the doc does not publish TokenPattern %s", TokenPattern)
	}
	m := regexp.MustCompile(`(?m)^regex = '''(.*)'''$`).FindStringSubmatch(string(doc))
	if m == nil {
		t.Fatal("no gitleaks rule (regex = '''…''') in the doc")
	}
	if m[1] != TokenPattern {
		t.Errorf("gitleaks regex %s; want TokenPattern %s", m[1], TokenPattern)
	}
	pattern := regexp.MustCompile(m[1])

	for range 200 {
		tok, err := NewTokenSecret()
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{tok, "WARDEN_TOKEN=" + tok + "\n", `{"token": "` + tok + `"}`, "Bearer " + tok} {
			if got := pattern.FindString(text); got != tok {
				t.Fatalf("pattern finds %q in %q; want the token", got, text)
			}
		}
		if !ValidWardenToken(tok) {
			t.Fatalf("ValidWardenToken refuses a generated token %s", tok)
		}
		last := tok[len(tok)-1]
		wrongSum := tok[:len(tok)-1] + string(map[bool]byte{true: 'A', false: 'B'}[last != 'A'])
		wrongBody := tok[:10] + string(map[bool]byte{true: 'z', false: 'y'}[tok[10] != 'z']) + tok[11:]
		for _, miss := range []string{wrongSum, wrongBody} {
			if ValidWardenToken(miss) {
				t.Fatalf("ValidWardenToken accepts %s, whose checksum does not match", miss)
			}
			if CheckTokenFormat(miss) == nil {
				t.Fatalf("CheckTokenFormat accepts %s", miss)
			}
		}
		for _, miss := range []string{
			tok[:len(tok)-1],            // one short
			tok + "x",                   // one long
			"wdx_" + tok[4:],            // another prefix
			"WDN_" + tok[4:],            // upper case prefix
			"wdn-" + tok[4:],            // another separator
			"xwdn_" + tok[4:len(tok)-1], // inside a word
		} {
			if pattern.MatchString(miss) || ValidWardenToken(miss) {
				t.Fatalf("near-miss %q matches", miss)
			}
		}
	}
}
