package handlers

import (
	"encoding/json"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
)

// APIList is the shape of every paged list.
type APIList[T any] struct {
	Items   []T   `json:"items"`
	Total   int64 `json:"total"`
	Page    int   `json:"page"`
	PerPage int   `json:"per_page"`
}

// APIOwnerInput names an owner in request bodies.
type APIOwnerInput struct {
	Kind string `json:"kind"` // user or team
	ID   int64  `json:"id"`
}

func (o *APIOwnerInput) owner() (models.Owner, bool) {
	switch {
	case o == nil:
		return models.Owner{}, true
	case o.Kind == "user" && o.ID > 0:
		return models.Owner{UserID: o.ID}, true
	case o.Kind == "team" && o.ID > 0:
		return models.Owner{TeamID: o.ID}, true
	}
	return models.Owner{}, false
}

// validTeamIDs reports whether every team id can be one. null decodes to 0,
// and the store skips ids below 1 silently (a form's checkboxes never send
// them), so the API refuses them here rather than drop a team unasked.
func validTeamIDs(ids []int64) bool {
	for _, id := range ids {
		if id <= 0 {
			return false
		}
	}
	return true
}

func badTeamIDs(c *fiber.Ctx) error {
	return problem(c, Problem{Type: ProblemValidation, Title: "Unprocessable Entity", Status: fiber.StatusUnprocessableEntity,
		Detail: "Some fields are not valid; see errors.", Errors: map[string]string{"team_ids": "Use team ids (whole numbers from 1), never null; [] or null for no teams besides Public."}})
}

func badOwner(c *fiber.Ctx) error {
	return problem(c, Problem{Type: ProblemValidation, Title: "Unprocessable Entity", Status: fiber.StatusUnprocessableEntity,
		Detail: "Some fields are not valid; see errors.", Errors: map[string]string{"owner": `Use {"kind": "user" or "team", "id": <id>}, or null.`}})
}

// apiUsers builds the API shape of a page of users with a fixed number of
// queries, whatever the page size.
func (h *Handler) apiUsers(c *fiber.Ctx, rows []models.UserRow) ([]APIUser, error) {
	ctx := c.UserContext()
	ids := make([]int64, len(rows))
	var userRefs, teamRefs []int64
	for i, r := range rows {
		ids[i] = r.ID
		if r.CreatedBy != nil {
			userRefs = append(userRefs, *r.CreatedBy)
		}
		if r.OwnerUserID != nil {
			userRefs = append(userRefs, *r.OwnerUserID)
		}
		if r.OwnerTeamID != nil {
			teamRefs = append(teamRefs, *r.OwnerTeamID)
		}
	}
	counts, err := h.Store.ActiveTokenCounts(ctx, ids)
	if err != nil {
		return nil, err
	}
	names, err := h.Store.UserNames(ctx, userRefs)
	if err != nil {
		return nil, err
	}
	teams, err := h.Store.TeamNames(ctx, teamRefs)
	if err != nil {
		return nil, err
	}
	out := make([]APIUser, len(rows))
	for i, r := range rows {
		u := APIUser{
			ID: r.ID, UserID: r.UserID, Name: r.Name, Email: r.Email, Type: string(r.Kind), Role: string(r.Role),
			Status: string(r.Status), Teams: []APITeam{}, Description: r.Description, LastActiveAt: utc(r.LastActiveAt),
			CreatedAt: r.CreatedAt.UTC(), ActiveTokenCount: counts[r.ID], NotifyEmails: r.NotifyList(), SignIn: signIn(&r.User),
		}
		for _, t := range r.Teams {
			u.Teams = append(u.Teams, APITeam{ID: t.ID, Name: t.Name})
		}
		switch {
		case r.OwnerUserID != nil:
			u.Owner = &APIRef{Kind: "user", ID: *r.OwnerUserID, Name: names[*r.OwnerUserID]}
		case r.OwnerTeamID != nil:
			u.Owner = &APIRef{Kind: "team", ID: *r.OwnerTeamID, Name: teams[*r.OwnerTeamID]}
		}
		if r.CreatedBy != nil {
			u.CreatedBy = &APIRef{ID: *r.CreatedBy, Name: names[*r.CreatedBy]}
		}
		out[i] = u
	}
	return out, nil
}

// APIUsersList answers GET /users with the Users page's parameters; invalid
// ones are a 400 here, not a notice.
func (h *Handler) APIUsersList(c *fiber.Ctx) error {
	q, problems := models.ParseUserQuery(queryValues(c))
	if len(problems) > 0 {
		return queryProblem(c, problems.Refusals())
	}
	page, err := h.Store.ListUsers(c.UserContext(), q)
	if err != nil {
		return err
	}
	items, err := h.apiUsers(c, page.Rows)
	if err != nil {
		return err
	}
	return c.JSON(APIList[APIUser]{Items: items, Total: page.Total, Page: q.Page, PerPage: q.PerPage})
}

// APIUserCreateInput is the body of POST /users: a service user.
type APIUserCreateInput struct {
	Name        string         `json:"name"`
	Role        *string        `json:"role"`
	TeamIDs     []int64        `json:"team_ids"`
	Description string         `json:"description"`
	Owner       *APIOwnerInput `json:"owner"`
	// NotifyEmails also get its token expiry emails (at most 10).
	NotifyEmails []string `json:"notify_emails"`
}

// APIUserCreate creates a service user (people are created in the console).
func (h *Handler) APIUserCreate(c *fiber.Ctx) error {
	var in APIUserCreateInput
	if err := decodeJSON(c, &in); err != nil {
		return sent(err)
	}
	role := models.RoleMember
	if in.Role != nil {
		role = models.Role(*in.Role)
	}
	owner, ok := in.Owner.owner()
	if !ok {
		return badOwner(c)
	}
	if !validTeamIDs(in.TeamIDs) {
		return badTeamIDs(c)
	}
	u, err := h.Store.CreateServiceUser(c.UserContext(), h.actor(c), models.NewServiceUser{
		Name: in.Name, Role: role, TeamIDs: in.TeamIDs, Description: in.Description, Owner: owner, NotifyEmails: in.NotifyEmails,
	})
	if err != nil {
		return storeProblem(c, err)
	}
	out, err := h.apiUser(c, u.ID)
	if err != nil {
		return err
	}
	c.Location("/api/v1/users/" + itoa64(u.ID))
	return c.Status(fiber.StatusCreated).JSON(out)
}

// APIUserGet answers GET /users/{id}.
func (h *Handler) APIUserGet(c *fiber.Ctx) error {
	id, err := apiID(c, "id")
	if err != nil {
		return sent(err)
	}
	out, err := h.apiUser(c, id)
	if err != nil {
		return storeProblem(c, err)
	}
	return c.JSON(out)
}

// APIUserPatchInput is the body of PATCH /users/{id}: every field optional;
// absent fields keep their value. Name and user_id cannot be changed.
type APIUserPatchInput struct {
	Role        *string                 `json:"role"`
	TeamIDs     *[]int64                `json:"team_ids"`
	Description *string                 `json:"description"`
	Owner       Optional[APIOwnerInput] `json:"owner"`
	// NotifyEmails replaces the list; [] empties it.
	NotifyEmails *[]string `json:"notify_emails"`
}

// Optional tells a field that was sent as null (clear it) from one that was
// not sent at all (keep it), which a plain pointer cannot.
type Optional[T any] struct {
	Set   bool
	Value *T
}

// UnmarshalJSON implements json.Unmarshaler; it runs only for present keys.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Value = nil
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	o.Value = &v
	return nil
}

// APIUserPatch changes a user's role, teams, description, owner or
// notification addresses.
func (h *Handler) APIUserPatch(c *fiber.Ctx) error {
	id, err := apiID(c, "id")
	if err != nil {
		return sent(err)
	}
	var in APIUserPatchInput
	if err := decodeJSON(c, &in); err != nil {
		return sent(err)
	}
	ctx := c.UserContext()
	det, err := h.Store.UserDetail(ctx, id)
	if err != nil {
		return storeProblem(c, err)
	}
	upd := models.UserUpdate{Role: det.User.Role, Description: det.User.Description, Owner: models.OwnerOf(det.User)}
	for _, t := range det.Teams {
		upd.TeamIDs = append(upd.TeamIDs, t.ID)
	}
	if in.Role != nil {
		upd.Role = models.Role(*in.Role)
	}
	if in.TeamIDs != nil {
		if !validTeamIDs(*in.TeamIDs) {
			return badTeamIDs(c)
		}
		upd.TeamIDs = *in.TeamIDs
	}
	if in.Description != nil {
		upd.Description = *in.Description
	}
	if in.Owner.Set {
		o, ok := in.Owner.Value.owner()
		if !ok {
			return badOwner(c)
		}
		upd.Owner = o
	}
	if in.NotifyEmails != nil {
		upd.NotifyEmails = in.NotifyEmails
	}
	if _, err := h.Store.UpdateUser(ctx, h.actor(c), id, upd); err != nil {
		return storeProblem(c, err)
	}
	out, err := h.apiUser(c, id)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// APIUserDeactivate deactivates a user; a service user with active tokens
// is refused with 400 and their count.
func (h *Handler) APIUserDeactivate(c *fiber.Ctx) error {
	id, err := apiID(c, "id")
	if err != nil {
		return sent(err)
	}
	if _, err := h.Store.DeactivateUser(c.UserContext(), h.actor(c), id); err != nil {
		return storeProblem(c, err)
	}
	return h.APIUserGet(c)
}

// APIUserReactivate restores a deactivated user.
func (h *Handler) APIUserReactivate(c *fiber.Ctx) error {
	id, err := apiID(c, "id")
	if err != nil {
		return sent(err)
	}
	if _, err := h.Store.ReactivateUser(c.UserContext(), h.actor(c), id); err != nil {
		return storeProblem(c, err)
	}
	return h.APIUserGet(c)
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
