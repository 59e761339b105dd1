package handlers

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

// tokenFormData fills the policy parts of the generate form.
func (h *Handler) tokenFormData(c *fiber.Ctx, u *models.User, d views.TokenFormData) (views.TokenFormData, error) {
	policy, err := h.Store.TokenPolicy(c.UserContext())
	if err != nil {
		return d, err
	}
	now := h.Store.Now()
	d.UserID, d.UserName, d.Handle = u.ID, u.Name, u.Handle()
	d.MaxDays, d.AllowNever = policy.MaxDays, policy.AllowNever
	d.MinDate = now.Add(24 * time.Hour).Format("2006-01-02")
	if policy.MaxDays > 0 {
		d.MaxDate = now.Add(time.Duration(policy.MaxDays) * 24 * time.Hour).Format("2006-01-02")
	}
	if d.Expiry == "" {
		d.Expiry = defaultExpiryChoice(policy)
	}
	d.RoleLabel, d.ScopeGroups = u.Role.Label(), scopeGroups(u.Role)
	return d, nil
}

// scopeGroups lists the Warden scopes role allows by area, in the table's
// order: a token can never be given more, so the form offers no more.
func scopeGroups(role models.Role) []views.ScopeGroup {
	var out []views.ScopeGroup
	for _, s := range models.WardenScopes {
		if !role.AtLeast(s.MinRole) {
			continue
		}
		if len(out) == 0 || out[len(out)-1].Area != s.Area {
			out = append(out, views.ScopeGroup{Area: s.Area})
		}
		g := &out[len(out)-1]
		g.Options = append(g.Options, views.ScopeOption{Name: s.Name, Label: s.Label})
	}
	return out
}

// formScopes reads the checked Warden scopes (the repeated "scopes" field)
// and the downstream ones typed in downstream_scopes, separated by spaces
// or commas.
func formScopes(c *fiber.Ctx) (checked []string, typed string, all []string) {
	for _, raw := range c.Request().PostArgs().PeekMulti("scopes") {
		checked = append(checked, string(raw))
	}
	typed = BodyValue(c, "downstream_scopes")
	all = append(slices.Clone(checked), strings.Fields(strings.ReplaceAll(typed, ",", " "))...)
	return checked, typed, all
}

// defaultExpiryChoice preselects the policy's default: one of the offered
// lifetimes, Never, or a custom date for other numbers of days.
func defaultExpiryChoice(p models.TokenPolicy) string {
	switch p.DefaultDays {
	case 0:
		return "never"
	case 30, 60, 90, 365:
		return strconv.Itoa(p.DefaultDays)
	}
	return "custom"
}

func (h *Handler) renderTokenForm(c *fiber.Ctx, status int, u *models.User, d views.TokenFormData) error {
	d, err := h.tokenFormData(c, u, d)
	if err != nil {
		return err
	}
	if d.Expiry == "custom" && d.CustomDate == "" {
		if policy, err := h.Store.TokenPolicy(c.UserContext()); err == nil && policy.DefaultDays > 0 {
			d.CustomDate = h.Store.Now().Add(time.Duration(policy.DefaultDays) * 24 * time.Hour).Format("2006-01-02")
		}
	}
	p, err := h.page(c, "Generate a token for "+u.Name, "users")
	if err != nil {
		return err
	}
	return render(c, status, views.TokenForm(p, d))
}

// TokenNew renders the generate-token form of a service user.
func (h *Handler) TokenNew(c *fiber.Ctx) error {
	u, err := h.loadUser(c)
	if err != nil {
		return err
	}
	if u.Kind != models.KindService {
		return fiber.ErrNotFound
	}
	if u.Status != models.StatusActive {
		h.Sessions.AddFlash(c, "error", "Restore "+u.Name+" before generating tokens.")
		return c.Redirect(userPath(u.ID), fiber.StatusSeeOther)
	}
	return h.renderTokenForm(c, fiber.StatusOK, u, views.TokenFormData{})
}

// parseExpiry reads the expiry radio group and the custom date.
func parseExpiry(choice, date string) (models.Expiry, string) {
	switch choice {
	case "never":
		return models.Expiry{Never: true}, ""
	case "custom":
		d, err := time.Parse("2006-01-02", strings.TrimSpace(date))
		if err != nil {
			return models.Expiry{}, "Enter the custom date as YYYY-MM-DD."
		}
		return models.Expiry{Date: &d}, ""
	case "30", "60", "90", "365":
		n, _ := strconv.Atoi(choice)
		return models.Expiry{Days: n}, ""
	}
	return models.Expiry{}, "Choose when the token expires."
}

// TokenCreate generates a token and sends the browser to its reveal page
// (TokenRevealShow). The secret leaves this request only sealed for the
// session; nothing of it goes into the redirect, a flash, a cookie or a log.
func (h *Handler) TokenCreate(c *fiber.Ctx) error {
	u, err := h.loadUser(c)
	if err != nil {
		return err
	}
	d := views.TokenFormData{
		Name: BodyValue(c, "name"), Description: BodyValue(c, "description"),
		Expiry: BodyValue(c, "expiry"), CustomDate: BodyValue(c, "custom_date"),
		Addresses: BodyValue(c, "allowed_cidrs"),
	}
	var scopes []string
	d.Scopes, d.Downstream, scopes = formScopes(c)
	expiry, msg := parseExpiry(d.Expiry, d.CustomDate)
	if msg != "" {
		d.Errors = map[string]string{"expiry": msg}
		return h.renderTokenForm(c, fiber.StatusUnprocessableEntity, u, d)
	}
	k, err := h.revealKey(c)
	if err != nil {
		return err
	}
	_, reveal, err := h.Store.GenerateTokenForReveal(c.UserContext(), h.actor(c), u.ID, models.NewToken{
		Name: d.Name, Description: d.Description, Expiry: expiry, Scopes: scopes,
		AllowedCIDRs: strings.Fields(strings.ReplaceAll(d.Addresses, ",", " ")),
	}, k)
	if fields := models.FieldErrors(err); fields != nil {
		d.Errors = fields
		return h.renderTokenForm(c, fiber.StatusUnprocessableEntity, u, d)
	}
	if msg := models.RuleMessage(err); msg != "" {
		h.Sessions.AddFlash(c, "error", msg)
		return c.Redirect(userPath(u.ID), fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	return c.Redirect(revealPath(reveal), fiber.StatusSeeOther)
}

// TokenFilename is the download name of a token: its name as a slug, then
// "-token.txt".
func TokenFilename(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	slug := strings.TrimRight(b.String(), "-")
	if len(slug) > 60 {
		slug = strings.TrimRight(slug[:60], "-")
	}
	if slug == "" {
		slug = "warden"
	}
	return slug + "-token.txt"
}

func (h *Handler) loadToken(c *fiber.Ctx) (*models.Token, error) {
	id, err := paramID(c, "id")
	if err != nil {
		return nil, err
	}
	t, err := h.Store.TokenByID(c.UserContext(), id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fiber.ErrNotFound
	}
	return t, err
}

// tokenAction runs a revoke/restore/delete and reports the outcome as a flash
// on the owner's page.
func (h *Handler) tokenAction(c *fiber.Ctx, act func(actor models.Actor, id int64) (*models.Token, error), done string) error {
	t, err := h.loadToken(c)
	if err != nil {
		return err
	}
	_, err = act(h.actor(c), t.ID)
	if msg := models.RuleMessage(err); msg != "" {
		h.Sessions.AddFlash(c, "error", msg)
		return c.Redirect(userPath(t.UserID), fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	h.Sessions.AddFlash(c, "success", "Token “"+t.Name+"” "+done+".")
	if next := tokenNext(BodyValue(c, "next")); next != "" {
		return c.Redirect(next, fiber.StatusSeeOther)
	}
	return c.Redirect(userPath(t.UserID), fiber.StatusSeeOther)
}

// TokenRevoke revokes a token; its next request fails.
func (h *Handler) TokenRevoke(c *fiber.Ctx) error {
	return h.tokenAction(c, func(a models.Actor, id int64) (*models.Token, error) {
		return h.Store.RevokeToken(c.UserContext(), a, id)
	}, "revoked")
}

// TokenRestore restores a revoked, unexpired token of an active user.
func (h *Handler) TokenRestore(c *fiber.Ctx) error {
	return h.tokenAction(c, func(a models.Actor, id int64) (*models.Token, error) {
		return h.Store.RestoreToken(c.UserContext(), a, id)
	}, "restored")
}

// TokenDelete deletes a revoked or expired token for good.
func (h *Handler) TokenDelete(c *fiber.Ctx) error {
	return h.tokenAction(c, func(a models.Actor, id int64) (*models.Token, error) {
		return h.Store.DeleteToken(c.UserContext(), a, id)
	}, "deleted")
}

// TokensRevokeAll revokes every active token of a service user, the step
// the deactivation page offers before retrying.
func (h *Handler) TokensRevokeAll(c *fiber.Ctx) error {
	u, err := h.loadUser(c)
	if err != nil {
		return err
	}
	n, err := h.Store.RevokeAllTokens(c.UserContext(), h.actor(c), u.ID)
	if err != nil {
		return err
	}
	h.Sessions.AddFlash(c, "success", "Revoked "+strconv.FormatInt(n, 10)+" "+plural(n, "token", "tokens")+" of "+u.Name+".")
	if u.Status == models.StatusActive {
		return c.Redirect(userPath(u.ID)+"/deactivate", fiber.StatusSeeOther)
	}
	return c.Redirect(userPath(u.ID), fiber.StatusSeeOther)
}

// tokenRows builds the tokens table of a user page.
func (h *Handler) tokenRows(c *fiber.Ctx, userID int64) ([]views.TokenRow, error) {
	list, err := h.Store.TokenRowsOf(c.UserContext(), userID)
	if err != nil {
		return nil, err
	}
	rows := inventoryRows(list, h.Store.Now())
	if err := h.withInactivity(c, list, rows); err != nil {
		return nil, err
	}
	return rows, nil
}

func createdByIDs(list []models.Token) []int64 {
	var ids []int64
	for _, t := range list {
		if t.CreatedBy != nil {
			ids = append(ids, *t.CreatedBy)
		}
	}
	return ids
}

// TokenRotate issues a replacement for an active token from the console and
// sends the browser to its reveal page; the old token keeps working for the
// chosen overlap.
func (h *Handler) TokenRotate(c *fiber.Ctx) error {
	old, err := h.loadToken(c)
	if err != nil {
		return err
	}
	overlap, ok := models.Overlaps[BodyValue(c, "overlap")]
	if !ok {
		overlap = models.Overlaps["24h"]
	}
	k, err := h.revealKey(c)
	if err != nil {
		return err
	}
	_, reveal, err := h.Store.RotateTokenForReveal(c.UserContext(), h.actor(c), old.ID, overlap, k)
	if msg := models.RuleMessage(err); msg != "" {
		h.Sessions.AddFlash(c, "error", msg)
		return c.Redirect(userPath(old.UserID), fiber.StatusSeeOther)
	}
	if err != nil {
		return err
	}
	return c.Redirect(revealPath(reveal), fiber.StatusSeeOther)
}
