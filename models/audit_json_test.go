package models

import (
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

// TestBriefAuditPagesMatchScannedOnes writes events whose labels hold what
// could trip the JSON page (quotes, backslashes, control characters,
// brackets and commas, multi-byte text, empty strings) and NULL ids, then
// reads every kind of page both ways: brief (one JSON value on SQLite) and
// full (scanned column by column). Their brief fields must be identical,
// times included.
func TestBriefAuditPagesMatchScannedOnes(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	labels := []string{"", "12:34", `"quoted"`, `back\slash`, "line\nbreak\ttab\x01", `],["x",null,1]`, "null", "42",
		"Zoë • 東京 🚀", strings.Repeat("x", 300), "</script>", `\u0041`}
	for i, l := range labels {
		a := Actor{Kind: ActorAnonymous, Label: l, IP: strconv.Itoa(i) + "," + l}
		if i%3 == 1 {
			a = Actor{Kind: ActorService, ID: int64(i), Label: l, TokenID: int64(100 + i)}
		}
		tg := target{kind: "user", id: int64(i), label: l}
		if i%2 == 0 {
			tg = target{}
		}
		if err := s.write(ctx, func(tx *gorm.DB) error { return s.record(tx, a, "auth.login_failed", "failed", l, tg, nil) }); err != nil {
			t.Fatal(err)
		}
	}
	brief := func(evs []Event) []Event {
		out := make([]Event, len(evs))
		for i, e := range evs {
			out[i] = Event{ID: e.ID, OccurredAt: e.OccurredAt, ActorKind: e.ActorKind, ActorID: e.ActorID, ActorLabel: e.ActorLabel,
				TokenID: e.TokenID, Action: e.Action, Outcome: e.Outcome, Reason: e.Reason, TargetKind: e.TargetKind,
				TargetID: e.TargetID, TargetLabel: e.TargetLabel, IP: e.IP}
		}
		return out
	}
	for name, q := range map[string]AuditQuery{
		"first page":  {Limit: 5},
		"whole log":   {Limit: 100},
		"older":       {Limit: 4, Before: 8},
		"newer":       {Limit: 4, After: 3},
		"filtered":    {Limit: 50, Outcome: "failed"},
		"empty":       {Limit: 50, Before: 1},
		"two actions": {Limit: 50, Actions: []string{"auth.login_failed", "setup.complete"}},
		"past newest": {Limit: 50, After: 1 << 40},
	} {
		full, err := s.ListAudit(ctx, q)
		if err != nil {
			t.Fatalf("%s, scanned: %v", name, err)
		}
		q.Brief = true
		got, err := s.ListAudit(ctx, q)
		if err != nil {
			t.Fatalf("%s, brief: %v", name, err)
		}
		if !reflect.DeepEqual(brief(full.Events), got.Events) {
			t.Errorf("%s: brief page differs\n scanned %+v\n brief   %+v", name, brief(full.Events), got.Events)
		}
		if full.NextBefore != got.NextBefore || full.PrevAfter != got.PrevAfter {
			t.Errorf("%s: cursors differ: %d/%d vs %d/%d", name, full.NextBefore, full.PrevAfter, got.NextBefore, got.PrevAfter)
		}
	}
}

// eventsJSON writes events as SQLite's json_group_array(json_array(...))
// does, for the decoder's tests.
func eventsJSON(t testing.TB, rows ...[]any) string {
	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func briefRow(id int64, label string) []any {
	return []any{id, "2026-11-23 02:12:39.693619+00:00", "human", 3, label, nil, "auth.login", "success", "", "", nil, "", "127.0.0.1"}
}

func TestDecodeEventsJSON(t *testing.T) {
	evs, err := decodeEventsJSON(eventsJSON(t, briefRow(7, "Ada"), briefRow(6, `say "hi"`)))
	if err != nil || len(evs) != 2 || evs[0].ActorLabel != "Ada" || evs[1].ActorLabel != `say "hi"` ||
		*evs[0].ActorID != 3 || evs[0].TokenID != nil || evs[1].ID != 6 {
		t.Fatalf("two events: %+v, %v", evs, err)
	}
	if want := time.Date(2026, 11, 23, 2, 12, 39, 693619000, time.UTC); !evs[0].OccurredAt.Equal(want) {
		t.Errorf("time %v, want %v", evs[0].OccurredAt, want)
	}
	if evs, err := decodeEventsJSON("[]"); err != nil || len(evs) != 0 {
		t.Errorf("empty page: %v, %v", evs, err)
	}
	good := eventsJSON(t, briefRow(7, "Ada"))
	for _, bad := range []string{
		"", "[", good[:len(good)-1], good + "x", "[" + good + "]",
		strings.Replace(good, "7,", `"7",`, 1),                      // id not a number
		strings.Replace(good, `"Ada"`, "12", 1),                     // label not a string
		strings.Replace(good, `"2026-11-23 02:12`, `"yesterday`, 1), // not a time
		strings.Replace(good, `,"127.0.0.1"]`, `]`, 1),              // a column short
		strings.Replace(good, `"Ada"`, `"A\qa"`, 1),                 // a bad escape
	} {
		if evs, err := decodeEventsJSON(bad); err == nil {
			t.Errorf("accepted %q: %+v", bad, evs)
		}
	}
}

// FuzzDecodeEventsJSON: any text is refused or decoded, never a panic; and
// labels of any content survive the trip through JSON.
func FuzzDecodeEventsJSON(f *testing.F) {
	f.Add("Ada", `["x",1]`, int64(1))
	f.Add("", `\"`, int64(1<<40))
	f.Add("\x00\u2028", "null", int64(7))
	f.Fuzz(func(t *testing.T, actor, targetLabel string, id int64) {
		row := briefRow(id, actor)
		row[11] = targetLabel
		doc := eventsJSON(t, row)
		evs, err := decodeEventsJSON(doc)
		if err != nil || len(evs) != 1 {
			t.Fatalf("%q: %v", doc, err)
		}
		var want []string // what encoding/json makes of the labels (invalid UTF-8 becomes U+FFFD)
		b, _ := json.Marshal([]string{actor, targetLabel})
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if e := evs[0]; e.ID != id || e.ActorLabel != want[0] || e.TargetLabel != want[1] || e.IP != "127.0.0.1" {
			t.Fatalf("round trip changed the event: %+v", e)
		}
		_, _ = decodeEventsJSON(actor + targetLabel) // arbitrary text: no panic
	})
}
