package handlers

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

func teamPath(id int64) string { return "/teams/" + strconv.FormatInt(id, 10) }

func (h *Handler) renderTeams(c *fiber.Ctx, status int, d views.TeamsData) error {
	rows, err := h.Store.Teams(c.UserContext())
	if err != nil {
		return err
	}
	for _, t := range rows {
		d.Teams = append(d.Teams, views.TeamRow{
			ID: t.ID, Name: t.Name, Description: t.Description, Builtin: t.Builtin, Members: t.Members, CreatedAt: t.CreatedAt,
		})
	}
	d.Now = h.Store.Now()
	p, err := h.page(c, "Teams", "teams")
	if err != nil {
		return err
	}
	return render(c, status, views.Teams(p, d))
}

// TeamsList renders the teams with their member counts.
func (h *Handler) TeamsList(c *fiber.Ctx) error {
	return h.renderTeams(c, fiber.StatusOK, views.TeamsData{})
}

// TeamCreate creates a team from the form on the Teams page.
func (h *Handler) TeamCreate(c *fiber.Ctx) error {
	in := models.TeamInput{Name: BodyValue(c, "name"), Description: BodyValue(c, "description")}
	t, err := h.Store.CreateTeam(c.UserContext(), h.actor(c), in)
	if fields := models.FieldErrors(err); fields != nil {
		return h.renderTeams(c, fiber.StatusUnprocessableEntity, views.TeamsData{Name: in.Name, Description: in.Description, Errors: fields})
	}
	if err != nil {
		return err
	}
	h.Sessions.AddFlash(c, "success", "Team "+t.Name+" created.")
	return c.Redirect("/teams", fiber.StatusSeeOther)
}

func (h *Handler) loadTeam(c *fiber.Ctx) (*models.TeamRow, error) {
	id, err := paramID(c, "id")
	if err != nil {
		return nil, err
	}
	t, err := h.Store.TeamByID(c.UserContext(), id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fiber.ErrNotFound
	}
	return t, err
}

func (h *Handler) renderTeam(c *fiber.Ctx, status int, t *models.TeamRow, formName, desc string, errs map[string]string) error {
	p, err := h.page(c, t.Name, "teams")
	if err != nil {
		return err
	}
	return render(c, status, views.Team(p, views.TeamData{
		ID: t.ID, Name: t.Name, FormName: formName, Description: desc, Builtin: t.Builtin, Members: t.Members, Errors: errs,
	}))
}

// TeamShow renders a team's page.
func (h *Handler) TeamShow(c *fiber.Ctx) error {
	t, err := h.loadTeam(c)
	if err != nil {
		return err
	}
	return h.renderTeam(c, fiber.StatusOK, t, t.Name, t.Description, nil)
}

// TeamUpdate renames and describes a team.
func (h *Handler) TeamUpdate(c *fiber.Ctx) error {
	t, err := h.loadTeam(c)
	if err != nil {
		return err
	}
	in := models.TeamInput{Name: BodyValue(c, "name"), Description: BodyValue(c, "description")}
	updated, err := h.Store.UpdateTeam(c.UserContext(), h.actor(c), t.ID, in)
	if fields := models.FieldErrors(err); fields != nil {
		return h.renderTeam(c, fiber.StatusUnprocessableEntity, t, in.Name, in.Description, fields)
	}
	if err != nil {
		return err
	}
	h.Sessions.AddFlash(c, "success", "Team "+updated.Name+" saved.")
	return c.Redirect(teamPath(t.ID), fiber.StatusSeeOther)
}

// TeamDelete deletes a team once the admin ticked the confirmation.
func (h *Handler) TeamDelete(c *fiber.Ctx) error {
	t, err := h.loadTeam(c)
	if err != nil {
		return err
	}
	if BodyValue(c, "confirm") != "yes" {
		return h.renderTeam(c, fiber.StatusUnprocessableEntity, t, t.Name, t.Description,
			map[string]string{"description": "Tick the box to confirm that the team should be deleted."})
	}
	_, err = h.Store.DeleteTeam(c.UserContext(), h.actor(c), t.ID)
	if msg := models.RuleMessage(err); msg != "" {
		h.Sessions.AddFlash(c, "error", msg)
		return c.Redirect(teamPath(t.ID), fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	h.Sessions.AddFlash(c, "success", "Team "+t.Name+" deleted. Its members are still in Warden.")
	return c.Redirect("/teams", fiber.StatusSeeOther)
}
