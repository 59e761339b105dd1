package web

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestAPITypeErrorsNameFieldAndJSONType: a value of the wrong JSON type
// is answered with the field's name and the JSON type it needs, in the
// detail and in errors, never Go's type names ("int64").
func TestAPITypeErrorsNameFieldAndJSONType(t *testing.T) {
	f := newAPIFixture(t)
	user := fmt.Sprintf("/api/v1/users/%d", f.memberID)
	cases := []struct {
		method, path, body string
		field, want        string
	}{
		{"POST", "/api/v1/users", `{"name":42}`, "name", "a string"},
		{"POST", "/api/v1/users", `{"name":"X","team_ids":"1"}`, "team_ids", "an array of integers"},
		{"POST", "/api/v1/users", `{"name":"X","team_ids":["1"]}`, "team_ids", "an array of integers"},
		{"POST", "/api/v1/users", `{"name":"X","team_ids":[1.5]}`, "team_ids", "an array of integers"},
		{"PATCH", user, `{"team_ids":{"a":1}}`, "team_ids", "an array of integers"},
		{"PATCH", user, `{"role":true}`, "role", "a string"},
		{"PATCH", user, `{"owner":"team:1"}`, "owner", "an object"},
		{"PATCH", user, `{"owner":{"kind":"team","id":"1"}}`, "owner.id", "an integer"},
		{"POST", "/api/v1/teams", `{"name":["a"]}`, "name", "a string"},
		{"POST", user + "/tokens", `{"name":"ci","expires_in_days":"30"}`, "expires_in_days", "an integer"},
		{"POST", user + "/tokens", `{"name":"ci","expires_at":1767225600}`, "expires_at", "a string holding an RFC 3339 date-time, like 2030-01-31T00:00:00Z"},
		{"POST", user + "/tokens", `{"name":"ci","expires_at":"next week"}`, "expires_at", "a string holding an RFC 3339 date-time, like 2030-01-31T00:00:00Z"},
		{"POST", "/api/v1/tokens/revoke", `{"ids":7}`, "ids", "an array"},
		{"POST", "/api/v1/introspect", `{"token":false}`, "token", "a string"},
	}
	for _, tc := range cases {
		resp, body := f.call(t, tc.method, tc.path, f.admin, "application/json", tc.body)
		var p struct {
			Type, Detail string
			Errors       map[string]string
		}
		if resp.StatusCode != 400 || json.Unmarshal([]byte(body), &p) != nil {
			t.Errorf("%s %s %s: %d %s", tc.method, tc.path, tc.body, resp.StatusCode, snippet(body))
			continue
		}
		if want := tc.field + " must be " + tc.want + "."; p.Detail != want {
			t.Errorf("%s: detail %q, want %q", tc.body, p.Detail, want)
		}
		if want := "Must be " + tc.want + "."; len(p.Errors) != 1 || p.Errors[tc.field] != want {
			t.Errorf("%s: errors %v, want {%s: %q}", tc.body, p.Errors, tc.field, want)
		}
	}
}
