package models

import (
	"crypto/rand"
	"errors"
	"hash/crc32"
	"math/big"
)

// Token format (SPEC §3), after GitHub's: a recognisable prefix, a random
// body, and a checksum a scanner or a client can verify offline.
//
//	wdn_ + 32 base62 characters (32 × log2(62) ≈ 190.5 bits from crypto/rand)
//	     + 6 base62 characters: the CRC32 of everything before them
//
// "wdn_" is version 1 of the format; a future format gets a new prefix, so
// both can be told apart forever.
const (
	TokenPrefix      = "wdn_"
	tokenBodyLen     = 32
	tokenChecksumLen = 6
	// TokenLen is the length of every Warden token.
	TokenLen = len(TokenPrefix) + tokenBodyLen + tokenChecksumLen
)

// TokenPattern is the regular expression secret scanners can use; it is
// published in the README.
const TokenPattern = `\bwdn_[0-9A-Za-z]{38}\b`

// wellFormed reports whether s is TokenPattern anchored to the whole
// string: the prefix, then 38 base62 characters.
func wellFormed(s string) bool {
	if len(s) != TokenLen || s[:len(TokenPrefix)] != TokenPrefix {
		return false
	}
	for i := len(TokenPrefix); i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// ErrTokenMalformed means a string is not a Warden token: wrong shape or a
// checksum that does not match (a typo, a truncation, a made-up value).
var ErrTokenMalformed = errors.New("models: not a valid Warden token")

// NewTokenSecret returns a fresh token.
func NewTokenSecret() (string, error) {
	b := make([]byte, 0, TokenLen)
	b = append(b, TokenPrefix...)
	max := big.NewInt(int64(len(base62)))
	for range tokenBodyLen {
		// rand.Int draws uniformly: no modulo bias.
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b = append(b, base62[n.Int64()])
	}
	b = append(b, checksum(string(b))...)
	return string(b), nil
}

// checksum encodes the CRC32 (IEEE) of s as six base62 digits.
func checksum(s string) []byte {
	c := crc32.ChecksumIEEE([]byte(s))
	out := make([]byte, tokenChecksumLen)
	for i := tokenChecksumLen - 1; i >= 0; i-- {
		out[i] = base62[c%62]
		c /= 62
	}
	return out
}

// CheckTokenFormat verifies shape and checksum without touching the
// database; a token that fails here is rejected before any lookup.
func CheckTokenFormat(s string) error {
	if !wellFormed(s) {
		return ErrTokenMalformed
	}
	body := s[:TokenLen-tokenChecksumLen]
	if string(checksum(body)) != s[TokenLen-tokenChecksumLen:] {
		return ErrTokenMalformed
	}
	return nil
}

// TokenHint is what the console shows of a token: the prefix and the last
// four characters, enough to match it against a copy without revealing it.
func TokenHint(s string) string {
	if len(s) < 4 {
		return TokenPrefix + "…"
	}
	return TokenPrefix + "…" + s[len(s)-4:]
}
