package handlers

import (
	"errors"
	"net/url"
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
	d := views.TeamData{
		ID: t.ID, Name: t.Name, FormName: formName, Description: desc, Builtin: t.Builtin, Members: t.Members, Errors: errs,
	}
	if err := h.teamLists(c, t.ID, &d); err != nil {
		return err
	}
	p, err := h.page(c, t.Name, "teams")
	if err != nil {
		return err
	}
	return render(c, status, views.Team(p, d))
}

// teamLists reads one page of the team's active members (page) and of the
// service users it owns (owned_page); each list's links keep the other's page.
func (h *Handler) teamLists(c *fiber.Ctx, id int64, d *views.TeamData) error {
	ctx := c.UserContext()
	q := queryValues(c)
	memberPage, ownedPage := pageParam(q.Get("page")), pageParam(q.Get("owned_page"))
	keep := url.Values{}
	if memberPage > 1 {
		keep.Set("page", strconv.Itoa(memberPage))
	}
	if ownedPage > 1 {
		keep.Set("owned_page", strconv.Itoa(ownedPage))
	}
	members, err := h.Store.ListUsers(ctx, models.UserQuery{
		TeamIDs: []int64{id}, Sort: models.SortName, Status: "active", Page: memberPage, PerPage: teamPageSize,
	})
	if err != nil {
		return err
	}
	for _, u := range members.Rows {
		d.MemberRows = append(d.MemberRows, teamUserRow(&u.User))
	}
	d.MemberList = views.ListState{Path: teamPath(id), Values: keep, Page: memberPage, PerPage: teamPageSize, Total: members.Total}
	owned, err := h.Store.TeamOwnedUsers(ctx, id, ownedPage, teamPageSize)
	if err != nil {
		return err
	}
	for i := range owned.Users {
		d.OwnedRows = append(d.OwnedRows, teamUserRow(&owned.Users[i]))
	}
	d.OwnedList = views.ListState{Path: teamPath(id), Values: keep, Page: ownedPage, PerPage: teamPageSize, Total: owned.Total, PageParam: "owned_page"}
	return nil
}

// teamPageSize is the number of users on a page of a team's lists.
const teamPageSize = 25

// pageParam reads a page number; anything else is the first page.
func pageParam(s string) int {
	if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= 1_000_000 {
		return n
	}
	return 1
}

func teamUserRow(u *models.User) views.TeamUserRow {
	return views.TeamUserRow{ID: u.ID, Name: u.Name, Handle: u.Handle(), Kind: string(u.Kind), Role: string(u.Role), Status: string(u.Status)}
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
			map[string]string{"confirm": "Tick the box to confirm that the team should be deleted."})
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
