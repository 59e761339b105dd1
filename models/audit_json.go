package models

import (
	"context"
	"strings"
)

// On SQLite a page of brief events is read as one value: SQLite writes the
// page as a JSON array of arrays (json_group_array of json_array), and
// decodeEventsJSON splits it (see json_page.go).
//
// mattn/go-sqlite3 would make some 1,800 cgo calls for a page of 51 events
// of 13 columns: stepping through it cost 320 µs, while the page as one
// JSON value costs SQLite 80 µs to write and Go 20 µs to split (ListAudit:
// 450 → 190 µs).

// briefEventsJSON is the page query's select list: the page's brief columns
// (in briefEventColumns order) as one JSON array of rows, in order.
func briefEventsJSON(order string) string {
	return "SELECT json_group_array(json_array(" + briefEventColumns + ") ORDER BY " + order + ") FROM "
}

// findEventsJSON reads the brief events of audit_events matching where (with
// args), ordered by order ("id DESC" or "id ASC"), at most limit.
func (s *Store) findEventsJSON(ctx context.Context, where string, args []any, order string, limit int) ([]Event, error) {
	page := "(SELECT " + briefEventColumns + " FROM audit_events WHERE " + where + " ORDER BY " + order + " LIMIT ?)"
	doc, err := s.jsonDoc(ctx, briefEventsJSON(order)+page, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	return decodeEventsJSON(doc)
}

// decodeEventsJSON splits a JSON array of briefEventColumns rows into
// events (see decodeJSONPage).
func decodeEventsJSON(doc string) ([]Event, error) {
	out := []Event{}
	err := decodeJSONPage(doc, briefFieldCount, func(f []jsonValue) error {
		e, err := briefEvent(f)
		out = append(out, e)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// briefFieldCount is the number of columns in briefEventColumns.
var briefFieldCount = strings.Count(briefEventColumns, ",") + 1

// briefEvent builds an event from the fields of briefEventColumns.
func briefEvent(f []jsonValue) (Event, error) {
	r := fieldReader{f: f}
	e := Event{ID: r.num(0), OccurredAt: r.time(1), ActorKind: ActorKind(r.str(2)), ActorID: r.optNum(3),
		ActorLabel: r.str(4), TokenID: r.optNum(5), Action: r.str(6), Outcome: r.str(7), Reason: r.str(8),
		TargetKind: r.str(9), TargetID: r.optNum(10), TargetLabel: r.str(11), IP: r.str(12)}
	return e, r.err
}
