package handlers

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
)

// APIEvent is an audit event in the API.
type APIEvent struct {
	ID          int64           `json:"id"`
	OccurredAt  time.Time       `json:"occurred_at"`
	ActorKind   string          `json:"actor_kind"`
	ActorID     *int64          `json:"actor_id"`
	ActorLabel  string          `json:"actor_label"`
	TokenID     *int64          `json:"token_id"`
	Action      string          `json:"action"`
	Outcome     string          `json:"outcome"`
	Reason      string          `json:"reason"`
	TargetKind  string          `json:"target_kind"`
	TargetID    *int64          `json:"target_id"`
	TargetLabel string          `json:"target_label"`
	Changes     json.RawMessage `json:"changes"`
	IP          string          `json:"ip"`
	UserAgent   string          `json:"user_agent"`
	RequestID   string          `json:"request_id"`
}

// APIEventPage is the audit list: keyset paged with an opaque cursor.
type APIEventPage struct {
	Items      []APIEvent `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

// apiEvent is an event's API shape, shared by the API and the NDJSON export.
func apiEvent(e *models.Event) APIEvent {
	ev := APIEvent{ID: e.ID, OccurredAt: e.OccurredAt.UTC(), ActorKind: string(e.ActorKind), ActorID: e.ActorID, ActorLabel: e.ActorLabel,
		TokenID: e.TokenID, Action: e.Action, Outcome: e.Outcome, Reason: e.Reason, TargetKind: e.TargetKind, TargetID: e.TargetID,
		TargetLabel: e.TargetLabel, IP: e.IP, UserAgent: e.UserAgent, RequestID: e.RequestID, Changes: json.RawMessage("null")}
	if e.Changes != "" {
		ev.Changes = json.RawMessage(e.Changes)
	}
	return ev
}

// APIAudit answers GET /audit with the audit page's filters; cursor is the
// next_cursor of the previous answer.
func (h *Handler) APIAudit(c *fiber.Ctx) error {
	v := queryValues(c)
	// The API pages forward only, with an opaque cursor; the page's own
	// before/after parameters are not part of it.
	cursor := v.Get("cursor")
	v.Del("cursor")
	v.Del("before")
	v.Del("after")
	q, problems := models.ParseAuditQuery(v, h.Store.Now())
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n <= 0 {
			problems["cursor"] = models.QueryProblem{Reason: "The cursor is not the next_cursor of a previous answer"}
		}
		q.Before = n
	}
	if len(problems) > 0 {
		return queryProblem(c, problems.Refusals())
	}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return queryProblem(c, map[string]string{"limit": "Use a number from 1 to 500; the request was refused."})
		}
		q.Limit = n
	}
	page, err := h.Store.ListAudit(c.UserContext(), q)
	if err != nil {
		return err
	}
	out := APIEventPage{Items: make([]APIEvent, len(page.Events))}
	for i := range page.Events {
		out.Items[i] = apiEvent(&page.Events[i])
	}
	if page.NextBefore != 0 {
		cur := strconv.FormatInt(page.NextBefore, 10)
		out.NextCursor = &cur
	}
	return c.JSON(out)
}
