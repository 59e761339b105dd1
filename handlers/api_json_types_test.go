package handlers

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestJSONTypeName(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{"", "a string"},
		{new(string), "a string"},
		{int64(0), "an integer"},
		{new(int), "an integer"},
		{false, "a boolean"},
		{new(bool), "a boolean"},
		{1.5, "a number"},
		{[]int64{}, "an array of integers"},
		{new([]int64), "an array of integers"},
		{[]string{}, "an array of strings"},
		{[]bool{}, "an array of booleans"},
		{[]APIOwnerInput{}, "an array of objects"},
		{[][]int64{}, "an array of arrays"},
		{[]json.RawMessage{}, "an array"},
		{APIOwnerInput{}, "an object"},
		{Optional[APIOwnerInput]{}, "an object"},
		{map[string]string{}, "an object"},
		{time.Time{}, "a string holding an RFC 3339 date-time, like 2030-01-31T00:00:00Z"},
	} {
		if got := jsonTypeName(reflect.TypeOf(tc.v)); got != tc.want {
			t.Errorf("%T: %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestJSONTypeErrorFindsTheField(t *testing.T) {
	type in struct {
		Active *bool                   `json:"active"`
		Owner  Optional[APIOwnerInput] `json:"owner"`
		At     *time.Time              `json:"at"`
	}
	for body, want := range map[string][2]string{
		`{"active":"yes"}`:      {"active", "a boolean"},
		`{"owner":{"id":true}}`: {"owner.id", "an integer"},
		`{"owner":[1]}`:         {"owner", "an object"},
		`{"at":true}`:           {"at", "a string holding an RFC 3339 date-time, like 2030-01-31T00:00:00Z"},
	} {
		var dst in
		err := json.Unmarshal([]byte(body), &dst)
		field, typ, ok := jsonTypeError(err, []byte(body), &dst)
		if !ok || field != want[0] || typ != want[1] {
			t.Errorf("%s: %q %q %v, want %q", body, field, typ, ok, want)
		}
	}
}
