package models

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// On SQLite a page of brief events is read as one value: SQLite writes the
// page as a JSON array of arrays (json_group_array of json_array), and
// decodeEventsJSON splits it.
//
// Why: mattn/go-sqlite3 converts every column of every row with two or
// three cgo calls (its type, its length, its text), some 1,800 for a page
// of 51 events of 13 columns. Stepping through such a page cost 320 µs;
// the same page as one JSON value costs SQLite 80 µs to write and Go
// 20 µs to split (ListAudit: 450 → 190 µs). PostgreSQL returns rows over
// the network with no such cost and scans them as usual.

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

var errEventsJSON = errors.New("models: malformed audit page from the database")

// decodeEventsJSON splits a JSON array of briefEventColumns rows into
// events. It reads only what json_array writes for these columns: integers,
// strings and null. Strings without escapes are sliced from doc (a page is
// read, rendered and dropped together); the rare ones with escapes are
// unquoted by encoding/json.
func decodeEventsJSON(doc string) ([]Event, error) {
	d := jsonRows{s: doc}
	out := []Event{}
	if !d.eat('[') {
		return nil, errEventsJSON
	}
	if d.eat(']') {
		return out, d.end()
	}
	f := make([]jsonValue, briefFieldCount)
	for {
		if !d.eat('[') {
			return nil, errEventsJSON
		}
		for i := range f {
			if i > 0 && !d.eat(',') {
				return nil, errEventsJSON
			}
			v, ok := d.value()
			if !ok {
				return nil, errEventsJSON
			}
			f[i] = v
		}
		if !d.eat(']') {
			return nil, errEventsJSON
		}
		e, err := briefEvent(f)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		if d.eat(']') {
			return out, d.end()
		}
		if !d.eat(',') {
			return nil, errEventsJSON
		}
	}
}

// briefFieldCount is the number of columns in briefEventColumns.
var briefFieldCount = strings.Count(briefEventColumns, ",") + 1

// jsonValue is one decoded field: a string, an integer, or null.
type jsonValue struct {
	str  string
	num  int64
	kind byte // 's', 'n' or 0 for null
}

// briefEvent builds an event from the fields of briefEventColumns.
func briefEvent(f []jsonValue) (Event, error) {
	e := Event{
		ID: f[0].num, ActorKind: ActorKind(f[2].str), ActorLabel: f[4].str, Action: f[6].str, Outcome: f[7].str,
		Reason: f[8].str, TargetKind: f[9].str, TargetLabel: f[11].str, IP: f[12].str,
	}
	for _, i := range [...]int{1, 2, 4, 6, 7, 8, 9, 11, 12} {
		if f[i].kind != 's' {
			return e, errEventsJSON
		}
	}
	var ok [3]bool
	e.ActorID, ok[0] = f[3].id()
	e.TokenID, ok[1] = f[5].id()
	e.TargetID, ok[2] = f[10].id()
	if f[0].kind != 'n' || ok != [3]bool{true, true, true} {
		return e, errEventsJSON
	}
	var err error
	e.OccurredAt, err = parseStoredTime(f[1].str)
	return e, err
}

// id reads a nullable id column.
func (v jsonValue) id() (*int64, bool) {
	switch v.kind {
	case 0:
		return nil, true
	case 'n':
		n := v.num
		return &n, true
	}
	return nil, false
}

// parseStoredTime reads a timestamp as mattn/go-sqlite3 does for a DATETIME
// column with _loc=UTC: the first of its layouts that fits, in UTC.
func parseStoredTime(s string) (time.Time, error) {
	s = strings.TrimSuffix(s, "Z")
	for _, layout := range sqlite3.SQLiteTimestampFormats {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errEventsJSON
}

// jsonRows is a cursor over decodeEventsJSON's input. SQLite's JSON has no
// insignificant whitespace, so none is skipped.
type jsonRows struct {
	s string
	i int
}

func (d *jsonRows) eat(c byte) bool {
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *jsonRows) end() error {
	if d.i != len(d.s) {
		return errEventsJSON
	}
	return nil
}

func (d *jsonRows) value() (jsonValue, bool) {
	rest := d.s[d.i:]
	switch {
	case strings.HasPrefix(rest, "null"):
		d.i += 4
		return jsonValue{}, true
	case rest != "" && rest[0] == '"':
		end := strings.IndexByte(rest[1:], '"') + 1
		if end == 0 {
			return jsonValue{}, false
		}
		if strings.IndexByte(rest[1:end], '\\') < 0 {
			d.i += end + 1
			return jsonValue{str: rest[1:end], kind: 's'}, true
		}
		// Escapes: find the quote that ends the string, then unquote.
		for j := 1; j < len(rest); j++ {
			switch rest[j] {
			case '\\':
				j++ // the escaped byte cannot end the string
			case '"':
				var s string
				if json.Unmarshal([]byte(rest[:j+1]), &s) != nil {
					return jsonValue{}, false
				}
				d.i += j + 1
				return jsonValue{str: s, kind: 's'}, true
			}
		}
		return jsonValue{}, false
	default:
		j := 0
		for j < len(rest) && (rest[j] == '-' || rest[j] >= '0' && rest[j] <= '9') {
			j++
		}
		n, err := strconv.ParseInt(rest[:j], 10, 64)
		if err != nil {
			return jsonValue{}, false
		}
		d.i += j
		return jsonValue{num: n, kind: 'n'}, true
	}
}
