package handlers

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

// auditRows is what the views need to word events: the store names their
// users and tokens first (see models.Store.NameEvents).
func (h *Handler) auditRows(ctx context.Context, events []models.Event) ([]views.AuditRow, error) {
	if err := h.Store.NameEvents(ctx, events); err != nil {
		return nil, err
	}
	rows := make([]views.AuditRow, len(events))
	for i := range events {
		rows[i] = auditRow(&events[i])
	}
	return rows, nil
}

func auditRow(e *models.Event) views.AuditRow {
	r := views.AuditRow{
		ID: e.ID, At: e.OccurredAt, ActorKind: string(e.ActorKind), ActorLabel: e.ActorLabel, Action: e.Action,
		Outcome: e.Outcome, Reason: e.Reason, TargetKind: e.TargetKind, TargetLabel: e.TargetLabel, TargetGone: e.TargetGone, IP: e.IP,
		ActorName: e.ActorName, TokenName: e.TokenName, TokenGone: e.TokenGone, OwnerName: e.OwnerName,
	}
	if e.ActorID != nil {
		r.ActorID = *e.ActorID
	}
	if e.TokenID != nil {
		r.TokenID = *e.TokenID
	}
	if e.TargetID != nil {
		r.TargetID = *e.TargetID
	}
	if e.OwnerID != nil {
		r.OwnerID = *e.OwnerID
	}
	if ch := e.ParsedChanges(); len(ch) > 0 {
		r.Changes = make(map[string]views.EventChange, len(ch))
		for f, c := range ch {
			r.Changes[f] = views.EventChange{Before: c.Before, After: c.After}
		}
	}
	return r
}

// AuditList renders the audit log: filters, cards, chart and one keyset page.
func (h *Handler) AuditList(c *fiber.Ctx) error {
	return h.renderAudit(c, nil)
}

func (h *Handler) renderAudit(c *fiber.Ctx, verify *views.VerifyView) error {
	ctx := c.UserContext()
	now := h.Store.Now()
	v, custom := auditValues(c)
	q, problems := models.ParseAuditQuery(v, now)
	page, err := h.Store.ListAudit(ctx, q)
	if err != nil {
		return err
	}
	sum, err := h.Store.SummarizeAudit(ctx, q)
	if err != nil {
		return err
	}
	base := q.Values()
	d := views.AuditData{
		Filters: base, Actor: q.Actor, Actions: models.AuditActions, Selected: map[string]bool{},
		TargetKind: q.TargetKind, Outcome: q.Outcome, Range: q.Range, Verify: verify, Now: now,
		Total: sum.Total, Admins: sum.ActiveAdmins, TopActor: sum.TopActor, TopActorN: sum.TopActorN,
		TopAction: sum.TopAction, TopActionN: sum.TopActionN,
		Chart: views.BuildChart(chartDays(sum.Days, q, now)),
	}
	if custom || (q.Range == "" && (!q.From.IsZero() || !q.To.IsZero())) {
		d.Range = "custom"
	}
	d.SummarySpan = summarySpan(q)
	if q.TargetID != 0 {
		d.TargetID = strconv.FormatInt(q.TargetID, 10)
	}
	if q.Range == "" && !q.From.IsZero() {
		d.From = q.From.Format("2006-01-02")
	}
	if q.Range == "" && !q.To.IsZero() {
		d.To = q.To.Add(-24 * time.Hour).Format("2006-01-02")
	}
	for _, a := range q.Actions {
		d.Selected[a] = true
	}
	d.Notices = problems.Notices()
	rows, err := h.auditRows(ctx, page.Events)
	if err != nil {
		return err
	}
	d.Days = views.GroupByDay(rows)
	link := func(key string, id int64) string {
		v := q.Values()
		v.Set(key, strconv.FormatInt(id, 10))
		return "/audit?" + v.Encode()
	}
	if page.NextBefore != 0 {
		d.NextURL = link("before", page.NextBefore)
	}
	if page.PrevAfter != 0 {
		d.PrevURL = link("after", page.PrevAfter)
	}
	if len(base) > 0 {
		d.ExportQuery = "?" + base.Encode()
	}
	p, err := h.page(c, "Audit log", "audit")
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.Audit(p, d))
}

// auditValues returns the console's audit filter. The period "custom"
// means "the From and To dates": it is the console's, not a range the
// store or the API knows, so it is taken out here; custom reports it.
func auditValues(c *fiber.Ctx) (url.Values, bool) {
	v := queryValues(c)
	custom := v.Get("range") == "custom"
	if custom {
		v.Del("range")
	}
	return v, custom
}

// summarySpan names the period the cards and chart cover.
func summarySpan(q models.AuditQuery) string {
	switch {
	case q.Range != "":
		return map[string]string{"24h": "in the last 24 hours", "7d": "in the last 7 days", "30d": "in the last 30 days",
			"90d": "in the last 90 days", "1y": "in the last year"}[q.Range]
	case !q.From.IsZero() || !q.To.IsZero():
		return "in the chosen dates"
	}
	return "in the last 30 days"
}

// chartDays fills the days without events with zeros, oldest first.
func chartDays(days []models.AuditDay, q models.AuditQuery, now time.Time) []views.DayCount {
	from, to := q.From, q.To
	if from.IsZero() && to.IsZero() {
		from = now.Add(-30 * 24 * time.Hour)
	}
	if to.IsZero() {
		to = now
	}
	if from.IsZero() && len(days) > 0 {
		from, _ = time.Parse("2006-01-02", days[0].Day)
	}
	start := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	end := time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, time.UTC)
	if end.Sub(start) > 400*24*time.Hour {
		start = end.Add(-400 * 24 * time.Hour)
	}
	byDay := map[string]models.AuditDay{}
	for _, d := range days {
		byDay[d.Day] = d
	}
	// A range that starts after today (from in the future, no to) has no days.
	out := make([]views.DayCount, 0, max(0, int(end.Sub(start)/(24*time.Hour))+1))
	var key [len("2006-01-02")]byte
	for t := start; !t.After(end); t = t.Add(24 * time.Hour) {
		d := byDay[string(t.AppendFormat(key[:0], "2006-01-02"))] // no string is made for the lookup
		out = append(out, views.DayCount{Day: t, Human: d.Human, Automated: d.Automated})
	}
	return out
}

// AuditShow renders one event with its before/after changes.
func (h *Handler) AuditShow(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	e, err := h.Store.EventByID(c.UserContext(), id)
	if errors.Is(err, models.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	rows, err := h.auditRows(c.UserContext(), []models.Event{*e})
	if err != nil {
		return err
	}
	d := views.AuditEventData{Row: rows[0], UserAgent: e.UserAgent, RequestID: e.RequestID, Hash: e.Hash, PrevHash: e.PrevHash, Now: h.Store.Now()}
	if e.OwnerID != nil && e.TargetKind != "user" { // a user target links itself
		owner, err := h.Store.UserByID(c.UserContext(), *e.OwnerID)
		switch {
		case err == nil:
			d.OwnerID, d.OwnerName = owner.ID, owner.Name+" ("+owner.Handle()+")"
		case !errors.Is(err, models.ErrNotFound):
			return err
		}
	}
	ch := e.ParsedChanges()
	fields := make([]string, 0, len(ch))
	for f := range ch {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		d.Changes = append(d.Changes, views.ChangeRow{Field: f, Before: showValue(ch[f].Before), After: showValue(ch[f].After)})
	}
	p, err := h.page(c, "Event "+strconv.FormatInt(id, 10), "audit")
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.AuditEvent(p, d))
}

// showValue renders a changed value: lists joined, nothing as "—".
func showValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		if x == "" {
			return "(empty)"
		}
		return x
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = fmt.Sprint(p)
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

// AuditVerify checks the hash chain and shows the result on the log page.
func (h *Handler) AuditVerify(c *fiber.Ctx) error {
	res, err := h.Store.VerifyAudit(c.UserContext())
	if err != nil {
		return err
	}
	return h.renderAudit(c, &views.VerifyView{OK: res.OK(), Checked: res.Checked, BrokenID: res.BrokenID, Problem: res.Problem})
}

// exportName is the download's file name, carrying the date range.
func exportName(q models.AuditQuery, now time.Time, ext string) string {
	from, to := "start", now.UTC().Format("2006-01-02")
	if !q.From.IsZero() {
		from = q.From.UTC().Format("2006-01-02")
	}
	if !q.To.IsZero() {
		to = q.To.Add(-24 * time.Hour).UTC().Format("2006-01-02")
	}
	return fmt.Sprintf("warden-audit-%s-to-%s.%s", from, to, ext)
}

// csvSafe neutralises spreadsheet formulas: a cell starting with =, +, -, @
// (or a tab or carriage return) gets a leading apostrophe, so opening the
// export in a spreadsheet shows text instead of running it.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

var csvHeader = []string{"id", "occurred_at", "actor_kind", "actor_id", "actor_label", "token_id", "action", "outcome",
	"reason", "target_kind", "target_id", "target_label", "changes", "ip", "user_agent", "request_id", "prev_hash", "hash"}

func optID(p *int64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatInt(*p, 10)
}

// exportEvent is an event as one NDJSON line: the API shape plus its links
// in the hash chain, so an export can be verified on its own.
type exportEvent struct {
	APIEvent
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// AuditExport streams exactly the current filter as CSV or NDJSON. Rows go
// from the database cursor to the response one at a time, so memory stays
// flat for any number of events.
func (h *Handler) AuditExport(format string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		now := h.Store.Now()
		v, _ := auditValues(c)
		q, problems := models.ParseAuditQuery(v, now)
		if len(problems) > 0 {
			// An export is refused whole, never made of a filter other than
			// the one asked for.
			msgs := make([]string, 0, len(problems))
			for _, m := range problems.Refusals() {
				msgs = append(msgs, m)
			}
			sort.Strings(msgs)
			return fiber.NewError(fiber.StatusBadRequest, "The export filter is not valid: "+strings.Join(msgs, " "))
		}
		switch format {
		case "csv":
			c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		default:
			c.Set(fiber.HeaderContentType, "application/x-ndjson")
		}
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+exportName(q, now, format)+`"`)
		c.Set(fiber.HeaderCacheControl, "no-store")
		store, log := h.Store, h.Log
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
			// The handler has returned by now; the stream has its own
			// deadline instead of the request's context.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
			defer cancel()
			var err error
			n := 0
			flush := func() error {
				n++
				if n%500 == 0 {
					return w.Flush() // a client that went away ends the export here
				}
				return nil
			}
			if format == "csv" {
				cw := csv.NewWriter(w)
				_ = cw.Write(csvHeader)
				err = store.EachAuditEvent(ctx, q, func(e *models.Event) error {
					rec := []string{strconv.FormatInt(e.ID, 10), e.OccurredAt.UTC().Format(time.RFC3339Nano), string(e.ActorKind),
						optID(e.ActorID), e.ActorLabel, optID(e.TokenID), e.Action, e.Outcome, e.Reason, e.TargetKind,
						optID(e.TargetID), e.TargetLabel, e.Changes, e.IP, e.UserAgent, e.RequestID, e.PrevHash, e.Hash}
					for i := range rec {
						rec[i] = csvSafe(rec[i])
					}
					if err := cw.Write(rec); err != nil {
						return err
					}
					if n%500 == 499 {
						cw.Flush()
					}
					return flush()
				})
				cw.Flush()
			} else {
				enc := json.NewEncoder(w)
				err = store.EachAuditEvent(ctx, q, func(e *models.Event) error {
					if err := enc.Encode(exportEvent{APIEvent: apiEvent(e), PrevHash: e.PrevHash, Hash: e.Hash}); err != nil {
						return err
					}
					return flush()
				})
			}
			if err == nil {
				err = w.Flush()
			}
			if err != nil {
				log.Warn("audit export ended early", "err", err)
			}
		})
		return nil
	}
}
