package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

// TokenAddressesShow shows a token's allowlist, the one proposed from the
// addresses it was used from, and those addresses.
func (h *Handler) TokenAddressesShow(c *fiber.Ctx) error {
	t, err := h.loadToken(c)
	if err != nil {
		return err
	}
	return h.renderTokenAddresses(c, fiber.StatusOK, t, strings.Join(t.CIDRList(), "\n"), "")
}

// TokenAddressesSave replaces a token's allowlist: with the proposal's
// ranges (the repeated field cidr) or with the list as typed
// (allowed_cidrs, one range a line). A refused list is shown again with
// the reason.
func (h *Handler) TokenAddressesSave(c *fiber.Ctx) error {
	t, err := h.loadToken(c)
	if err != nil {
		return err
	}
	var cidrs []string
	for _, raw := range c.Request().PostArgs().PeekMulti("cidr") {
		cidrs = append(cidrs, string(raw))
	}
	typed := BodyValue(c, "allowed_cidrs")
	if len(cidrs) == 0 {
		cidrs = strings.Fields(strings.ReplaceAll(typed, ",", " "))
	}
	saved, err := h.Store.SetTokenAllowlist(c.UserContext(), h.actor(c), t.ID, cidrs)
	if fields := models.FieldErrors(err); fields != nil {
		if typed == "" {
			typed = strings.Join(cidrs, "\n")
		}
		return h.renderTokenAddresses(c, fiber.StatusUnprocessableEntity, t, typed, fields["allowed_cidrs"])
	}
	if err != nil {
		return err
	}
	msg := "Token “" + t.Name + "” now works from any address."
	if n := len(saved.CIDRList()); n > 0 {
		msg = "Token “" + t.Name + "” now works only from " + views.CountNoun(n, "range", "ranges") + "."
	}
	h.Sessions.AddFlash(c, "success", msg)
	return c.Redirect(userPath(t.UserID)+"#token-"+itoa64(t.ID), fiber.StatusSeeOther)
}

func (h *Handler) renderTokenAddresses(c *fiber.Ctx, status int, t *models.Token, input, problem string) error {
	ctx := c.UserContext()
	u, err := h.Store.UserByID(ctx, t.UserID)
	if err != nil {
		return err
	}
	g, err := h.Store.SuggestAllowlist(ctx, t.ID)
	if err != nil {
		return err
	}
	d := views.TokenAddressesData{TokenID: t.ID, TokenName: t.Name, UserID: u.ID, UserName: u.Name,
		Current: t.CIDRList(), Input: input, Error: problem, Now: h.Store.Now()}
	for _, r := range g.Ranges {
		d.Proposal = append(d.Proposal, views.SuggestedRange{CIDR: r.CIDR, Addresses: r.Addresses, Uses: r.Uses})
	}
	for _, o := range g.Observed {
		d.Observed = append(d.Observed, views.ObservedAddress{IP: o.IP, Uses: o.Uses, LastSeen: o.LastSeen})
	}
	p, err := h.page(c, "Allowed addresses of "+t.Name, "users")
	if err != nil {
		return err
	}
	return render(c, status, views.TokenAddresses(p, d))
}
