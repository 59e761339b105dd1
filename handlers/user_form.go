package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

// userFormData fills the pickers of the create/edit form around what the
// admin chose.
func (h *Handler) userFormData(c *fiber.Ctx, d views.UserFormData, selected []int64) (views.UserFormData, error) {
	ctx := c.UserContext()
	teams, err := h.Store.AllTeams(ctx)
	if err != nil {
		return d, err
	}
	picked := map[int64]bool{}
	for _, id := range selected {
		picked[id] = true
	}
	d.Teams = nil
	for _, t := range teams {
		d.Teams = append(d.Teams, views.TeamOption{ID: t.ID, Name: t.Name, Selected: picked[t.ID], Builtin: t.Builtin})
	}
	if d.Kind == string(models.KindService) {
		people, err := h.Store.OwnerChoices(ctx)
		if err != nil {
			return d, err
		}
		d.People = nil
		for _, o := range people {
			d.People = append(d.People, views.OwnerOption{ID: o.ID, Label: o.Name + " (" + o.Email + ")"})
		}
	}
	return d, nil
}

func (h *Handler) renderUserForm(c *fiber.Ctx, status int, title string, d views.UserFormData, selected []int64) error {
	d, err := h.userFormData(c, d, selected)
	if err != nil {
		return err
	}
	p, err := h.page(c, title, "users")
	if err != nil {
		return err
	}
	return render(c, status, views.UserForm(p, d))
}

func newUserTitle(kind string) string {
	if kind == string(models.KindHuman) {
		return "New person"
	}
	return "New service user"
}

// UserNew renders the create form; ?kind=service (default) or human.
func (h *Handler) UserNew(c *fiber.Ctx) error {
	kind := c.Query("kind")
	if kind != string(models.KindHuman) {
		kind = string(models.KindService)
	}
	// Least privilege first: Member is preselected.
	d := views.UserFormData{Kind: kind, Role: string(models.RoleMember)}
	return h.renderUserForm(c, fiber.StatusOK, newUserTitle(kind), d, nil)
}

// UserIDPreview answers the htmx request of the name field with the
// user_id the name would get, computed by the same function the store uses.
func (h *Handler) UserIDPreview(c *fiber.Ctx) error {
	name, _ := models.CleanName(c.Query("name"))
	return render(c, fiber.StatusOK, views.UserIDPreview(models.DeriveUserID(name)))
}

// UserCreate creates a service user or a person. A person's one-time
// set-password link is shown in this response only: never in a redirect,
// flash or URL.
func (h *Handler) UserCreate(c *fiber.Ctx) error {
	ctx := c.UserContext()
	kind := BodyValue(c, "kind")
	teamIDs := formTeamIDs(c)
	d := views.UserFormData{
		Kind: kind, Name: BodyValue(c, "name"), Email: BodyValue(c, "email"), Role: BodyValue(c, "role"),
		Description: BodyValue(c, "description"), Owner: BodyValue(c, "owner"), NotifyEmails: BodyValue(c, "notify_emails"),
	}
	switch kind {
	case string(models.KindService):
		owner, ok := models.ParseOwner(d.Owner)
		if !ok {
			d.Errors = map[string]string{"owner": "Choose an owner from the list."}
			return h.renderUserForm(c, fiber.StatusUnprocessableEntity, newUserTitle(kind), d, teamIDs)
		}
		// A name that could pass for another account is created only once
		// the admin has confirmed that very name.
		if BodyValue(c, "lookalike_ok") != d.Name {
			warnings, err := h.Store.Lookalikes(ctx, d.Name)
			if err != nil {
				return err
			}
			if len(warnings) > 0 {
				d.Lookalikes = warnings
				name, _ := models.CleanName(d.Name)
				d.UserIDPrev = models.DeriveUserID(name)
				return h.renderUserForm(c, fiber.StatusConflict, newUserTitle(kind), d, teamIDs)
			}
		}
		u, err := h.Store.CreateServiceUser(ctx, h.actor(c), models.NewServiceUser{
			Name: d.Name, Role: formRole(c), TeamIDs: teamIDs, Description: d.Description, Owner: owner,
			NotifyEmails: models.SplitNotifyEmails(d.NotifyEmails),
		})
		if fields := models.FieldErrors(err); fields != nil {
			d.Errors = fields
			name, _ := models.CleanName(d.Name)
			d.UserIDPrev = models.DeriveUserID(name)
			return h.renderUserForm(c, fiber.StatusUnprocessableEntity, newUserTitle(kind), d, teamIDs)
		}
		if err != nil {
			return err
		}
		h.Sessions.AddFlash(c, "success", "Service user "+u.Name+" created as "+u.Handle()+".")
		if BodyValue(c, "then") == "token" {
			// "Create and generate token": the second step is the token form.
			return c.Redirect(userPath(u.ID)+"/tokens/new", fiber.StatusSeeOther)
		}
		return c.Redirect(userPath(u.ID), fiber.StatusSeeOther)
	case string(models.KindHuman):
		u, token, err := h.Store.CreateHumanUser(ctx, h.actor(c), models.NewHumanUser{
			Name: d.Name, Email: d.Email, Role: formRole(c), TeamIDs: teamIDs,
		})
		if fields := models.FieldErrors(err); fields != nil {
			d.Errors = fields
			return h.renderUserForm(c, fiber.StatusUnprocessableEntity, newUserTitle(kind), d, teamIDs)
		}
		if err != nil {
			return err
		}
		p, err := h.page(c, u.Name, "users")
		if err != nil {
			return err
		}
		p.Flashes = append(p.Flashes, views.Flash{Kind: "success", Message: u.Name + " can now set a password with the link below."})
		show, err := h.userShowData(c, u.ID)
		if err != nil {
			return err
		}
		show.OneTimeLink = h.absoluteURL(c, "/set-password/"+token)
		show.PendingLink = true
		c.Set(fiber.HeaderCacheControl, "no-store")
		return render(c, fiber.StatusCreated, views.UserShow(p, show))
	}
	return fiber.NewError(fiber.StatusBadRequest, "Choose whether to create a service user or a person.")
}
