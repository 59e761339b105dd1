package handlers

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
)

// APITokenPage is a page of the token inventory.
type APITokenPage struct {
	Items      []APIToken `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

// apiInventoryToken is the API shape of an inventory row.
func (h *Handler) apiInventoryToken(r *models.TokenRow) APIToken {
	u := models.User{ID: r.UserID, Name: r.OwnerName, Role: r.OwnerRole}
	out := h.apiToken(&r.Token, &u, map[int64]string{})
	out.User.UserID = &r.OwnerHandle
	out.User.Role = string(r.OwnerRole)
	if r.CreatedBy != nil {
		out.CreatedBy = &APIRef{ID: *r.CreatedBy, Name: r.CreatorName}
	}
	if r.ReplacesID != 0 {
		out.Replaces = &r.ReplacesID
	}
	return out
}

// APITokensInventory answers GET /tokens: every service token, filtered and
// sorted like the /tokens page, a page at a time by cursor.
func (h *Handler) APITokensInventory(c *fiber.Ctx) error {
	v := queryValues(c)
	q, problems := models.ParseTokenQuery(v)
	refusals := problems.Refusals()
	if v.Get("page") != "" {
		refusals["page"] = "This list pages by cursor: pass the next_cursor of the previous answer."
	}
	if len(refusals) > 0 {
		return queryProblem(c, refusals)
	}
	if s := v.Get("cursor"); s != "" {
		after, err := models.ParseTokenCursor(s, q)
		if err != nil {
			return queryProblem(c, models.FieldErrors(err))
		}
		q.After = after
	}
	page, err := h.Store.ListTokens(c.UserContext(), q)
	if err != nil {
		return err
	}
	out := APITokenPage{Items: make([]APIToken, len(page.Rows))}
	for i := range page.Rows {
		out.Items[i] = h.apiInventoryToken(&page.Rows[i])
	}
	if page.Next != nil {
		s := page.Next.String()
		out.NextCursor = &s
	}
	return c.JSON(out)
}

// APIBulkRevokeInput is the body of POST /tokens/revoke. Ids stay raw so
// that one id of another kind is answered, not the whole request refused.
type APIBulkRevokeInput struct {
	IDs []json.RawMessage `json:"ids"`
}

// APIBulkRevokeResult is one id's answer.
type APIBulkRevokeResult struct {
	ID      json.RawMessage `json:"id"`
	Outcome string          `json:"outcome"` // revoked, already_inactive, not_found, duplicate, invalid_id
}

// APIBulkRevokeAnswer answers a bulk revocation, per id and in total.
type APIBulkRevokeAnswer struct {
	Results         []APIBulkRevokeResult `json:"results"`
	Revoked         int                   `json:"revoked"`
	AlreadyInactive int                   `json:"already_inactive"`
	NotFound        int                   `json:"not_found"`
	Invalid         int                   `json:"invalid"`
}

// APITokensBulkRevoke answers POST /tokens/revoke: each token is revoked
// with its own audit event, the events sharing this request's id.
func (h *Handler) APITokensBulkRevoke(c *fiber.Ctx) error {
	var in APIBulkRevokeInput
	if err := decodeJSON(c, &in); err != nil {
		return sent(err)
	}
	if len(in.IDs) == 0 || len(in.IDs) > models.MaxAPIBulkRevoke {
		return problem(c, Problem{Type: ProblemValidation, Title: "Unprocessable Entity", Status: fiber.StatusUnprocessableEntity,
			Detail: "Some fields are not valid; see errors.",
			Errors: map[string]string{"ids": fmt.Sprintf("Give between 1 and %d token ids.", models.MaxAPIBulkRevoke)}})
	}
	out := APIBulkRevokeAnswer{Results: make([]APIBulkRevokeResult, len(in.IDs))}
	var ids []int64
	var at []int // the position in Results of each id in ids
	for i, raw := range in.IDs {
		out.Results[i].ID = raw
		id, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || id <= 0 {
			out.Results[i].Outcome = "invalid_id"
			out.Invalid++
			continue
		}
		ids, at = append(ids, id), append(at, i)
	}
	res, err := h.Store.RevokeTokens(c.UserContext(), h.actor(c), ids)
	if err != nil {
		return storeProblem(c, err)
	}
	for j, r := range res {
		out.Results[at[j]].Outcome = r.Outcome
	}
	sum := models.Summarize(res)
	out.Revoked, out.AlreadyInactive, out.NotFound = sum.Revoked, sum.Inactive, sum.NotFound
	return c.JSON(out)
}
