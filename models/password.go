package models

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Password policy (SPEC §2.3, after NIST SP 800-63B): length is what counts,
// there are no composition rules, and a short list of common passwords is
// refused.
const (
	// MinPasswordChars is the shortest accepted password, in characters.
	MinPasswordChars = 15
	// MaxPasswordBytes caps the normalised password. 256 bytes allows at
	// least 64 characters in any script while bounding the work an attacker
	// can ask of the hasher with a huge input.
	MaxPasswordBytes = 256
	// MaxPasswordInputBytes is the most a form may submit before it is
	// rejected without normalising or hashing anything.
	MaxPasswordInputBytes = 1024
)

//go:embed common_passwords.txt
var commonPasswordsText string

var commonPasswords = func() map[string]struct{} {
	m := map[string]struct{}{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = struct{}{}
		}
	}
	return m
}()

// NormalizePassword applies NFKC, so the same password typed on different
// keyboards or platforms hashes the same way.
func NormalizePassword(p string) string { return norm.NFKC.String(p) }

// CheckPasswordConfirm returns the message for a "Password again" field
// that does not repeat password, or "". It is checked whatever the policy
// says of password: both fields come back empty, so both need retyping.
func CheckPasswordConfirm(password, confirm string) string {
	switch {
	case password == confirm:
		return ""
	case confirm == "":
		return "Type the password again."
	}
	return "The two passwords do not match."
}

// CheckPasswordPolicy returns a user-facing message when password breaks the
// policy, or "" when it is acceptable. context holds words the password must
// not simply be (the account's email and name).
func CheckPasswordPolicy(password string, context ...string) string {
	if len(password) > MaxPasswordInputBytes {
		return fmt.Sprintf("Use at most %d bytes.", MaxPasswordBytes)
	}
	if !utf8.ValidString(password) {
		return "The password contains invalid characters."
	}
	p := NormalizePassword(password)
	if n := utf8.RuneCountInString(p); n < MinPasswordChars {
		return fmt.Sprintf("Use at least %d characters (this one has %d). A few unrelated words make a good one.", MinPasswordChars, n)
	}
	if len(p) > MaxPasswordBytes {
		return fmt.Sprintf("Use at most %d bytes.", MaxPasswordBytes)
	}
	lower := strings.ToLower(p)
	if _, ok := commonPasswords[lower]; ok {
		return "This password is too common; choose another one."
	}
	if first, _ := utf8.DecodeRuneInString(lower); strings.Trim(lower, string(first)) == "" {
		return "A password made of one repeated character is too easy to guess."
	}
	for _, c := range context {
		c = strings.ToLower(strings.TrimSpace(c))
		if c != "" && (lower == c || strings.ReplaceAll(lower, " ", "") == strings.ReplaceAll(c, " ", "")) {
			return "The password must not be your email address or name."
		}
	}
	return ""
}

// PasswordHasher hashes passwords with Argon2id and encodes them as PHC
// strings ($argon2id$v=19$m=…,t=…,p=…$salt$hash), so parameters can be raised
// later without invalidating stored hashes.
type PasswordHasher struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	// sem bounds concurrent hashes: each one holds Memory KiB, and a burst of
	// sign-in attempts must not be able to exhaust the machine's memory.
	sem chan struct{}
	// dummy is verified against when an account does not exist, so an unknown
	// email costs the same time as a wrong password.
	dummy string
}

// DefaultPasswordHasher uses the OWASP minimum for Argon2id: m=19 MiB, t=2, p=1.
func DefaultPasswordHasher() *PasswordHasher {
	return NewPasswordHasher(19*1024, 2, 1)
}

// NewPasswordHasher returns a hasher with the given Argon2id parameters.
func NewPasswordHasher(memoryKiB, time uint32, threads uint8) *PasswordHasher {
	h := &PasswordHasher{
		Memory:  memoryKiB,
		Time:    time,
		Threads: threads,
		sem:     make(chan struct{}, 2*runtime.GOMAXPROCS(0)),
	}
	d, err := h.hash(context.Background(), "warden-dummy-password-for-timing")
	if err != nil {
		panic(err) // only crypto/rand can fail here, and then nothing works
	}
	h.dummy = d
	return h
}

const (
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Hash normalises and hashes password. It does not check the policy.
func (h *PasswordHasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordInputBytes {
		return "", errors.New("models: password too long")
	}
	return h.hash(ctx, NormalizePassword(password))
}

func (h *PasswordHasher) hash(ctx context.Context, normalized string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("models: salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(normalized), salt, h.Time, h.Memory, h.Threads, argonKeyLen)
	h.release()
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.Memory, h.Time, h.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

func (h *PasswordHasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("models: waiting to hash: %w", ctx.Err())
	}
}

func (h *PasswordHasher) release() { <-h.sem }

// Verify reports whether password matches the PHC-encoded hash. An empty
// encoded hash (an account without a password) is checked against a dummy
// hash so the answer takes the same time, and is always false.
func (h *PasswordHasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	if len(password) > MaxPasswordInputBytes {
		return false, nil
	}
	target := encoded
	if target == "" {
		target = h.dummy
	}
	p, err := parsePHC(target)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(NormalizePassword(password)), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	h.release()
	ok := subtle.ConstantTimeCompare(key, p.key) == 1
	return ok && encoded != "", nil
}

type phc struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parsePHC(s string) (phc, error) {
	var p phc
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, errors.New("models: unsupported password hash format")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, errors.New("models: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return p, errors.New("models: malformed argon2 parameters")
	}
	if p.memory == 0 || p.time == 0 || p.threads == 0 || p.memory > 1<<22 || p.time > 64 {
		return p, errors.New("models: argon2 parameters out of range")
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return p, errors.New("models: malformed argon2 salt")
	}
	if p.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(p.key) < 16 || len(p.key) > 64 {
		return p, errors.New("models: malformed argon2 key")
	}
	return p, nil
}
