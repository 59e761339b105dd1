package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
)

// APISettings is the answer of GET and PATCH /settings: the expiry policy
// of new tokens and the inactivity auto-revoke, as the console's settings
// page shows them.
type APISettings struct {
	DefaultDays  int  `json:"default_days"`  // a new token's preselected lifetime; 0: never expires
	MaxDays      int  `json:"max_days"`      // the longest lifetime allowed; 0: no limit
	AllowNever   bool `json:"allow_never"`   // whether tokens may never expire
	InactiveDays int  `json:"inactive_days"` // revoke tokens unused this long; 0: off
}

// APISettingsPatch is PATCH /settings' body: the fields to change.
type APISettingsPatch struct {
	DefaultDays  *int  `json:"default_days"`
	MaxDays      *int  `json:"max_days"`
	AllowNever   *bool `json:"allow_never"`
	InactiveDays *int  `json:"inactive_days"`
}

func apiSettings(in models.InstanceSettings) APISettings {
	return APISettings{DefaultDays: in.Policy.DefaultDays, MaxDays: in.Policy.MaxDays, AllowNever: in.Policy.AllowNever, InactiveDays: in.InactiveDays}
}

// APISettingsGet answers GET /settings.
func (h *Handler) APISettingsGet(c *fiber.Ctx) error {
	in, err := h.Store.InstanceSettings(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(apiSettings(in))
}

// APISettingsPatch changes the fields the body names and keeps the others
// (null, as everywhere in the API, is the same as leaving a field out). The
// result is checked as a whole, as the console's form is: a default longer
// than the maximum is refused whichever of the two the body sends.
func (h *Handler) APISettingsPatch(c *fiber.Ctx) error {
	var in APISettingsPatch
	if err := decodeJSON(c, &in); err != nil {
		return sent(err)
	}
	if in.DefaultDays == nil && in.MaxDays == nil && in.AllowNever == nil && in.InactiveDays == nil {
		return problem(c, Problem{Type: ProblemValidation, Title: "Unprocessable Entity", Status: fiber.StatusUnprocessableEntity,
			Detail: "Send at least one of default_days, max_days, allow_never and inactive_days."})
	}
	now, err := h.Store.UpdateSettings(c.UserContext(), h.actor(c), models.SettingsPatch{
		DefaultDays: in.DefaultDays, MaxDays: in.MaxDays, AllowNever: in.AllowNever, InactiveDays: in.InactiveDays})
	if err != nil {
		return storeProblem(c, err)
	}
	return c.JSON(apiSettings(now))
}
