package handlers

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

func userPath(id int64) string { return "/users/" + strconv.FormatInt(id, 10) }

// userShowData loads what the detail page shows.
func (h *Handler) userShowData(c *fiber.Ctx, id int64) (views.UserShowData, error) {
	ctx := c.UserContext()
	det, err := h.Store.UserDetail(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return views.UserShowData{}, fiber.ErrNotFound
	}
	if err != nil {
		return views.UserShowData{}, err
	}
	u := det.User
	d := views.UserShowData{
		ID: u.ID, Name: u.Name, Handle: u.Handle(), Kind: string(u.Kind), Role: string(u.Role), Status: string(u.Status),
		Description: u.Description, OwnerName: det.OwnerName, CreatedBy: det.CreatedBy, CreatedAt: u.CreatedAt,
		LastActive: u.LastActiveAt, Deactivated: u.DeactivatedAt, Now: h.Store.Now(), NotifyEmails: u.NotifyList(),
		SignIn: u.SignInMethod(), PasswordAllowed: u.PasswordAllowed(),
	}
	switch {
	case u.OwnerUserID != nil:
		d.OwnerURL = userPath(*u.OwnerUserID)
	case u.OwnerTeamID != nil:
		d.OwnerURL = "/teams/" + strconv.FormatInt(*u.OwnerTeamID, 10)
	}
	for _, t := range det.Teams {
		d.Teams = append(d.Teams, views.TeamChip{ID: t.ID, Name: t.Name})
	}
	if u.Kind == models.KindHuman {
		if d.PendingLink, err = h.Store.PendingPasswordLink(ctx, u.ID); err != nil {
			return d, err
		}
	}
	if u.Kind == models.KindService {
		if d.Tokens, err = h.tokenRows(c, u.ID); err != nil {
			return d, err
		}
	}
	events, err := h.Store.RecentActivity(ctx, u.ID, 8)
	if err != nil {
		return d, err
	}
	if d.Activity, err = h.auditRows(ctx, events); err != nil {
		return d, err
	}
	return d, nil
}

// UserShow renders a user's detail page.
func (h *Handler) UserShow(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	d, err := h.userShowData(c, id)
	if err != nil {
		return err
	}
	p, err := h.page(c, d.Name, "users")
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.UserShow(p, d))
}
