package handlers

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
	"github.com/warden-console/warden/web/request"
)

// AccountShow renders the admin's own account page.
func (h *Handler) AccountShow(c *fiber.Ctx) error {
	return h.renderAccount(c, fiber.StatusOK, nil)
}

func (h *Handler) renderAccount(c *fiber.Ctx, status int, errs map[string]string) error {
	u, cur := request.User(c), request.Session(c)
	list, err := h.Store.Sessions(c.UserContext(), u.ID)
	if err != nil {
		return err
	}
	p, err := h.page(c, "Your account", "account")
	if err != nil {
		return err
	}
	lt := h.Store.SessionLifetime()
	d := views.AccountData{
		Name: u.Name, Email: u.Handle(), Now: h.Store.Now(), Errors: errs,
		IdleTimeout: lt.Idle, AbsTimeout: lt.Absolute,
	}
	for _, s := range list {
		d.Sessions = append(d.Sessions, views.SessionRow{
			ID: s.ID, Current: s.ID == cur.ID, IP: s.IP, UserAgent: s.UserAgent, CreatedAt: s.CreatedAt, LastSeen: s.LastSeenAt,
		})
	}
	return render(c, status, views.Account(p, d))
}

// AccountPassword changes the admin's own password. Other sessions end, and
// this one continues under a fresh session id.
func (h *Handler) AccountPassword(c *fiber.Ctx) error {
	u, cur := request.User(c), request.Session(c)
	err := h.Store.ChangePassword(c.UserContext(), h.actor(c),
		BodyValue(c, "current_password"), BodyValue(c, "new_password"), BodyValue(c, "confirm"), cur.ID)
	if fields := models.FieldErrors(err); fields != nil {
		return h.renderAccount(c, fiber.StatusUnprocessableEntity, fields)
	}
	if err != nil {
		return err
	}
	if err := h.Sessions.Rotate(c, h.actor(c)); err != nil {
		return err
	}
	h.Log.Info("password changed", "request_id", request.ID(c), "user", u.ID)
	h.Sessions.AddFlash(c, "success", "Password changed. Your other sessions were signed out.")
	return c.Redirect("/account", fiber.StatusSeeOther)
}

// AccountEndSession ends one of the admin's sessions.
func (h *Handler) AccountEndSession(c *fiber.Ctx) error {
	cur := request.Session(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return fiber.ErrNotFound
	}
	if err := h.Store.EndSession(c.UserContext(), h.actor(c), id); errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	} else if err != nil {
		return err
	}
	if id == cur.ID {
		h.Sessions.AddFlash(c, "info", "You have signed out.")
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	h.Sessions.AddFlash(c, "success", "Session ended.")
	return c.Redirect("/account", fiber.StatusSeeOther)
}

// AccountEndOtherSessions ends every session of the admin but this one.
func (h *Handler) AccountEndOtherSessions(c *fiber.Ctx) error {
	cur := request.Session(c)
	n, err := h.Store.EndOtherSessions(c.UserContext(), h.actor(c), cur.ID)
	if err != nil {
		return err
	}
	msg := "No other sessions were active."
	switch {
	case n == 1:
		msg = "Signed out 1 other session."
	case n > 1:
		msg = fmt.Sprintf("Signed out %d other sessions.", n)
	}
	h.Sessions.AddFlash(c, "success", msg)
	return c.Redirect("/account", fiber.StatusSeeOther)
}
