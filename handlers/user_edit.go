package handlers

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

// UserEdit renders the edit form: role, teams, purpose, owner and the
// notification addresses.
func (h *Handler) UserEdit(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	det, err := h.Store.UserDetail(c.UserContext(), id)
	if errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	u := det.User
	var teamIDs []int64
	for _, t := range det.Teams {
		teamIDs = append(teamIDs, t.ID)
	}
	d := views.UserFormData{
		Kind: string(u.Kind), Edit: true, ID: u.ID, Name: u.Name, UserIDPrev: u.Handle(), Role: string(u.Role),
		Description: u.Description, Owner: models.OwnerOf(u).String(), NotifyEmails: strings.Join(u.NotifyList(), "\n"),
	}
	if d.RoleLocked, err = h.roleLock(c, u); err != nil {
		return err
	}
	return h.renderUserForm(c, fiber.StatusOK, "Edit "+u.Name, d, teamIDs)
}

// UserUpdate saves the edit form. Only the allow-listed fields are read;
// a name or user_id in the body is ignored.
func (h *Handler) UserUpdate(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	u, err := h.Store.UserByID(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	teamIDs := formTeamIDs(c)
	d := views.UserFormData{
		Kind: string(u.Kind), Edit: true, ID: u.ID, Name: u.Name, UserIDPrev: u.Handle(), Role: BodyValue(c, "role"),
		Description: BodyValue(c, "description"), Owner: BodyValue(c, "owner"), NotifyEmails: BodyValue(c, "notify_emails"),
	}
	if d.RoleLocked, err = h.roleLock(c, u); err != nil {
		return err
	}
	owner, ok := models.ParseOwner(d.Owner)
	if !ok {
		d.Errors = map[string]string{"owner": "Choose an owner from the list."}
		return h.renderUserForm(c, fiber.StatusUnprocessableEntity, "Edit "+u.Name, d, teamIDs)
	}
	upd := models.UserUpdate{Role: formRole(c), TeamIDs: teamIDs, Description: d.Description, Owner: owner}
	if u.Kind == models.KindHuman {
		upd.Description = u.Description // people have no purpose field on the form
	} else {
		notify := models.SplitNotifyEmails(d.NotifyEmails)
		upd.NotifyEmails = &notify
	}
	updated, err := h.Store.UpdateUser(ctx, h.actor(c), id, upd)
	if fields := models.FieldErrors(err); fields != nil {
		d.Errors = fields
		return h.renderUserForm(c, fiber.StatusUnprocessableEntity, "Edit "+u.Name, d, teamIDs)
	}
	if msg := models.RuleMessage(err); msg != "" {
		d.Error = msg
		return h.renderUserForm(c, fiber.StatusConflict, "Edit "+u.Name, d, teamIDs)
	}
	if err != nil {
		return err
	}
	if updated.ID == actorID(c) && updated.Role != models.RoleAdmin {
		// The admin demoted themselves: the session is gone with the role.
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	h.Sessions.AddFlash(c, "success", "Saved changes to "+updated.Name+".")
	return c.Redirect(userPath(id), fiber.StatusSeeOther)
}

// roleLock is the rule that keeps u an Admin, said on the edit form before
// anyone tries to change the role; UpdateUser still enforces it.
func (h *Handler) roleLock(c *fiber.Ctx, u *models.User) (string, error) {
	refusal, err := h.Store.DemoteRefusal(c.UserContext(), u)
	if refusal == nil || err != nil {
		return "", err
	}
	return refusal.Message, nil
}
