package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
)

// APITokenUser names a token's owner.
type APITokenUser struct {
	ID     int64   `json:"id"`
	UserID *string `json:"user_id"`
	Name   string  `json:"name"`
	Role   string  `json:"role"`
}

// APIToken is the token shape of SPEC §6. Token (the secret) is set only in
// the create and rotate responses.
type APIToken struct {
	ID          int64        `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Hint        string       `json:"hint"`
	State       string       `json:"state"`
	ExpiresAt   *time.Time   `json:"expires_at"`
	LastUsedAt  *time.Time   `json:"last_used_at"`
	LastUsedIP  *string      `json:"last_used_ip"`
	LastUsedUA  *string      `json:"last_used_user_agent"`
	CreatedAt   time.Time    `json:"created_at"`
	CreatedBy   *APIRef      `json:"created_by"`
	User        APITokenUser `json:"user"`
	ReplacedBy  *int64       `json:"replaced_by"` // the rotation's replacement
	Replaces    *int64       `json:"replaces,omitempty"`
	Scopes      []string     `json:"scopes"` // as given; [] is all that the user's role allows
	// AllowedCIDRs are the ranges it may be used from; [] is any address.
	AllowedCIDRs []string `json:"allowed_cidrs"`
	Token        string   `json:"token,omitempty"`
}

func (h *Handler) apiToken(t *models.Token, u *models.User, createdBy map[int64]string) APIToken {
	out := APIToken{
		ID: t.ID, Name: t.Name, Description: t.Description, Hint: t.Hint, State: string(t.State(h.Store.Now())),
		ExpiresAt: utc(t.ExpiresAt), LastUsedAt: utc(t.LastUsedAt), LastUsedIP: t.LastUsedIP, LastUsedUA: t.LastUsedUA, CreatedAt: t.CreatedAt.UTC(),
		User: APITokenUser{ID: u.ID, UserID: u.UserID, Name: u.Name, Role: string(u.Role)}, ReplacedBy: t.ReplacedBy,
		Scopes: t.ScopeList(), AllowedCIDRs: t.CIDRList(),
	}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	if out.AllowedCIDRs == nil {
		out.AllowedCIDRs = []string{}
	}
	if t.CreatedBy != nil {
		out.CreatedBy = &APIRef{ID: *t.CreatedBy, Name: createdBy[*t.CreatedBy]}
	}
	return out
}

// apiTokenOf renders one token with its owner.
func (h *Handler) apiTokenOf(c *fiber.Ctx, t *models.Token) (APIToken, error) {
	ctx := c.UserContext()
	u, err := h.Store.UserByID(ctx, t.UserID)
	if err != nil {
		return APIToken{}, err
	}
	names, err := h.Store.UserNames(ctx, createdByIDs([]models.Token{*t}))
	if err != nil {
		return APIToken{}, err
	}
	return h.apiToken(t, u, names), nil
}

// APITokensList answers GET /users/{id}/tokens.
func (h *Handler) APITokensList(c *fiber.Ctx) error {
	id, err := apiID(c, "id")
	if err != nil {
		return sent(err)
	}
	ctx := c.UserContext()
	u, err := h.Store.UserByID(ctx, id)
	if err != nil {
		return storeProblem(c, err)
	}
	list, err := h.Store.TokensOf(ctx, id)
	if err != nil {
		return err
	}
	names, err := h.Store.UserNames(ctx, createdByIDs(list))
	if err != nil {
		return err
	}
	items := make([]APIToken, len(list))
	for i := range list {
		items[i] = h.apiToken(&list[i], u, names)
	}
	return c.JSON(APIList[APIToken]{Items: items, Total: int64(len(items)), Page: 1, PerPage: len(items)})
}

// APITokenCreateInput is the body of POST /users/{id}/tokens. Expiry is
// expires_in_days (null or absent with no expires_at: never) or expires_at.
type APITokenCreateInput struct {
	Name          string     `json:"name"`
	Description   string     `json:"description"`
	ExpiresInDays *int       `json:"expires_in_days"`
	ExpiresAt     *time.Time `json:"expires_at"`
	Scopes        []string   `json:"scopes"`        // absent, null or []: all that the user's role allows
	AllowedCIDRs  []string   `json:"allowed_cidrs"` // absent, null or []: any address
}

// APITokenCreate generates a token; the secret is in this response only.
func (h *Handler) APITokenCreate(c *fiber.Ctx) error {
	id, err := apiID(c, "id")
	if err != nil {
		return sent(err)
	}
	var in APITokenCreateInput
	if err := decodeJSON(c, &in); err != nil {
		return sent(err)
	}
	var e models.Expiry
	switch {
	case in.ExpiresInDays != nil && in.ExpiresAt != nil:
		return problem(c, Problem{Type: ProblemValidation, Title: "Unprocessable Entity", Status: fiber.StatusUnprocessableEntity,
			Detail: "Some fields are not valid; see errors.", Errors: map[string]string{"expiry": "Give expires_in_days or expires_at, not both."}})
	case in.ExpiresInDays != nil:
		if *in.ExpiresInDays <= 0 {
			return problem(c, Problem{Type: ProblemValidation, Title: "Unprocessable Entity", Status: fiber.StatusUnprocessableEntity,
				Detail: "Some fields are not valid; see errors.", Errors: map[string]string{"expires_in_days": "Use a positive number of days, or null for never."}})
		}
		e.Days = *in.ExpiresInDays
	case in.ExpiresAt != nil:
		e.Date = in.ExpiresAt
	default:
		e.Never = true
	}
	tok, secret, err := h.Store.GenerateToken(c.UserContext(), h.actor(c), id, models.NewToken{Name: in.Name, Description: in.Description, Expiry: e, Scopes: in.Scopes, AllowedCIDRs: in.AllowedCIDRs})
	if err != nil {
		return storeProblem(c, err)
	}
	out, err := h.apiTokenOf(c, tok)
	if err != nil {
		return err
	}
	out.Token = secret
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(out)
}

func (h *Handler) apiTokenAction(c *fiber.Ctx, act func(a models.Actor, id int64) (*models.Token, error)) error {
	id, err := apiID(c, "id")
	if err != nil {
		return sent(err)
	}
	t, err := act(h.actor(c), id)
	if err != nil {
		return storeProblem(c, err)
	}
	if fresh, err := h.Store.TokenByID(c.UserContext(), t.ID); err == nil {
		t = fresh
	}
	out, err := h.apiTokenOf(c, t)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// APITokenRevoke revokes a token.
func (h *Handler) APITokenRevoke(c *fiber.Ctx) error {
	return h.apiTokenAction(c, func(a models.Actor, id int64) (*models.Token, error) {
		return h.Store.RevokeToken(c.UserContext(), a, id)
	})
}

// APITokenRestore restores a revoked, unexpired token of an active user.
func (h *Handler) APITokenRestore(c *fiber.Ctx) error {
	return h.apiTokenAction(c, func(a models.Actor, id int64) (*models.Token, error) {
		return h.Store.RestoreToken(c.UserContext(), a, id)
	})
}

// APITokenDelete deletes a revoked or expired token.
func (h *Handler) APITokenDelete(c *fiber.Ctx) error {
	id, err := apiID(c, "id")
	if err != nil {
		return sent(err)
	}
	if _, err := h.Store.DeleteToken(c.UserContext(), h.actor(c), id); err != nil {
		return storeProblem(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// APITokenRotateInput is the body of POST /tokens/{id}/rotate.
type APITokenRotateInput struct {
	Overlap *string   `json:"overlap"` // none, 1h, 24h or 7d; absent or null: 24h
	Scopes  *[]string `json:"scopes"`  // absent or null: the old token's; []: all that the role allows
	// AllowedCIDRs: absent or null: the old token's; []: any address.
	AllowedCIDRs *[]string `json:"allowed_cidrs"`
}

// APITokenRotate issues a replacement and lets the old token live for the
// overlap.
func (h *Handler) APITokenRotate(c *fiber.Ctx) error {
	id, err := apiID(c, "id")
	if err != nil {
		return sent(err)
	}
	var in APITokenRotateInput
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &in); err != nil {
			return sent(err)
		}
	}
	choice := "24h"
	if in.Overlap != nil {
		choice = *in.Overlap // "" too is not an overlap
	}
	overlap, ok := models.Overlaps[choice]
	if !ok {
		return problem(c, Problem{Type: ProblemValidation, Title: "Unprocessable Entity", Status: fiber.StatusUnprocessableEntity,
			Detail: "Some fields are not valid; see errors.", Errors: map[string]string{"overlap": "Use none, 1h, 24h or 7d."}})
	}
	tok, secret, err := h.Store.RotateTokenWith(c.UserContext(), h.actor(c), id, overlap, models.TokenRotation{Scopes: in.Scopes, AllowedCIDRs: in.AllowedCIDRs})
	if err != nil {
		return storeProblem(c, err)
	}
	out, err := h.apiTokenOf(c, tok)
	if err != nil {
		return err
	}
	out.Token = secret
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(out)
}
