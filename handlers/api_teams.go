package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
)

// APITeamFull is a team in the teams endpoints.
type APITeamFull struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Builtin     bool      `json:"builtin"`
	Members     int64     `json:"members"`
	CreatedAt   time.Time `json:"created_at"`
}

func apiTeam(t models.TeamRow) APITeamFull {
	return APITeamFull{ID: t.ID, Name: t.Name, Description: t.Description, Builtin: t.Builtin, Members: t.Members, CreatedAt: t.CreatedAt.UTC()}
}

// APITeamsList answers GET /teams.
func (h *Handler) APITeamsList(c *fiber.Ctx) error {
	rows, err := h.Store.Teams(c.UserContext())
	if err != nil {
		return err
	}
	items := make([]APITeamFull, len(rows))
	for i, t := range rows {
		items[i] = apiTeam(t)
	}
	return c.JSON(APIList[APITeamFull]{Items: items, Total: int64(len(items)), Page: 1, PerPage: len(items)})
}

// APITeamInput is the body of POST /teams and PATCH /teams/{id}.
type APITeamInput struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// APITeamCreate creates a team.
func (h *Handler) APITeamCreate(c *fiber.Ctx) error {
	var in APITeamInput
	if err := decodeJSON(c, &in); err != nil {
		return sent(err)
	}
	ti := models.TeamInput{}
	if in.Name != nil {
		ti.Name = *in.Name
	}
	if in.Description != nil {
		ti.Description = *in.Description
	}
	t, err := h.Store.CreateTeam(c.UserContext(), h.actor(c), ti)
	if err != nil {
		return storeProblem(c, err)
	}
	row, err := h.Store.TeamByID(c.UserContext(), t.ID)
	if err != nil {
		return err
	}
	c.Location("/api/v1/teams/" + itoa64(t.ID))
	return c.Status(fiber.StatusCreated).JSON(apiTeam(*row))
}

// APITeamPatch renames or describes a team.
func (h *Handler) APITeamPatch(c *fiber.Ctx) error {
	id, err := apiID(c, "id")
	if err != nil {
		return sent(err)
	}
	var in APITeamInput
	if err := decodeJSON(c, &in); err != nil {
		return sent(err)
	}
	ctx := c.UserContext()
	cur, err := h.Store.TeamByID(ctx, id)
	if err != nil {
		return storeProblem(c, err)
	}
	ti := models.TeamInput{Name: cur.Name, Description: cur.Description}
	if in.Name != nil {
		ti.Name = *in.Name
	}
	if in.Description != nil {
		ti.Description = *in.Description
	}
	if _, err := h.Store.UpdateTeam(ctx, h.actor(c), id, ti); err != nil {
		return storeProblem(c, err)
	}
	row, err := h.Store.TeamByID(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(apiTeam(*row))
}

// APITeamDelete deletes a team (never Public); its members stay.
func (h *Handler) APITeamDelete(c *fiber.Ctx) error {
	id, err := apiID(c, "id")
	if err != nil {
		return sent(err)
	}
	if _, err := h.Store.DeleteTeam(c.UserContext(), h.actor(c), id); err != nil {
		return storeProblem(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}
