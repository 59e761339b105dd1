package handlers

import (
	"encoding/json"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/web/request"
	"github.com/warden-console/warden/web/scanning"
)

// maxScanReportBytes bounds a report's body; a larger one is 413.
const maxScanReportBytes = 1 << 20

// SecretScanningReport takes a secret-scanning partner's findings (a JSON
// array of {token, type, url, source}), signed with one of the keys of
// --secret-scanning-keys, revokes each active Warden token named, and answers
// a label per finding. Without keys the endpoint does not exist (404).
func (h *Handler) SecretScanningReport(c *fiber.Ctx) error {
	if len(h.ScanKeys) == 0 {
		return h.APINotFound(c)
	}
	body := c.Body()
	if len(body) > maxScanReportBytes {
		return problem(c, Problem{Type: problemBase + "too-large", Title: "Request Entity Too Large", Status: fiber.StatusRequestEntityTooLarge,
			Detail: fmt.Sprintf("A report is at most %d bytes.", maxScanReportBytes)})
	}
	if err := h.ScanKeys.Verify(c.Get(scanning.HeaderKeyIdentifier), c.Get(scanning.HeaderSignature), body); err != nil {
		h.Log.Info("secret-scanning report refused", "request_id", request.ID(c), "key", c.Get(scanning.HeaderKeyIdentifier), "ip", request.ClientIP(c))
		return problem(c, Problem{Type: ProblemUnauthorized, Title: "Unauthorized", Status: fiber.StatusUnauthorized,
			Detail: "The report's signature does not verify with a configured key."})
	}
	var reports []models.LeakReport
	if err := json.Unmarshal(body, &reports); err != nil {
		return problem(c, Problem{Type: ProblemValidation, Title: "Unprocessable Entity", Status: fiber.StatusUnprocessableEntity,
			Detail: "The body must be a JSON array of findings.", Errors: map[string]string{"body": "a JSON array of {token, type, url, source} objects"}})
	}
	if len(reports) > models.MaxLeakReports {
		return problem(c, Problem{Type: ProblemValidation, Title: "Unprocessable Entity", Status: fiber.StatusUnprocessableEntity,
			Detail: fmt.Sprintf("A report holds at most %d findings.", models.MaxLeakReports), Errors: map[string]string{"body": fmt.Sprintf("%d findings; at most %d", len(reports), models.MaxLeakReports)}})
	}
	verdicts, err := h.Store.ReportLeakedTokens(c.UserContext(), reports)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(verdicts)
}
