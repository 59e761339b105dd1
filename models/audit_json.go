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
	rows, err := s.query(ctx, briefEventsJSON(order)+page, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var doc string
	if rows.Next() {
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
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
	e := Event{
		ID: f[0].num, ActorKind: ActorKind(f[2].str), ActorLabel: f[4].str, Action: f[6].str, Outcome: f[7].str,
		Reason: f[8].str, TargetKind: f[9].str, TargetLabel: f[11].str, IP: f[12].str,
	}
	for _, i := range [...]int{1, 2, 4, 6, 7, 8, 9, 11, 12} {
		if f[i].kind != 's' {
			return e, errJSONPage
		}
	}
	var ok [3]bool
	e.ActorID, ok[0] = f[3].id()
	e.TokenID, ok[1] = f[5].id()
	e.TargetID, ok[2] = f[10].id()
	if f[0].kind != 'n' || ok != [3]bool{true, true, true} {
		return e, errJSONPage
	}
	var err error
	e.OccurredAt, err = parseStoredTime(f[1].str)
	return e, err
}
