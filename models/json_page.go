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

// A JSON page is a page of rows that SQLite writes as one value, a JSON
// array of arrays (json_group_array of json_array), for Go to split.
//
// Why: mattn/go-sqlite3 converts every column of every row with two or
// three cgo calls (its type, its length, its text) and parses every
// DATETIME through a list of layouts, which on the console's lists cost
// more than SQLite's own work: an audit page of 51 events, 320 µs stepped
// and 100 µs as JSON; a Users page of 25, 180 µs and 80 µs. PostgreSQL
// returns rows over the network with no such cost and scans them as usual.
// Used by audit_json.go, user_json.go and sessions.go (a console page's
// session with its user: one row, but 28 columns).

var errJSONPage = errors.New("models: malformed page from the database")

// jsonDoc runs a query whose one value is a JSON page or row; "" when it
// returns no row (the decoders refuse that).
func (s *Store) jsonDoc(ctx context.Context, query string, args ...any) (string, error) {
	var doc string
	_, err := s.scanOne(ctx, []any{&doc}, query, args...)
	return doc, err
}

// decodeJSONPage calls row with the fields of each row of doc, a JSON
// array of arrays of width fields, in order. It reads only what json_array
// writes for the columns these pages select: integers, strings and null.
// Strings without escapes are sliced from doc (a page is read, rendered and
// dropped together); the rare ones with escapes are unquoted by
// encoding/json.
func decodeJSONPage(doc string, width int, row func(f []jsonValue) error) error {
	d := jsonRows{s: doc}
	if !d.eat('[') {
		return errJSONPage
	}
	if d.eat(']') {
		return d.end()
	}
	f := make([]jsonValue, width)
	for {
		if !d.row(f) {
			return errJSONPage
		}
		if err := row(f); err != nil {
			return err
		}
		if d.eat(']') {
			return d.end()
		}
		if !d.eat(',') {
			return errJSONPage
		}
	}
}

// decodeJSONRow reads doc, one JSON array of len(f) fields, into f.
func decodeJSONRow(doc string, f []jsonValue) error {
	d := jsonRows{s: doc}
	if !d.row(f) {
		return errJSONPage
	}
	return d.end()
}

// fieldReader reads typed columns from a row's fields, keeping the first
// mismatch as its err, so a decoder reads every column and checks once.
type fieldReader struct {
	f   []jsonValue
	err error
}

func (r *fieldReader) want(i int, kind byte) jsonValue {
	if r.f[i].kind != kind && r.err == nil {
		r.err = errJSONPage
	}
	return r.f[i]
}

func (r *fieldReader) str(i int) string { return r.want(i, 's').str }
func (r *fieldReader) num(i int) int64  { return r.want(i, 'n').num }

func (r *fieldReader) time(i int) time.Time {
	t, err := parseStoredTime(r.want(i, 's').str)
	if err != nil && r.err == nil {
		r.err = err
	}
	return t
}

// optStr, optNum and optTime read nullable columns.
func (r *fieldReader) optStr(i int) *string {
	if r.f[i].kind == 0 {
		return nil
	}
	s := r.str(i)
	return &s
}

func (r *fieldReader) optNum(i int) *int64 {
	if r.f[i].kind == 0 {
		return nil
	}
	n := r.num(i)
	return &n
}

func (r *fieldReader) optTime(i int) *time.Time {
	if r.f[i].kind == 0 {
		return nil
	}
	t := r.time(i)
	return &t
}

// jsonValue is one decoded field: a string, an integer, or null.
type jsonValue struct {
	str  string
	num  int64
	kind byte // 's', 'n' or 0 for null
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
	return time.Time{}, errJSONPage
}

// jsonRows is a cursor over a JSON page. SQLite's JSON has no
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

// row reads one JSON array of len(f) fields into f.
func (d *jsonRows) row(f []jsonValue) bool {
	if !d.eat('[') {
		return false
	}
	for i := range f {
		if i > 0 && !d.eat(',') {
			return false
		}
		v, ok := d.value()
		if !ok {
			return false
		}
		f[i] = v
	}
	return d.eat(']')
}

func (d *jsonRows) end() error {
	if d.i != len(d.s) {
		return errJSONPage
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
