package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

// SetupShow renders the first-run form when the token in the URL is valid.
func (h *Handler) SetupShow(c *fiber.Ctx) error {
	token := c.Query("token")
	if err := h.Store.CheckSetupToken(c.UserContext(), token); err != nil {
		return h.setupUnavailable(c, err)
	}
	p, err := h.page(c, "Set up Warden", "")
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.Setup(p, views.SetupForm{Token: token}))
}

// SetupSubmit creates the first administrator.
func (h *Handler) SetupSubmit(c *fiber.Ctx) error {
	form := views.SetupForm{Token: BodyValue(c, "token"), Name: BodyValue(c, "name"), Email: BodyValue(c, "email")}
	_, err := h.Store.CompleteSetup(c.UserContext(), h.actor(c), form.Token, models.NewHuman{
		Name: form.Name, Email: form.Email, Password: BodyValue(c, "password"), Confirm: BodyValue(c, "confirm"),
	})
	if fields := models.FieldErrors(err); fields != nil {
		form.Errors = fields
		form.Error = "Check the highlighted fields."
		p, perr := h.page(c, "Set up Warden", "")
		if perr != nil {
			return perr
		}
		return render(c, fiber.StatusUnprocessableEntity, views.Setup(p, form))
	}
	if err != nil {
		return h.setupUnavailable(c, err)
	}
	h.Log.Info("first administrator created")
	h.Sessions.AddFlash(c, "success", "Your administrator account is ready. Sign in to continue.")
	return c.Redirect("/login", fiber.StatusSeeOther)
}

func (h *Handler) setupUnavailable(c *fiber.Ctx, err error) error {
	done := errors.Is(err, models.ErrSetupDone)
	if !done && !errors.Is(err, models.ErrInvalidSetupToken) {
		return err
	}
	p, perr := h.page(c, "Setup", "")
	if perr != nil {
		return perr
	}
	status := fiber.StatusForbidden
	if done {
		// Once an administrator exists the page is gone for good.
		status = fiber.StatusNotFound
	}
	return render(c, status, views.SetupUnavailable(p, done))
}
