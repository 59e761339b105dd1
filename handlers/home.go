package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/views"
)

// Home renders the overview.
func (h *Handler) Home(c *fiber.Ctx) error {
	o, err := h.Store.Overview(c.UserContext())
	if err != nil {
		return err
	}
	p, err := h.page(c, "Overview", "home")
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.Home(p, views.HomeData{
		ActiveAdmins: o.ActiveAdmins, ActiveHumans: o.ActiveHumans, ActiveServices: o.ActiveServices,
		Deactivated: o.Deactivated, Teams: o.Teams,
	}))
}
