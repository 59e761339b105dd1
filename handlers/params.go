package handlers

import (
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/web/request"
)

// paramID parses a numeric path parameter; anything else is a 404, so no
// unparsed text ever reaches a query.
func paramID(c *fiber.Ctx, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, fiber.ErrNotFound
	}
	return id, nil
}

// queryValues returns the request's query string as url.Values.
func queryValues(c *fiber.Ctx) url.Values {
	v, _ := url.ParseQuery(string(c.Request().URI().QueryString()))
	return v
}

// formTeamIDs reads the repeated "team" form field. Values that are not
// numbers are dropped: the checkboxes only ever send ids.
func formTeamIDs(c *fiber.Ctx) []int64 { return formIDs(c, "team") }

// formIDs reads a repeated id field of the body; anything but a positive
// number is dropped.
func formIDs(c *fiber.Ctx, key string) []int64 {
	var ids []int64
	for _, raw := range c.Request().PostArgs().PeekMulti(key) {
		if id, err := strconv.ParseInt(string(raw), 10, 64); err == nil && id > 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// formRole reads the role radio group; an empty or unknown value stays
// invalid so the store reports it.
func formRole(c *fiber.Ctx) models.Role { return models.Role(BodyValue(c, "role")) }

// actorID is the signed-in administrator's id.
func actorID(c *fiber.Ctx) int64 {
	if u := currentUser(c); u != nil {
		return u.ID
	}
	return 0
}

// actor describes the signed-in administrator and the request for the
// store, which turns it into the audit event's actor fields.
func (h *Handler) actor(c *fiber.Ctx) models.Actor {
	a := models.Actor{Kind: models.ActorAnonymous}
	if u := currentUser(c); u != nil {
		a = models.AsUser(u)
	}
	if auth := request.TokenAuth(c); auth != nil {
		a = models.AsUser(auth.User)
		a.TokenID = auth.Token.ID
	}
	a.IP, a.UserAgent, a.RequestID = request.ClientIP(c), c.Get(fiber.HeaderUserAgent), request.ID(c)
	return a
}
