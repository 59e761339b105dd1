package handlers

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

func (h *Handler) renderSettings(c *fiber.Ctx, status int, d views.SettingsData) error {
	lt := h.Store.SessionLifetime()
	d.IdleTimeout, d.AbsTimeout, d.SecureCookies = lt.Idle, lt.Absolute, h.SecureCookies
	policy := h.Store.PasswordLoginPolicy()
	d.SSO, d.PasswordLogin, d.BreakGlass = h.SSO != nil, policy.Enabled, policy.BreakGlass
	rows, err := h.webhookRows(c.UserContext())
	if err != nil {
		return err
	}
	d.Webhooks, d.DisabledWebhooks, d.Now = rows, disabledWebhooks(rows), h.Store.Now()
	if d.InactiveDays == "" {
		days, err := h.Store.InactivityDays(c.UserContext())
		if err != nil {
			return err
		}
		d.InactiveDays = strconv.Itoa(days)
	}
	p, err := h.page(c, "Settings", "settings")
	if err != nil {
		return err
	}
	return render(c, status, views.Settings(p, d))
}

// SettingsShow renders the settings page.
func (h *Handler) SettingsShow(c *fiber.Ctx) error {
	p, err := h.Store.TokenPolicy(c.UserContext())
	if err != nil {
		return err
	}
	return h.renderSettings(c, fiber.StatusOK, views.SettingsData{
		DefaultDays: strconv.Itoa(p.DefaultDays), MaxDays: strconv.Itoa(p.MaxDays), AllowNever: p.AllowNever,
	})
}

// SettingsSave stores the token expiry policy.
func (h *Handler) SettingsSave(c *fiber.Ctx) error {
	d := views.SettingsData{
		DefaultDays: strings.TrimSpace(BodyValue(c, "default_days")), MaxDays: strings.TrimSpace(BodyValue(c, "max_days")),
		AllowNever: BodyValue(c, "allow_never") == "true",
	}
	errs := map[string]string{}
	def, err := strconv.Atoi(d.DefaultDays)
	if err != nil {
		errs["default_days"] = "Enter a whole number of days."
	}
	maxDays := 0
	if d.MaxDays != "" {
		if maxDays, err = strconv.Atoi(d.MaxDays); err != nil {
			errs["max_days"] = "Enter a whole number of days, or leave it empty for no limit."
		}
	}
	if len(errs) == 0 {
		err = h.Store.SetTokenPolicy(c.UserContext(), h.actor(c), models.TokenPolicy{DefaultDays: def, MaxDays: maxDays, AllowNever: d.AllowNever})
		if fields := models.FieldErrors(err); fields != nil {
			errs = fields
		} else if err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		d.Errors = errs
		return h.renderSettings(c, fiber.StatusUnprocessableEntity, d)
	}
	h.Sessions.AddFlash(c, "success", "Token expiry policy saved. It applies to tokens generated from now on.")
	return c.Redirect("/settings", fiber.StatusSeeOther)
}
