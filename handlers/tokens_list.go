package handlers

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

// TokensList renders the token inventory. Invalid parameters are dropped
// with a notice, as on the Users list; htmx selects the results region from
// the same page.
func (h *Handler) TokensList(c *fiber.Ctx) error {
	ctx := c.UserContext()
	q, problems := models.ParseTokenQuery(queryValues(c))
	page, err := h.Store.ListTokens(ctx, q)
	if err != nil {
		return err
	}
	if n := page.Pages(); q.Page > n && !page.Capped() {
		q.Page = n
		if page, err = h.Store.ListTokens(ctx, q); err != nil {
			return err
		}
	}
	teams, err := h.Store.AllTeams(ctx)
	if err != nil {
		return err
	}
	p, err := h.page(c, "Tokens", "tokens")
	if err != nil {
		return err
	}
	now := h.Store.Now()
	d := views.TokensData{
		Now: now, State: q.State, Q: q.Q, Role: string(q.Role), Health: q.Health,
		Filters: q.ActiveFilters(), CSRFToken: p.CSRFToken, Capped: page.Capped(), MaxSelect: models.MaxBulkRevoke,
		List: views.ListState{
			Path: "/tokens", Values: q.Values(), Sort: q.Sort, Desc: q.Desc, Page: q.Page, PerPage: q.PerPage,
			Total: page.Total, DefaultSort: models.TokenSortExpires,
		},
		Notices: problems.Notices(),
	}
	if q.TeamID != 0 {
		d.Team = strconv.FormatInt(q.TeamID, 10)
	}
	if q.ExpiresWithin != 0 {
		d.ExpiresWithin = strconv.Itoa(q.ExpiresWithin)
	}
	for _, t := range teams {
		d.Teams = append(d.Teams, views.TeamOption{ID: t.ID, Name: t.Name, Builtin: t.Builtin})
	}
	d.Rows = inventoryRows(page.Rows, now)
	if err := h.withInactivity(c, page.Rows, d.Rows); err != nil {
		return err
	}
	if c.Get("HX-Request") == "true" {
		c.Vary("HX-Request")
		c.Set("HX-Push-Url", d.List.PageURL(q.Page))
	}
	return render(c, fiber.StatusOK, views.Tokens(p, d))
}

// inventoryRows is the view of the store's token rows.
func inventoryRows(rows []models.TokenRow, now time.Time) []views.InventoryRow {
	out := make([]views.InventoryRow, len(rows))
	for i, r := range rows {
		v := views.InventoryRow{
			ID: r.ID, Name: r.Name, Hint: r.Hint, State: string(r.State(now)), OwnerID: r.UserID, OwnerName: r.OwnerName,
			OwnerHandle: r.OwnerHandle, OwnerRole: string(r.OwnerRole), ExpiresAt: r.ExpiresAt, LastUsedAt: r.LastUsedAt,
			CreatedAt: r.CreatedAt, CreatedBy: r.CreatorName, ReplacedName: r.ReplacedName,
			ReplacesID: r.ReplacesID, ReplacesName: r.ReplacesName, ReplacesUntil: r.ReplacesUntil,
			Scopes: r.ScopeList(), AllowedCIDRs: r.CIDRList(),
		}
		if r.Replaced(now) {
			v.State = "replaced"
		}
		if r.ReplacedBy != nil {
			v.ReplacedByID = *r.ReplacedBy
		}
		if r.LastUsedIP != nil {
			v.LastUsedIP = *r.LastUsedIP
		}
		if r.LastUsedUA != nil {
			v.LastUsedUA = *r.LastUsedUA
		}
		out[i] = v
	}
	return out
}

// withInactivity adds to each working token's row when the inactivity
// auto-revoke will revoke it; nothing while the setting is off.
func (h *Handler) withInactivity(c *fiber.Ctx, rows []models.TokenRow, out []views.InventoryRow) error {
	toks := make([]*models.Token, len(rows))
	for i := range rows {
		toks[i] = &rows[i].Token
	}
	at, err := h.Store.InactivityRevocations(c.UserContext(), toks)
	if err != nil {
		return err
	}
	for i := range out {
		if t, ok := at[out[i].ID]; ok {
			out[i].InactiveRevokeAt = &t
		}
	}
	return nil
}

// TokensBulkRevoke is the bulk revocation: a first POST (scope "selected"
// or "matching") shows the confirmation, the confirmed POST revokes and
// returns to the list with what it did.
func (h *Handler) TokensBulkRevoke(c *fiber.Ctx) error {
	ctx := c.UserContext()
	// The list's filter rides along as f_* fields, for "all matching" and
	// for the way back.
	filter := url.Values{}
	var carried []views.BulkField
	c.Request().PostArgs().VisitAll(func(k, v []byte) {
		if name, ok := strings.CutPrefix(string(k), "f_"); ok {
			filter.Add(name, string(v))
			carried = append(carried, views.BulkField{Name: string(k), Value: string(v)})
		}
	})
	q, _ := models.ParseTokenQuery(filter)
	q.Page = 1
	back := "/tokens"
	if enc := q.Values().Encode(); enc != "" {
		back += "?" + enc
	}
	ids := formIDs(c, "ids")
	capped := false
	switch BodyValue(c, "scope") {
	case "confirmed":
		if BodyValue(c, "confirm") != "yes" || len(ids) == 0 {
			return c.Redirect(back, fiber.StatusSeeOther)
		}
		res, err := h.Store.RevokeTokens(ctx, h.actor(c), ids)
		if msg := models.FieldErrors(err)["ids"]; msg != "" {
			h.Sessions.AddFlash(c, "error", msg)
			return c.Redirect(back, fiber.StatusSeeOther)
		}
		if err != nil {
			return err
		}
		h.Sessions.AddFlash(c, "success", bulkMessage(models.Summarize(res)))
		return c.Redirect(back, fiber.StatusSeeOther)
	case "matching":
		var err error
		if ids, err = h.Store.MatchingTokenIDs(ctx, q, models.MaxBulkRevoke+1); err != nil {
			return err
		}
		if len(ids) > models.MaxBulkRevoke {
			ids, capped = ids[:models.MaxBulkRevoke], true
		}
	case "selected":
	default:
		return c.Redirect(back, fiber.StatusSeeOther)
	}
	if len(ids) == 0 {
		h.Sessions.AddFlash(c, "error", "Select at least one token to revoke.")
		return c.Redirect(back, fiber.StatusSeeOther)
	}
	if len(ids) > models.MaxBulkRevoke {
		h.Sessions.AddFlash(c, "error", fmt.Sprintf("Select at most %d tokens at once.", models.MaxBulkRevoke))
		return c.Redirect(back, fiber.StatusSeeOther)
	}
	rows, err := h.Store.TokensByIDs(ctx, ids)
	if err != nil {
		return err
	}
	now := h.Store.Now()
	d := views.BulkRevokeData{Back: back, Filter: carried, Capped: capped, CSRFToken: "", IDs: ids}
	owners := map[int64]bool{}
	var active []models.TokenRow
	for _, r := range rows {
		if r.State(now) == models.TokenActive {
			active = append(active, r)
			owners[r.UserID] = true
		} else {
			d.Skipped++
		}
	}
	d.Tokens, d.Users = len(active), len(owners)
	if d.Tokens == 0 {
		h.Sessions.AddFlash(c, "info", "The selected tokens are already revoked or expired: nothing to revoke.")
		return c.Redirect(back, fiber.StatusSeeOther)
	}
	d.First = inventoryRows(active[:min(10, len(active))], now)
	p, err := h.page(c, "Revoke tokens", "tokens")
	if err != nil {
		return err
	}
	d.CSRFToken = p.CSRFToken
	return render(c, fiber.StatusOK, views.BulkRevokeConfirm(p, d))
}

// bulkMessage says what a bulk revocation did, in words.
func bulkMessage(s models.BulkSummary) string {
	msg := fmt.Sprintf("Revoked %d %s", s.Revoked, plural(int64(s.Revoked), "token", "tokens"))
	if s.Inactive > 0 {
		msg += fmt.Sprintf("; %d %s already inactive", s.Inactive, plural(int64(s.Inactive), "was", "were"))
	}
	if s.NotFound > 0 {
		msg += fmt.Sprintf("; %d no longer %s", s.NotFound, plural(int64(s.NotFound), "exists", "exist"))
	}
	return msg + "."
}
