package handlers

import (
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
)

// APITokenPatchInput is the body of PATCH /tokens/{id}: the allowlist, and
// only that. null or [] is any address.
type APITokenPatchInput struct {
	AllowedCIDRs *[]string `json:"allowed_cidrs"`
}

// APITokenPatch changes a token's allowlist.
func (h *Handler) APITokenPatch(c *fiber.Ctx) error {
	id, err := apiID(c, "id")
	if err != nil {
		return sent(err)
	}
	// The keys first: null is a value here (any address), absent is not.
	var raw map[string]json.RawMessage
	if err := decodeJSON(c, &raw); err != nil {
		return sent(err)
	}
	if _, ok := raw["allowed_cidrs"]; !ok || len(raw) != 1 {
		return problem(c, Problem{Type: ProblemValidation, Title: "Unprocessable Entity", Status: fiber.StatusUnprocessableEntity,
			Detail: "Send allowed_cidrs, and only that: it is the one field a token's PATCH changes.",
			Errors: map[string]string{"allowed_cidrs": "Required: a list of ranges such as 203.0.113.0/24, or [] for any address."}})
	}
	var typed APITokenPatchInput
	if err := decodeJSON(c, &typed); err != nil {
		return sent(err)
	}
	var cidrs []string
	if typed.AllowedCIDRs != nil {
		cidrs = *typed.AllowedCIDRs
	}
	tok, err := h.Store.SetTokenAllowlist(c.UserContext(), h.actor(c), id, cidrs)
	if err != nil {
		return storeProblem(c, err)
	}
	out, err := h.apiTokenOf(c, tok)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// APIIPSuggestions is the answer of GET /tokens/{id}/ip-suggestions.
type APIIPSuggestions struct {
	TokenID  int64                    `json:"token_id"`
	Current  []string                 `json:"current"`  // the allowlist now; [] is any address
	Proposed []string                 `json:"proposed"` // what PATCH would take
	Ranges   []models.SuggestedRange  `json:"ranges"`
	Observed []models.ObservedAddress `json:"observed"`
	Since    time.Time                `json:"since"`
}

// APITokenIPSuggestions proposes an allowlist from the addresses the token
// was used from in the last 30 days.
func (h *Handler) APITokenIPSuggestions(c *fiber.Ctx) error {
	id, err := apiID(c, "id")
	if err != nil {
		return sent(err)
	}
	ctx := c.UserContext()
	tok, err := h.Store.TokenByID(ctx, id)
	if err != nil {
		return storeProblem(c, err)
	}
	g, err := h.Store.SuggestAllowlist(ctx, id)
	if err != nil {
		return storeProblem(c, err)
	}
	out := APIIPSuggestions{TokenID: id, Current: tok.CIDRList(), Proposed: g.CIDRs(), Ranges: g.Ranges, Observed: g.Observed, Since: g.Since.UTC()}
	if out.Current == nil {
		out.Current = []string{}
	}
	if out.Ranges == nil {
		out.Ranges = []models.SuggestedRange{}
	}
	if out.Observed == nil {
		out.Observed = []models.ObservedAddress{}
	}
	for i := range out.Observed {
		o := &out.Observed[i]
		o.FirstSeen, o.LastSeen = o.FirstSeen.UTC(), o.LastSeen.UTC()
	}
	return c.JSON(out)
}
