package handlers

import (
	"errors"
	"regexp"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
	"github.com/warden-console/warden/web/request"
)

// revealIDPattern is the shape of a reveal's id (16 random bytes,
// base64url); anything else is not looked up.
var revealIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

func revealPath(id string) string { return "/tokens/reveal/" + id }

// revealKey binds a reveal to the request's console session.
func (h *Handler) revealKey(c *fiber.Ctx) (models.RevealKey, error) {
	s := request.Session(c)
	if s == nil {
		// requireAdmin sends a request without a session to sign in first.
		return models.RevealKey{}, fiber.ErrUnauthorized
	}
	key, err := h.Sessions.RevealKey(c)
	if err != nil {
		return models.RevealKey{}, err
	}
	return models.RevealKey{SessionID: s.ID, Key: key}, nil
}

// TokenRevealShow is the page a console-generated token is shown on: the
// user's page with the secret on top, once, to the session that generated
// it, within models.RevealTTL. A reload, Back, a late visit or another
// session gets a page that names the token and says what to do instead.
func (h *Handler) TokenRevealShow(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	id := c.Params("id")
	if !revealIDPattern.MatchString(id) {
		return fiber.ErrNotFound
	}
	// Fiber answers HEAD with the GET route: it must not use up the showing.
	if c.Method() == fiber.MethodHead {
		return c.SendStatus(fiber.StatusOK)
	}
	k, err := h.revealKey(c)
	if err != nil {
		return err
	}
	r, err := h.Store.TakeTokenReveal(c.UserContext(), id, k)
	if errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	tok := r.Token
	if r.Secret == "" {
		return h.renderShownOnce(c, tok)
	}
	d, err := h.userShowData(c, tok.UserID)
	if err != nil {
		return err
	}
	d.Reveal = &views.TokenRevealData{
		TokenID: tok.ID, UserID: tok.UserID, UserName: d.Name, TokenName: tok.Name, Secret: r.Secret,
		Filename: TokenFilename(tok.Name), ExpiresAt: tok.ExpiresAt, Now: d.Now,
	}
	if r.Replaces != nil {
		d.Reveal.Replaces, d.Reveal.ReplacedEnds = r.Replaces.Name, r.Replaces.ExpiresAt
	}
	p, err := h.page(c, "Copy the token “"+tok.Name+"”", "users")
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.UserShow(p, d))
}

// renderShownOnce answers a reveal whose secret is gone. 200, not 410: the
// page is a normal answer to a normal visit, with the way forward.
func (h *Handler) renderShownOnce(c *fiber.Ctx, tok *models.Token) error {
	u, err := h.Store.UserByID(c.UserContext(), tok.UserID)
	if errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	now := h.Store.Now()
	state := string(tok.State(now))
	if tok.Replaced(now) {
		state = "replaced"
	}
	p, err := h.page(c, "This token was shown once", "users")
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.TokenShownOnce(p, views.TokenShownOnceData{
		TokenID: tok.ID, TokenName: tok.Name, Hint: tok.Hint, State: state, UserID: u.ID, UserName: u.Name,
	}))
}
