package scanning

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"testing"
)

func newKey(t testing.TB, curve elliptic.Curve) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func pemWithID(t testing.TB, id string, k *ecdsa.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Headers: map[string]string{"Key-Identifier": id}, Bytes: der}))
}

func sign(t testing.TB, k *ecdsa.PrivateKey, body []byte) string {
	sum := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func TestVerify(t *testing.T) {
	a, _ := newKey(t, elliptic.P256())
	b, _ := newKey(t, elliptic.P256())
	keys, err := ParseKeys([]byte(pemWithID(t, "key-a", a) + pemWithID(t, "key-b", b)))
	if err != nil || len(keys) != 2 {
		t.Fatalf("ParseKeys: %v, %d keys", err, len(keys))
	}
	body := []byte(`[{"token":"wdn_x","type":"warden_token","url":"https://example.com","source":"content"}]`)
	if err := keys.Verify("key-a", sign(t, a, body), body); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	for name, c := range map[string]struct{ id, sig string }{
		"unknown key id":           {"key-c", sign(t, a, body)},
		"signed by the other key":  {"key-a", sign(t, b, body)},
		"for another body (stale)": {"key-a", sign(t, a, []byte(`[]`))},
		"not base64":               {"key-a", "%%%"},
		"empty":                    {"key-a", ""},
		"truncated":                {"key-a", sign(t, a, body)[:20]},
	} {
		if err := keys.Verify(c.id, c.sig, body); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: %v; want ErrSignature", name, err)
		}
	}
}

func TestParseKeys(t *testing.T) {
	a, plain := newKey(t, elliptic.P256())
	p384, _ := newKey(t, elliptic.P384())
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	rsaPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Headers: map[string]string{"Key-Identifier": "r"}, Bytes: rsaDER}))
	gh, _ := json.Marshal(map[string]any{"public_keys": []map[string]any{{"key_identifier": "gh-1", "key": plain, "is_current": true}}})
	if keys, err := ParseKeys(gh); err != nil || keys["gh-1"] == nil {
		t.Fatalf("GitHub's JSON: %v", err)
	}
	for name, in := range map[string]string{
		"nothing":             "",
		"no identifier":       plain,
		"same id twice":       pemWithID(t, "x", a) + pemWithID(t, "x", a),
		"P-384":               pemWithID(t, "p", p384),
		"RSA":                 rsaPEM,
		"trailing garbage":    pemWithID(t, "x", a) + "junk",
		"a private key block": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		"bad JSON":            `{"public_keys": [`,
	} {
		if _, err := ParseKeys([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzParseKeys: any input is keys or an error, never a panic.
func FuzzParseKeys(f *testing.F) {
	a, plain := newKey(f, elliptic.P256())
	f.Add([]byte(pemWithID(f, "k", a)))
	f.Add([]byte(`{"public_keys":[{"key_identifier":"k","key":` + string(must(json.Marshal(plain))) + `}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParseKeys(data)
		if err == nil && len(keys) == 0 {
			t.Fatal("no error and no keys")
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
