// Package session connects the console's cookies to the sessions table. The
// session cookie is signed and encrypted with gorilla/securecookie and carries
// only an opaque random token; everything else lives in the database, so a
// session can be ended server-side at any moment.
package session

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/warden-console/warden/models"
)

// Cookie names. Over HTTPS the session and CSRF cookies take the __Host-
// prefix, which makes browsers refuse them unless Secure, host-only and
// Path=/, so a sibling subdomain cannot plant one.
const (
	sessionCookie = "warden_session"
	csrfCookie    = "warden_csrf"
	flashCookie   = "warden_flash"
	// ssoCookie is the pre-session of a single sign-on: the flow's state,
	// nonce and PKCE verifier between the redirect to the identity
	// provider and its callback. SameSite=Lax lets it ride along on the
	// provider's top-level redirect back.
	ssoCookie = "warden_sso"
)

// Manager issues, reads and clears the console's cookies.
type Manager struct {
	store    *models.Store
	codecs   []securecookie.Codec
	secure   bool
	lifetime models.SessionLifetime
	// reveal is the cookie encryption key, the server's half of the key
	// that seals a token for its reveal page (RevealKey).
	reveal []byte
}

// NewManager builds a Manager from the signing (64-byte) and encryption
// (32-byte) keys, base64url-encoded.
func NewManager(store *models.Store, hashKey, blockKey string, secure bool) (*Manager, error) {
	hk, err := base64.RawURLEncoding.DecodeString(hashKey)
	if err != nil || len(hk) < 32 {
		return nil, errors.New("session: the signing key must be at least 32 bytes, base64url-encoded")
	}
	bk, err := base64.RawURLEncoding.DecodeString(blockKey)
	if err != nil || (len(bk) != 16 && len(bk) != 24 && len(bk) != 32) {
		return nil, errors.New("session: the encryption key must be 16, 24 or 32 bytes, base64url-encoded")
	}
	lifetime := store.SessionLifetime()
	codecs := securecookie.CodecsFromPairs(hk, bk)
	for _, c := range codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			// The codec's own timestamp check backs up the database's
			// absolute limit: an old cookie is rejected before any lookup.
			sc.MaxAge(int(lifetime.Absolute / time.Second))
			sc.SetSerializer(securecookie.JSONEncoder{})
		}
	}
	return &Manager{store: store, codecs: codecs, secure: secure, lifetime: lifetime, reveal: bk}, nil
}

func (m *Manager) name(base string) string {
	if m.secure {
		return "__Host-" + base
	}
	return base
}

// setCookie writes a cookie with the console's fixed attributes: HttpOnly,
// SameSite=Lax, Path=/ and Secure over HTTPS. gorilla/sessions builds it so
// its Max-Age/Expires semantics are the familiar ones.
func (m *Manager) setCookie(c *fiber.Ctx, name, value string, maxAge int) {
	hc := sessions.NewCookie(name, value, &sessions.Options{
		Path: "/", MaxAge: maxAge, Secure: m.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	fc := &fiber.Cookie{
		Name: hc.Name, Value: hc.Value, Path: hc.Path, MaxAge: hc.MaxAge,
		Secure: hc.Secure, HTTPOnly: hc.HttpOnly, SameSite: fiber.CookieSameSiteLaxMode,
	}
	if !hc.Expires.IsZero() {
		fc.Expires = hc.Expires
	}
	if maxAge < 0 {
		fc.Expires = time.Unix(0, 0)
		fc.MaxAge = -1
	}
	c.Cookie(fc)
}

func (m *Manager) decode(c *fiber.Ctx, name string, dst any) bool {
	raw := c.Cookies(name)
	if raw == "" {
		return false
	}
	return securecookie.DecodeMulti(name, raw, dst, m.codecs...) == nil
}

func (m *Manager) encode(name string, v any) (string, error) {
	s, err := securecookie.EncodeMulti(name, v, m.codecs...)
	if err != nil {
		return "", fmt.Errorf("session: encode cookie: %w", err)
	}
	return s, nil
}

// Token returns the session token carried by the request's cookie, or "".
func (m *Manager) Token(c *fiber.Ctx) string {
	var tok string
	if m.decode(c, m.name(sessionCookie), &tok) {
		return tok
	}
	return ""
}

// revealInfo separates the reveal key from anything else derived from the
// same inputs.
const revealInfo = "warden token reveal v1"

// RevealKey returns the key that seals a token for the request's session
// until its reveal page shows it: HKDF-SHA256 of the server's cookie
// encryption key and the session's cookie token. The database holds the
// cookie token only hashed, so it never holds this key. The key is nil
// when the request has no session cookie.
func (m *Manager) RevealKey(c *fiber.Ctx) ([]byte, error) {
	tok := m.Token(c)
	if tok == "" {
		return nil, nil
	}
	ikm := append(append(make([]byte, 0, len(m.reveal)+len(tok)), m.reveal...), tok...)
	key, err := hkdf.Key(sha256.New, ikm, nil, revealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("session: reveal key: %w", err)
	}
	return key, nil
}

// Load returns the live session of the request and its user.
func (m *Manager) Load(c *fiber.Ctx) (*models.Session, *models.User, error) {
	tok := m.Token(c)
	if tok == "" {
		return nil, nil, models.ErrNotFound
	}
	s, u, err := m.store.SessionByToken(c.UserContext(), tok)
	if err != nil {
		if errors.Is(err, models.ErrNotFound) || errors.Is(err, models.ErrSessionExpired) {
			m.clearSession(c)
		}
		return nil, nil, err
	}
	return s, u, nil
}

// Start signs userID in with a brand-new session. Any session the request
// already carried is ended first, so a token planted before sign-in (session
// fixation) is worth nothing afterwards.
//
// a is the user signing in, with the request's details for the audit log.
func (m *Manager) Start(c *fiber.Ctx, a models.Actor) (*models.Session, error) {
	ctx := c.UserContext()
	if old := m.Token(c); old != "" {
		if err := m.store.DeleteSessionByToken(ctx, old); err != nil {
			return nil, err
		}
	}
	tok, sess, err := m.store.CreateSession(ctx, a)
	if err != nil {
		return nil, err
	}
	value, err := m.encode(m.name(sessionCookie), tok)
	if err != nil {
		return nil, err
	}
	m.setCookie(c, m.name(sessionCookie), value, int(m.lifetime.Absolute/time.Second))
	return sess, nil
}

// Rotate gives the signed-in user a new session id, ending the old one.
func (m *Manager) Rotate(c *fiber.Ctx, a models.Actor) error {
	tok, _, err := m.store.RotateSession(c.UserContext(), a, m.Token(c))
	if err != nil {
		return err
	}
	value, err := m.encode(m.name(sessionCookie), tok)
	if err != nil {
		return err
	}
	m.setCookie(c, m.name(sessionCookie), value, int(m.lifetime.Absolute/time.Second))
	return nil
}

// End signs the request out: the session row is deleted, so a copy of the
// cookie is dead too, and the cookie is cleared.
func (m *Manager) End(c *fiber.Ctx, a models.Actor) error {
	err := m.store.Logout(c.UserContext(), a, m.Token(c))
	m.clearSession(c)
	return err
}

func (m *Manager) clearSession(c *fiber.Ctx) {
	if c.Cookies(m.name(sessionCookie)) != "" {
		m.setCookie(c, m.name(sessionCookie), "", -1)
	}
}

// AnonymousCSRFToken returns the CSRF token for forms shown before sign-in
// (login, setup), carried in its own signed cookie, creating one if needed.
// Those forms have no session to bind the token to; the cookie cannot be
// written by another site, so a matching form field proves same-site origin.
func (m *Manager) AnonymousCSRFToken(c *fiber.Ctx) (string, error) {
	var tok string
	if m.decode(c, m.name(csrfCookie), &tok) && tok != "" {
		return tok, nil
	}
	tok, err := models.RandomToken(32)
	if err != nil {
		return "", err
	}
	value, err := m.encode(m.name(csrfCookie), tok)
	if err != nil {
		return "", err
	}
	// A session cookie in the browser's sense: it lasts while the browser is open.
	m.setCookie(c, m.name(csrfCookie), value, 0)
	return tok, nil
}

// CurrentAnonymousCSRFToken returns the pre-sign-in CSRF token the request
// carries, without creating one.
func (m *Manager) CurrentAnonymousCSRFToken(c *fiber.Ctx) string {
	var tok string
	if m.decode(c, m.name(csrfCookie), &tok) {
		return tok
	}
	return ""
}

// SetPreSession stores v (a single sign-on's flow) in the signed,
// encrypted pre-session cookie for maxAge.
func (m *Manager) SetPreSession(c *fiber.Ctx, v any, maxAge time.Duration) error {
	value, err := m.encode(m.name(ssoCookie), v)
	if err != nil {
		return err
	}
	m.setCookie(c, m.name(ssoCookie), value, int(maxAge/time.Second))
	return nil
}

// PopPreSession reads the pre-session cookie into dst and clears it: a
// flow's secrets are good for one callback. It reports false when there is
// none, or it does not decode (forged, or signed with other keys).
func (m *Manager) PopPreSession(c *fiber.Ctx, dst any) bool {
	if c.Cookies(m.name(ssoCookie)) == "" {
		return false
	}
	ok := m.decode(c, m.name(ssoCookie), dst)
	m.setCookie(c, m.name(ssoCookie), "", -1)
	return ok
}

// Adopt sets the session cookie to token, a session the store has just
// created (single sign-on creates it in the transaction that admits the
// person). A session the request already carried is ended first.
func (m *Manager) Adopt(c *fiber.Ctx, token string) error {
	if old := m.Token(c); old != "" {
		if err := m.store.DeleteSessionByToken(c.UserContext(), old); err != nil {
			return err
		}
	}
	value, err := m.encode(m.name(sessionCookie), token)
	if err != nil {
		return err
	}
	m.setCookie(c, m.name(sessionCookie), value, int(m.lifetime.Absolute/time.Second))
	return nil
}

// Flash is a one-time message shown on the next page.
type Flash struct {
	Kind    string `json:"k"` // "success", "info" or "error"
	Message string `json:"m"`
}

// AddFlash queues a message for the next page the browser loads. Flashes
// travel in a signed, encrypted cookie and must never carry a secret.
func (m *Manager) AddFlash(c *fiber.Ctx, kind, message string) {
	var list []Flash
	m.decode(c, flashCookie, &list)
	if len(list) >= 5 {
		list = list[1:]
	}
	list = append(list, Flash{Kind: kind, Message: message})
	if value, err := m.encode(flashCookie, list); err == nil {
		m.setCookie(c, flashCookie, value, 60)
	}
}

// PopFlashes returns the queued messages and clears them.
func (m *Manager) PopFlashes(c *fiber.Ctx) []Flash {
	var list []Flash
	if !m.decode(c, flashCookie, &list) {
		if c.Cookies(flashCookie) != "" {
			m.setCookie(c, flashCookie, "", -1)
		}
		return nil
	}
	m.setCookie(c, flashCookie, "", -1)
	return list
}

// Purge deletes expired sessions, and forgets old token reveals, every
// interval until ctx ends.
func (m *Manager) Purge(ctx context.Context, interval time.Duration, onError func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := m.store.PurgeExpiredSessions(ctx); err != nil && ctx.Err() == nil {
				onError(err)
			}
			if _, err := m.store.PurgeTokenReveals(ctx); err != nil && ctx.Err() == nil {
				onError(err)
			}
		}
	}
}
