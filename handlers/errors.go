package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/views"
	"github.com/warden-console/warden/web/request"
)

// ErrCSRF is returned by the CSRF check; it renders as a 403 that explains
// what to do.
var ErrCSRF = fiber.NewError(fiber.StatusForbidden, "This form has expired or was sent from another site. Go back, reload the page and try again.")

// Error is Fiber's error handler: every error becomes a friendly page (or
// problem+json under /api/) with the request id. Internal errors are logged
// in full and shown to nobody.
func (h *Handler) Error(c *fiber.Ctx, err error) error {
	status := fiber.StatusInternalServerError
	title := "Something went wrong"
	message := "Warden could not complete the request. It has been logged; if it keeps happening, quote the request id below."
	var fe *fiber.Error
	if errors.As(err, &fe) {
		status = fe.Code
		title = http.StatusText(status)
		switch status {
		case fiber.StatusNotFound:
			title, message = "Page not found", "There is nothing at this address. Check the link, or start again from the overview."
		case fiber.StatusMethodNotAllowed:
			message = "This address does not accept that kind of request."
		case fiber.StatusRequestEntityTooLarge:
			message = "The request was larger than Warden accepts."
		default:
			if status < 500 {
				message = fe.Message
			}
		}
	}
	rid := request.ID(c)
	if status >= 500 {
		// The route pattern, not the path: paths can carry one-time tokens.
		h.Log.Error("request failed", "request_id", rid, "method", c.Method(), "route", c.Route().Path, "err", err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	if strings.HasPrefix(c.Path(), "/api/") {
		typ := ProblemInternal
		switch status {
		case fiber.StatusNotFound:
			typ = ProblemNotFound
		case fiber.StatusUnauthorized:
			typ = ProblemUnauthorized
		case fiber.StatusForbidden:
			typ = ProblemForbidden
		default:
			if status < 500 {
				typ = problemBase + strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "-")
			}
		}
		return problem(c, Problem{Type: typ, Title: title, Status: status, Detail: message})
	}
	p := views.Page{Title: title, CSRFToken: request.CSRFToken(c)}
	if u := request.User(c); u != nil {
		p.Admin = &views.Admin{Name: u.Name, Email: u.Handle()}
	}
	return render(c, status, views.Error(p, views.ErrorData{Status: status, Title: title, Message: message, RequestID: rid}))
}
