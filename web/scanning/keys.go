// Package scanning authenticates reports from secret-scanning partners: an
// ECDSA P-256 signature over the raw request body, by a key the operator
// configured (--secret-scanning-keys), named in a header.
package scanning

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Headers of a signed report.
const (
	HeaderSignature     = "Secret-Scanning-Signature"
	HeaderKeyIdentifier = "Secret-Scanning-Key-Identifier"
)

// ErrSignature is every failed verification: an unknown key identifier, a
// signature that is not base64 or not for this body.
var ErrSignature = errors.New("scanning: bad signature")

// Keys are the partners' public keys by identifier.
type Keys map[string]*ecdsa.PublicKey

// ParseKeys reads public keys in either of two forms:
//   - PEM "PUBLIC KEY" blocks, each with a "Key-Identifier" header;
//   - the JSON GitHub publishes, {"public_keys": [{"key_identifier", "key"}]}.
//
// Every key must be ECDSA on P-256, and identifiers unique.
func ParseKeys(data []byte) (Keys, error) {
	keys := Keys{}
	if s := strings.TrimSpace(string(data)); strings.HasPrefix(s, "{") {
		var doc struct {
			PublicKeys []struct {
				KeyIdentifier string `json:"key_identifier"`
				Key           string `json:"key"`
			} `json:"public_keys"`
		}
		if err := json.Unmarshal([]byte(s), &doc); err != nil {
			return nil, fmt.Errorf("scanning: keys: %w", err)
		}
		for i, k := range doc.PublicKeys {
			b, _ := pem.Decode([]byte(k.Key))
			if b == nil {
				return nil, fmt.Errorf("scanning: keys: public_keys[%d] has no PEM key", i)
			}
			if err := keys.add(k.KeyIdentifier, b.Bytes); err != nil {
				return nil, err
			}
		}
	} else {
		rest := data
		for {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if b.Type != "PUBLIC KEY" {
				return nil, fmt.Errorf("scanning: keys: a %q block; want PUBLIC KEY", b.Type)
			}
			if err := keys.add(b.Headers["Key-Identifier"], b.Bytes); err != nil {
				return nil, err
			}
		}
		if strings.TrimSpace(string(rest)) != "" {
			return nil, errors.New("scanning: keys: text that is not a PEM block")
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("scanning: keys: no public key found")
	}
	return keys, nil
}

func (k Keys) add(id string, der []byte) error {
	id = strings.TrimSpace(id)
	if id == "" {
		return errors.New("scanning: keys: a key without an identifier (PEM header Key-Identifier)")
	}
	if _, dup := k[id]; dup {
		return fmt.Errorf("scanning: keys: identifier %q twice", id)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return fmt.Errorf("scanning: keys: %q: %w", id, err)
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return fmt.Errorf("scanning: keys: %q is not an ECDSA P-256 key", id)
	}
	k[id] = ec
	return nil
}

// Verify checks that signature (base64 of an ASN.1 ECDSA signature) signs
// the SHA-256 of body with the key named id.
func (k Keys) Verify(id, signature string, body []byte) error {
	pub, ok := k[id]
	if !ok {
		return ErrSignature
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return ErrSignature
	}
	sum := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(pub, sum[:], sig) {
		return ErrSignature
	}
	return nil
}
