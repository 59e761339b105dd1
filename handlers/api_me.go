package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"

	"github.com/warden-console/warden/web/request"
)

// APITeam is a team in API responses.
type APITeam struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// APIRef names another record.
type APIRef struct {
	Kind string `json:"kind,omitempty"`
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// APIUser is the user shape of SPEC §6.
type APIUser struct {
	ID               int64      `json:"id"`
	UserID           *string    `json:"user_id"`
	Name             string     `json:"name"`
	Email            *string    `json:"email"`
	Type             string     `json:"type"`
	Role             string     `json:"role"`
	Status           string     `json:"status"`
	Teams            []APITeam  `json:"teams"`
	Description      string     `json:"description"`
	Owner            *APIRef    `json:"owner"`
	NotifyEmails     []string   `json:"notify_emails"`
	LastActiveAt     *time.Time `json:"last_active_at"`
	CreatedAt        time.Time  `json:"created_at"`
	CreatedBy        *APIRef    `json:"created_by"`
	ActiveTokenCount int64      `json:"active_token_count"`
	// SignIn is how a person signs in (models.User.SignInMethod); null for
	// a service user.
	SignIn *string `json:"sign_in"`
}

// signIn is the API's sign_in of u: null for a service user.
func signIn(u *models.User) *string {
	if m := u.SignInMethod(); m != "" {
		return &m
	}
	return nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// apiUser builds the API shape of a user.
func (h *Handler) apiUser(c *fiber.Ctx, id int64) (*APIUser, error) {
	u, err := h.Store.UserByID(c.UserContext(), id)
	if err != nil {
		return nil, err
	}
	return h.apiUserOf(c, u)
}

// apiUserOf builds the API shape of a loaded user: its teams, owner,
// creator and working tokens come from one more query.
func (h *Handler) apiUserOf(c *fiber.Ctx, user *models.User) (*APIUser, error) {
	det, n, err := h.Store.APIDetailOf(c.UserContext(), user)
	if err != nil {
		return nil, err
	}
	return apiUserFrom(det, n), nil
}

// apiUserFrom is the API shape of a user's detail and its count of working
// tokens.
func apiUserFrom(det *models.UserDetail, n int64) *APIUser {
	u := det.User
	out := &APIUser{
		ID: u.ID, UserID: u.UserID, Name: u.Name, Email: u.Email, Type: string(u.Kind), Role: string(u.Role),
		Status: string(u.Status), Teams: make([]APITeam, 0, len(det.Teams)), Description: u.Description, LastActiveAt: utc(u.LastActiveAt),
		CreatedAt: u.CreatedAt.UTC(), ActiveTokenCount: n, NotifyEmails: u.NotifyList(), SignIn: signIn(u),
	}
	for _, t := range det.Teams {
		out.Teams = append(out.Teams, APITeam{ID: t.ID, Name: t.Name})
	}
	switch {
	case u.OwnerUserID != nil:
		out.Owner = &APIRef{Kind: "user", ID: *u.OwnerUserID, Name: det.OwnerName}
	case u.OwnerTeamID != nil:
		out.Owner = &APIRef{Kind: "team", ID: *u.OwnerTeamID, Name: det.OwnerName}
	}
	if u.CreatedBy != nil {
		out.CreatedBy = &APIRef{ID: *u.CreatedBy, Name: det.CreatedBy}
	}
	return out
}

// APIMe answers GET /api/v1/me: the calling service user, as it is in the
// database now.
func (h *Handler) APIMe(c *fiber.Ctx) error {
	// The user comes from this request's authentication, and the rest is
	// kept with it while the data does not change (Store.CallerDetail).
	det, n, err := h.Store.CallerDetail(c.UserContext(), request.TokenAuth(c))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(apiUserFrom(det, n))
}
