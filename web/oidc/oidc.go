// Package oidc is the console's OpenID Connect client: discovery, the
// authorization code flow with PKCE (S256), and the checks on the ID token
// (signature by the provider's published keys, issuer, audience, expiry,
// nonce) before the groups claim decides whether the person is an
// administrator. The ID token is verified with github.com/coreos/go-oidc,
// whose remote key set follows the provider's key rotation.
package oidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/warden-console/warden/models"
)

// SigningAlgs are the ID token signature algorithms accepted: asymmetric
// only, so neither "none" nor an HMAC keyed with the client secret (which
// the client itself could forge) ever passes.
var SigningAlgs = []string{
	gooidc.RS256, gooidc.RS384, gooidc.RS512,
	gooidc.ES256, gooidc.ES384, gooidc.ES512,
	gooidc.PS256, gooidc.PS384, gooidc.PS512,
	gooidc.EdDSA,
}

// DiscoveryTimeout bounds discovery at start and each call to the provider.
const DiscoveryTimeout = 10 * time.Second

// Config is what the console needs to know about its identity provider.
type Config struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is the console's callback, from --base-url.
	RedirectURL string
	Scopes      []string
	// GroupsClaim names the ID token claim listing the person's groups;
	// AdminGroups are the groups whose members are administrators.
	GroupsClaim string
	AdminGroups []string
	// Now is the clock the ID token's expiry is checked against.
	Now func() time.Time
	// HTTPClient calls the provider; nil: a client with DiscoveryTimeout.
	HTTPClient *http.Client
}

// Provider is a discovered identity provider.
type Provider struct {
	cfg      Config
	oauth    oauth2.Config
	verifier *gooidc.IDTokenVerifier
	client   *http.Client
}

// New reads the provider's discovery document and prepares the flow. An
// unreachable issuer, a discovery document that names another issuer or
// lacks an endpoint is an error that says which.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: DiscoveryTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dctx, cancel := context.WithTimeout(gooidc.ClientContext(ctx, client), DiscoveryTimeout)
	defer cancel()
	p, err := gooidc.NewProvider(dctx, cfg.Issuer)
	if err != nil {
		var mismatch *gooidc.IssuerMismatchError
		if errors.As(err, &mismatch) {
			return nil, fmt.Errorf("oidc: the discovery document at %s names the issuer %q, not %q: set --oidc-issuer to the issuer exactly", cfg.Issuer, mismatch.Discovered, cfg.Issuer)
		}
		return nil, fmt.Errorf("oidc: discovery at %s/.well-known/openid-configuration failed: %w", strings.TrimSuffix(cfg.Issuer, "/"), err)
	}
	ep := p.Endpoint()
	if ep.AuthURL == "" || ep.TokenURL == "" {
		return nil, fmt.Errorf("oidc: the discovery document of %s has no authorization or token endpoint", cfg.Issuer)
	}
	var meta struct {
		JWKSURI string   `json:"jwks_uri"`
		PKCE    []string `json:"code_challenge_methods_supported"`
	}
	if err := p.Claims(&meta); err != nil || meta.JWKSURI == "" {
		return nil, fmt.Errorf("oidc: the discovery document of %s has no jwks_uri", cfg.Issuer)
	}
	return &Provider{
		cfg: cfg,
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: ep,
			RedirectURL: cfg.RedirectURL, Scopes: cfg.Scopes,
		},
		verifier: p.Verifier(&gooidc.Config{ClientID: cfg.ClientID, SupportedSigningAlgs: SigningAlgs, Now: cfg.Now}),
		client:   client,
	}, nil
}

// Issuer is the configured issuer.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// Flow is one sign-in's secrets, kept in the signed pre-session cookie
// between the redirect to the provider and the callback: the state, the
// nonce and the PKCE verifier.
type Flow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
}

// NewFlow draws a new flow's secrets from crypto/rand.
func NewFlow() (Flow, error) {
	var f Flow
	for _, dst := range []*string{&f.State, &f.Nonce} {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return Flow{}, fmt.Errorf("oidc: random: %w", err)
		}
		*dst = base64.RawURLEncoding.EncodeToString(b)
	}
	f.Verifier = oauth2.GenerateVerifier()
	return f, nil
}

// AuthURL is where the browser goes to sign in: the authorization code
// flow with the flow's state, nonce and S256 code challenge.
func (p *Provider) AuthURL(f Flow) string {
	return p.oauth.AuthCodeURL(f.State, gooidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier))
}

// SameState compares the callback's state with the flow's in constant time.
func SameState(f Flow, state string) bool {
	return f.State != "" && subtle.ConstantTimeCompare([]byte(f.State), []byte(state)) == 1
}

// Failure is a sign-in the provider's answer does not allow, with the
// reason its audit event records (models.SSO…) and, when the ID token
// was read, the email or subject it named.
type Failure struct {
	Reason string
	Label  string
	Err    error
}

func (f *Failure) Error() string {
	if f.Err != nil {
		return "oidc: " + f.Reason + ": " + f.Err.Error()
	}
	return "oidc: " + f.Reason
}

func (f *Failure) Unwrap() error { return f.Err }

// Finish redeems the code (with the flow's PKCE verifier), verifies the ID
// token and its nonce, and reads who the person is and whether an admin
// group holds them. keepNonce is how long the caller must remember the
// nonce so that the same token cannot be used twice. Every refusal is a
// *Failure.
func (p *Provider) Finish(ctx context.Context, f Flow, code string, keepNonce time.Duration) (models.SSOIdentity, error) {
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, oauth2.HTTPClient, p.client), DiscoveryTimeout)
	defer cancel()
	ctx = gooidc.ClientContext(ctx, p.client)
	tok, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return models.SSOIdentity{}, &Failure{Reason: models.SSOCodeRejected, Err: err}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return models.SSOIdentity{}, &Failure{Reason: models.SSONoIDToken}
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return models.SSOIdentity{}, &Failure{Reason: verifyReason(err), Err: err}
	}
	var claims map[string]json.RawMessage
	if err := idt.Claims(&claims); err != nil {
		return models.SSOIdentity{}, &Failure{Reason: models.SSOInvalidToken, Err: err}
	}
	id := models.SSOIdentity{Issuer: idt.Issuer, Subject: idt.Subject, Nonce: idt.Nonce}
	id.Email, _ = stringClaim(claims, "email")
	id.EmailVerified = boolClaim(claims, "email_verified")
	id.Name, _ = stringClaim(claims, "name")
	if id.Name == "" {
		id.Name, _ = stringClaim(claims, "preferred_username")
	}
	label := id.Email
	if label == "" {
		label = id.Subject
	}
	// With several audiences, the token must have been issued to us.
	if azp, ok := stringClaim(claims, "azp"); len(idt.Audience) > 1 && (!ok || azp != p.cfg.ClientID) {
		return models.SSOIdentity{}, &Failure{Reason: models.SSOAudienceMismatch, Label: label}
	}
	if idt.Subject == "" {
		return models.SSOIdentity{}, &Failure{Reason: models.SSOInvalidToken, Label: label}
	}
	if f.Nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return models.SSOIdentity{}, &Failure{Reason: models.SSONonceMismatch, Label: label}
	}
	groups, reason := groupsClaim(claims, p.cfg.GroupsClaim)
	if reason != "" {
		return models.SSOIdentity{}, &Failure{Reason: reason, Label: label}
	}
	for _, g := range groups {
		for _, a := range p.cfg.AdminGroups {
			if g == a {
				id.InAdminGroup = true
			}
		}
	}
	id.NonceUntil = idt.Expiry
	if until := p.cfg.Now().Add(keepNonce); until.After(id.NonceUntil) {
		id.NonceUntil = until
	}
	return id, nil
}

// verifyReason names why go-oidc refused an ID token.
func verifyReason(err error) string {
	var expired *gooidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &expired):
		return models.SSOTokenExpired
	case strings.Contains(msg, "issued by a different provider"):
		return models.SSOIssuerMismatch
	case strings.Contains(msg, "expected audience"):
		return models.SSOAudienceMismatch
	case strings.Contains(msg, "malformed jwt"), strings.Contains(msg, "verify signature"), strings.Contains(msg, "not signed"),
		strings.Contains(msg, "multiple signatures"):
		return models.SSOBadSignature
	}
	return models.SSOInvalidToken
}

func stringClaim(claims map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := claims[name]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// boolClaim reads a boolean claim; only JSON true is true (a string
// "true", which some providers send, is not trusted to mean it).
func boolClaim(claims map[string]json.RawMessage, name string) bool {
	raw, ok := claims[name]
	if !ok {
		return false
	}
	var b bool
	return json.Unmarshal(raw, &b) == nil && b
}

// groupsClaim reads the groups claim, which must be a JSON array of
// strings: missing or of another shape fails closed.
func groupsClaim(claims map[string]json.RawMessage, name string) ([]string, string) {
	raw, ok := claims[name]
	if !ok || string(raw) == "null" {
		return nil, models.SSOGroupsMissing
	}
	var groups []string
	if err := json.Unmarshal(raw, &groups); err != nil || !strings.HasPrefix(strings.TrimSpace(string(raw)), "[") {
		return nil, models.SSOGroupsInvalid
	}
	return groups, ""
}
