package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

// UsersList renders the Users list. Invalid parameters are dropped with a
// notice, never an error. An htmx request gets the same page; htmx selects
// the results region from it, so there is one rendering path.
func (h *Handler) UsersList(c *fiber.Ctx) error {
	ctx := c.UserContext()
	q, problems := models.ParseUserQuery(queryValues(c))
	page, err := h.Store.ListUsers(ctx, q)
	if err != nil {
		return err
	}
	// A page past the end (after a filter shrank the list) shows the last one.
	if n := page.Pages(); q.Page > n {
		q.Page = n
		if page, err = h.Store.ListUsers(ctx, q); err != nil {
			return err
		}
	}
	teams, err := h.Store.AllTeams(ctx)
	if err != nil {
		return err
	}
	o, err := h.Store.Overview(ctx)
	if err != nil {
		return err
	}
	to, err := h.Store.TokenOverview(ctx)
	if err != nil {
		return err
	}
	p, err := h.page(c, "Users", "users")
	if err != nil {
		return err
	}
	d := views.UsersData{
		Now: h.Store.Now(), Q: q.Q, Role: string(q.Role), Kind: string(q.Kind), Status: q.Status, Health: q.Health,
		Filters: q.ActiveFilters(), CSRFToken: p.CSRFToken,
		Summary: views.HomeData{ActiveAdmins: o.ActiveAdmins, ActiveHumans: o.ActiveHumans, ActiveServices: o.ActiveServices, Teams: o.Teams},
		Tokens: views.TokensSummary{Active: to.Active, Expiring7: to.Expiring7, Expiring30: to.Expiring30,
			NeverUsed: to.NeverUsed, Idle: to.Idle, NoExpiry: to.NoExpiry,
			Notified7: to.Notified7, NotificationsOn: to.NotificationsConfigured, InactiveSoon: to.InactiveSoon},
		List: views.ListState{
			Path: "/users", Values: q.Values(), Sort: q.Sort, Desc: q.Desc, Page: q.Page, PerPage: q.PerPage,
			Total: page.Total, DefaultSort: models.SortName,
		},
	}
	selected := map[int64]bool{}
	for _, id := range q.TeamIDs {
		selected[id] = true
	}
	for _, t := range teams {
		d.Teams = append(d.Teams, views.TeamOption{ID: t.ID, Name: t.Name, Selected: selected[t.ID], Builtin: t.Builtin})
	}
	d.Notices = problems.Notices()
	for _, r := range page.Rows {
		row := views.UserListRow{
			ID: r.ID, Name: r.Name, Handle: r.Handle(), Kind: string(r.Kind), Role: string(r.Role),
			Status: string(r.Status), LastActive: r.LastActiveAt, CreatedAt: r.CreatedAt,
			Tokens: r.Tokens.Active, NextExpiry: r.Tokens.Next, SignIn: r.SignInMethod(),
		}
		for _, t := range r.Teams {
			// Everyone is in Public: a chip on every row would say nothing.
			// The user's page and the team filter still show it.
			if !t.Builtin {
				row.Teams = append(row.Teams, views.TeamChip{ID: t.ID, Name: t.Name})
			}
		}
		d.Rows = append(d.Rows, row)
	}
	// htmx swaps the results region only: the banner is for a full page.
	if c.Get("HX-Request") != "true" {
		if d.DisabledWebhooks, err = h.webhookBanner(ctx); err != nil {
			return err
		}
	}
	if c.Get("HX-Request") == "true" {
		// Responses differ by this header; keep caches from mixing them up.
		c.Vary("HX-Request")
		// Push the canonical URL (defaults and empty fields left out), so
		// one view has one address whether it came from a form or a link.
		c.Set("HX-Push-Url", d.List.PageURL(q.Page))
	}
	return render(c, fiber.StatusOK, views.Users(p, d))
}
