package models

import (
	"context"
	"strings"
	"testing"
)

func TestPasswordPolicy(t *testing.T) {
	cases := []struct {
		name, pw string
		ok       bool
	}{
		{"fifteen characters", "abcdefghijkl123", true},
		{"fourteen characters", "abcdefghijkl12", false},
		{"sixty-four characters", strings.Repeat("ab", 32), true},
		{"no composition rules", "all lowercase words here", true},
		{"common", "PasswordPassword", false},
		{"common after NFKC", "ｐａｓｓｗｏｒｄｐａｓｓｗｏｒｄ", false},
		{"repeated character", "zzzzzzzzzzzzzzzzzz", false},
		{"too many bytes", strings.Repeat("x", MaxPasswordBytes+1), false},
		{"huge input", strings.Repeat("x", 1<<20), false},
		{"invalid UTF-8", "abcdefghijklmnop\xff", false},
		{"multibyte counted as characters", "ñandú ñandú ñandú", true},
		{"equal to email", "ada@example.com.au", false},
	}
	for _, c := range cases {
		msg := CheckPasswordPolicy(c.pw, "ada@example.com.au", "Ada")
		if (msg == "") != c.ok {
			t.Errorf("%s: CheckPasswordPolicy(%q...) = %q; want ok=%v", c.name, c.pw[:min(len(c.pw), 20)], msg, c.ok)
		}
	}
}

func TestArgon2idDefaultsMeetOWASP(t *testing.T) {
	h := DefaultPasswordHasher()
	if h.Memory < 19*1024 || h.Time < 2 || h.Threads < 1 {
		t.Fatalf("parameters %d KiB, t=%d, p=%d are below the OWASP minimum", h.Memory, h.Time, h.Threads)
	}
	enc, err := h.Hash(context.Background(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string with the default parameters", enc)
	}
	if ok, err := h.Verify(context.Background(), enc, testPassword); !ok || err != nil {
		t.Fatalf("Verify(right password) = %v, %v", ok, err)
	}
}

func TestPasswordHashVerify(t *testing.T) {
	ctx := context.Background()
	h := testHasher
	enc, err := h.Hash(ctx, "Ｆｕｌｌｗｉｄｔｈ passphrase here")
	if err != nil {
		t.Fatal(err)
	}
	enc2, _ := h.Hash(ctx, "Ｆｕｌｌｗｉｄｔｈ passphrase here")
	if enc == enc2 {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	for pw, want := range map[string]bool{
		"Ｆｕｌｌｗｉｄｔｈ passphrase here": true,
		"Fullwidth passphrase here": true, // NFKC folds the fullwidth letters
		"fullwidth passphrase here": false,
		"":                          false,
	} {
		if ok, err := h.Verify(ctx, enc, pw); ok != want || err != nil {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	if ok, err := h.Verify(ctx, "", "anything at all here"); ok || err != nil {
		t.Errorf("Verify against no hash = %v, %v; want false, nil", ok, err)
	}
	for _, bad := range []string{"$argon2i$v=19$m=1,t=1,p=1$AA$AA", "plain", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAA"} {
		if ok, err := h.Verify(ctx, bad, "x"); ok || err == nil {
			t.Errorf("Verify against %q = %v, %v; want an error", bad, ok, err)
		}
	}
}

func FuzzParsePHC(f *testing.F) {
	enc, _ := testHasher.Hash(context.Background(), testPassword)
	f.Add(enc)
	f.Add("$argon2id$v=19$m=0,t=0,p=0$$")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePHC(s)
		if err == nil && (p.memory == 0 || p.time == 0 || p.threads == 0 || len(p.key) < 16) {
			t.Fatalf("parsePHC(%q) accepted out-of-range parameters %+v", s, p)
		}
	})
}
