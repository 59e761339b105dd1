package handlers

import (
	"errors"
	"mime"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/web/request"
)

// APIIntrospection is the RFC 7662 answer.
type APIIntrospection struct {
	Active   bool     `json:"active"`
	Scope    *string  `json:"scope,omitempty"` // space-separated; "" for a Member's unscoped token
	Sub      string   `json:"sub,omitempty"`
	Role     string   `json:"role,omitempty"`
	Teams    []string `json:"teams,omitempty"`
	Exp      *int64   `json:"exp,omitempty"`
	TokenID  int64    `json:"token_id,omitempty"`
	ClientID string   `json:"client_id,omitempty"`
}

// APIIntrospect validates a token presented to another service (RFC 7662):
// the token comes in the body's form field or JSON field "token", never in
// the query string. No token at all (absent, null or empty) is a malformed
// request, 400; a token that is not valid now is simply {"active": false}.
// A successful check counts as a use of the introspected token.
//
// client_ip (optional) is the address the token was presented from: a
// token with an allowlist is {"active": false} from outside it, and the
// address counts for its allowlist suggestions. Without client_ip the
// allowlist is not checked: the resource server enforces it, or passes it.
func (h *Handler) APIIntrospect(c *fiber.Ctx) error {
	var token, clientIP string
	mt, _, _ := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	switch mt {
	case fiber.MIMEApplicationForm:
		token, clientIP = BodyValue(c, "token"), BodyValue(c, "client_ip")
	case fiber.MIMEApplicationJSON:
		var in struct {
			Token         *string `json:"token"`
			TokenTypeHint *string `json:"token_type_hint"` // accepted and ignored; null is no hint
			ClientIP      *string `json:"client_ip"`
		}
		if err := decodeJSON(c, &in); err != nil {
			return sent(err)
		}
		if in.Token != nil {
			token = *in.Token
		}
		if in.ClientIP != nil {
			clientIP = *in.ClientIP
		}
	default:
		return problem(c, Problem{Type: problemBase + "unsupported-media-type", Title: "Unsupported Media Type", Status: fiber.StatusUnsupportedMediaType,
			Detail: "Send the token as application/x-www-form-urlencoded or application/json."})
	}
	if token == "" {
		// RFC 7662 §2.1: token is REQUIRED; without it there is nothing to
		// answer "inactive" about.
		return problem(c, Problem{Type: problemBase + "malformed-body", Title: "Bad Request", Status: fiber.StatusBadRequest,
			Detail: "Send the token to check in the field token.", Errors: map[string]string{"token": "Required: the token presented to your service."}})
	}
	if clientIP = strings.TrimSpace(clientIP); clientIP != "" {
		a, err := netip.ParseAddr(clientIP)
		if err != nil {
			return problem(c, Problem{Type: problemBase + "malformed-body", Title: "Bad Request", Status: fiber.StatusBadRequest,
				Detail: "client_ip must be an IP address.", Errors: map[string]string{"client_ip": "Must be an IPv4 or IPv6 address, such as 203.0.113.7, or absent."}})
		}
		clientIP = a.WithZone("").String()
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	auth, err := h.Store.IntrospectToken(c.UserContext(), request.TokenAuth(c), strings.TrimSpace(token), clientIP)
	if errors.Is(err, models.ErrTokenInvalid) {
		return c.JSON(APIIntrospection{Active: false})
	}
	if err != nil {
		return err
	}
	if clientIP != "" {
		h.Store.RecordTokenUse(auth, clientIP, c.Get(fiber.HeaderUserAgent))
	} else {
		h.Store.RecordIntrospectedUse(auth, request.ClientIP(c), c.Get(fiber.HeaderUserAgent))
	}
	det, _, err := h.Store.CallerDetail(c.UserContext(), auth)
	if err != nil {
		return err
	}
	// RFC 7662 §2.2: the scopes as one space-separated string; an unscoped
	// token's are the Warden scopes its role allows.
	scope := strings.Join(auth.Scopes.Names(), " ")
	out := APIIntrospection{Active: true, Scope: &scope, Sub: auth.User.Handle(), Role: string(auth.User.Role), Teams: []string{},
		TokenID: auth.Token.ID, ClientID: auth.User.Handle()}
	for _, t := range det.Teams {
		out.Teams = append(out.Teams, t.Name)
	}
	if auth.Token.ExpiresAt != nil {
		exp := auth.Token.ExpiresAt.Unix()
		out.Exp = &exp
	}
	return c.JSON(out)
}
