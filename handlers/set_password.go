package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

func (h *Handler) linkInvalid(c *fiber.Ctx) error {
	p, err := h.page(c, "Link not valid", "")
	if err != nil {
		return err
	}
	return render(c, fiber.StatusNotFound, views.LinkInvalid(p))
}

// SetPasswordShow renders the form of a one-time set-password link.
func (h *Handler) SetPasswordShow(c *fiber.Ctx) error {
	u, err := h.Store.PasswordLinkUser(c.UserContext(), c.Params("token"))
	if errors.Is(err, models.ErrLinkInvalid) || errors.Is(err, models.ErrNotFound) {
		return h.linkInvalid(c)
	}
	if err != nil {
		return err
	}
	return h.renderSetPassword(c, fiber.StatusOK, u, nil)
}

func (h *Handler) renderSetPassword(c *fiber.Ctx, status int, u *models.User, errs map[string]string) error {
	p, err := h.page(c, "Choose your password", "")
	if err != nil {
		return err
	}
	// The page's URL carries the token: keep it out of the Referer of
	// anything the page loads, and out of caches.
	c.Set("Referrer-Policy", "no-referrer")
	return render(c, status, views.SetPassword(p, views.SetPasswordData{
		Name: u.Name, Email: u.Handle(), IsAdmin: u.Role == models.RoleAdmin, Errors: errs,
	}))
}

// SetPasswordSubmit sets the password and uses up the link.
func (h *Handler) SetPasswordSubmit(c *fiber.Ctx) error {
	token := c.Params("token")
	ctx := c.UserContext()
	u, err := h.Store.SetPasswordWithLink(ctx, h.actor(c), token, BodyValue(c, "password"), BodyValue(c, "confirm"))
	if fields := models.FieldErrors(err); fields != nil {
		owner, lerr := h.Store.PasswordLinkUser(ctx, token)
		if lerr != nil {
			return h.linkInvalid(c)
		}
		return h.renderSetPassword(c, fiber.StatusUnprocessableEntity, owner, fields)
	}
	if errors.Is(err, models.ErrLinkInvalid) || errors.Is(err, models.ErrNotFound) {
		return h.linkInvalid(c)
	}
	if err != nil {
		return err
	}
	if u.Role == models.RoleAdmin {
		h.Sessions.AddFlash(c, "success", "Your password is set. Sign in to continue.")
	} else {
		h.Sessions.AddFlash(c, "success", "Your password is set. Only administrators can sign in to this console.")
	}
	return c.Redirect("/login", fiber.StatusSeeOther)
}
