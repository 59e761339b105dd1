package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
)

// errProblemSent tells a handler that decodeJSON already answered.
var errProblemSent = errors.New("handlers: problem sent")

// decodeJSON reads a JSON object into dst. Only application/json is
// accepted (415 otherwise), unknown fields are refused (no mass assignment)
// and so is trailing data or anything but an object (a null body would
// decode as {}); each problem is answered here and errProblemSent returned.
func decodeJSON(c *fiber.Ctx, dst any) error {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		_ = problem(c, Problem{Type: problemBase + "unsupported-media-type", Title: "Unsupported Media Type", Status: fiber.StatusUnsupportedMediaType,
			Detail: "Send the body as application/json."})
		return errProblemSent
	}
	if body := bytes.TrimLeft(c.Body(), " \t\r\n"); len(body) > 0 && body[0] != '{' {
		_ = problem(c, Problem{Type: problemBase + "malformed-body", Title: "Bad Request", Status: fiber.StatusBadRequest,
			Detail: "Send the body as one JSON object ({…})."})
		return errProblemSent
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		p := Problem{Type: problemBase + "malformed-body", Title: "Bad Request", Status: fiber.StatusBadRequest,
			Detail: "The body is not valid JSON for this endpoint."}
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			p.Detail = fmt.Sprintf("The body is not valid JSON (at byte %d).", se.Offset)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			p.Detail = "Unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ") + "; only the documented fields are accepted."
		case errors.Is(err, io.EOF):
			p.Detail = "The body is empty."
		default:
			if field, want, ok := jsonTypeError(err, c.Body(), dst); ok {
				p.Detail = fmt.Sprintf("%s must be %s.", field, want)
				p.Errors = map[string]string{field: fmt.Sprintf("Must be %s.", want)}
			}
		}
		_ = problem(c, p)
		return errProblemSent
	}
	if dec.More() {
		_ = problem(c, Problem{Type: problemBase + "malformed-body", Title: "Bad Request", Status: fiber.StatusBadRequest, Detail: "Send one JSON object, nothing after it."})
		return errProblemSent
	}
	return nil
}

// storeProblem answers a store error as problem+json: validation 422 (409
// for a clash with existing data), rule refusals 400 (with the count when
// there is one), unknown records 404. Other errors go to the error handler.
func storeProblem(c *fiber.Ctx, err error) error {
	var ve *models.ValidationError
	var re *models.RuleError
	switch {
	case errors.As(err, &ve):
		p := Problem{Type: ProblemValidation, Title: "Unprocessable Entity", Status: fiber.StatusUnprocessableEntity,
			Detail: "Some fields are not valid; see errors.", Errors: ve.Fields}
		if ve.Conflict {
			p.Type, p.Title, p.Status, p.Detail = ProblemConflict, "Conflict", fiber.StatusConflict, "The value clashes with existing data; see errors."
		}
		return problem(c, p)
	case errors.As(err, &re):
		p := Problem{Type: ProblemRule + "/" + re.Code, Title: "Refused by a rule", Status: fiber.StatusBadRequest, Detail: re.Message}
		if re.Count > 0 {
			n := re.Count
			p.Count = &n
		}
		return problem(c, p)
	case errors.Is(err, models.ErrNotFound):
		return problem(c, Problem{Type: ProblemNotFound, Title: "Not Found", Status: fiber.StatusNotFound, Detail: "No such record."})
	}
	return err
}

// queryProblem answers invalid list parameters with 400 and one message per
// parameter. Unlike a console page, which drops them with a notice, the API
// refuses the request: a script must not act on a list it did not ask for.
func queryProblem(c *fiber.Ctx, problems map[string]string) error {
	return problem(c, Problem{Type: problemBase + "invalid-parameters", Title: "Bad Request", Status: fiber.StatusBadRequest,
		Detail: "Some query parameters are not valid, so the request was refused; see errors.", Errors: problems})
}

// apiID parses a numeric path parameter, answering 404 otherwise.
func apiID(c *fiber.Ctx, name string) (int64, error) {
	id, err := paramID(c, name)
	if err != nil {
		_ = problem(c, Problem{Type: ProblemNotFound, Title: "Not Found", Status: fiber.StatusNotFound, Detail: "No such record."})
		return 0, errProblemSent
	}
	return id, nil
}

// sent turns errProblemSent into "done".
func sent(err error) error {
	if errors.Is(err, errProblemSent) {
		return nil
	}
	return err
}
