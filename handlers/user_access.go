package handlers

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

// UserPasswordLink issues a new one-time set-password link (a reset) and
// shows it in this response only.
func (h *Handler) UserPasswordLink(c *fiber.Ctx) error {
	u, err := h.loadUser(c)
	if err != nil {
		return err
	}
	token, err := h.Store.IssuePasswordLink(c.UserContext(), h.actor(c), u.ID)
	if msg := models.RuleMessage(err); msg != "" {
		h.Sessions.AddFlash(c, "error", msg)
		return c.Redirect(userPath(u.ID), fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	show, err := h.userShowData(c, u.ID)
	if err != nil {
		return err
	}
	show.OneTimeLink = h.absoluteURL(c, "/set-password/"+token)
	p, err := h.page(c, u.Name, "users")
	if err != nil {
		return err
	}
	p.Flashes = append(p.Flashes, views.Flash{Kind: "success", Message: "New set-password link issued; any earlier link no longer works."})
	return render(c, fiber.StatusOK, views.UserShow(p, show))
}

// UserSignOut ends every console session of a person.
func (h *Handler) UserSignOut(c *fiber.Ctx) error {
	u, err := h.loadUser(c)
	if err != nil {
		return err
	}
	n, err := h.Store.SignOutEverywhere(c.UserContext(), h.actor(c), u.ID)
	if err != nil {
		return err
	}
	if u.ID == actorID(c) {
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	h.Sessions.AddFlash(c, "success", fmt.Sprintf("%s was signed out of %d %s.", u.Name, n, plural(n, "session", "sessions")))
	return c.Redirect(userPath(u.ID), fiber.StatusSeeOther)
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
