package models

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDecodeUsersJSON(t *testing.T) {
	good := `[[7,"service","Deploy \"bot\"","deploy_bot",null,"member","active",null,"2026-11-23 02:12:00.123456+00:00","3,12"],` +
		`[8,"human","Ada",null,"ada@example.com","admin","active","2026-11-23 03:00:00+00:00","2026-11-01 00:00:00+00:00",null]]`
	users, members, err := decodeUsersJSON(good)
	if err != nil || len(users) != 2 {
		t.Fatalf("%v, %+v", err, users)
	}
	u, a := users[0], users[1]
	if u.ID != 7 || u.Name != `Deploy "bot"` || u.UserID == nil || *u.UserID != "deploy_bot" || u.Email != nil || u.LastActiveAt != nil ||
		u.CreatedAt.Nanosecond() != 123456000 || u.Kind != KindService || u.Role != RoleMember {
		t.Errorf("service user: %+v", u)
	}
	if a.UserID != nil || a.Email == nil || *a.Email != "ada@example.com" || a.LastActiveAt == nil || a.LastActiveAt.Hour() != 3 {
		t.Errorf("human: %+v", a)
	}
	if len(members) != 2 || members[0] != (membership{user: 7, team: 3}) || members[1] != (membership{user: 7, team: 12}) {
		t.Errorf("memberships: %+v", members)
	}
	if users, members, err := decodeUsersJSON("[]"); err != nil || len(users) != 0 || len(members) != 0 {
		t.Errorf("empty page: %v %v %v", users, members, err)
	}
	for _, bad := range []string{
		"", "[", good + "x",
		strings.Replace(good, `[7,`, `["7",`, 1),                            // id not a number
		strings.Replace(good, `"service"`, `null`, 1),                       // kind null
		strings.Replace(good, `"deploy_bot"`, `12`, 1),                      // user_id not text
		strings.Replace(good, `"3,12"`, `"3,x"`, 1),                         // a team id not a number
		strings.Replace(good, `"3,12"`, `3`, 1),                             // team ids not text
		strings.Replace(good, `"2026-11-01`, `"soon`, 1),                    // not a time
		strings.Replace(good, `,null]]`, `]]`, 1),                           // a column short
		strings.Replace(good, `null,"2026-11-23 02`, `1,"2026-11-23 02`, 1), // last active not a time
	} {
		if users, _, err := decodeUsersJSON(bad); err == nil {
			t.Errorf("accepted %q: %+v", bad, users)
		}
	}
}

// FuzzDecodeUsersJSON: any text is refused or decoded, never a panic; and
// names of any content survive the trip through JSON.
func FuzzDecodeUsersJSON(f *testing.F) {
	f.Add("Deploy bot", "deploy_bot", int64(1))
	f.Add(`"],[1`, `\`, int64(1<<40))
	f.Add("\x00\u2028", "", int64(-1))
	f.Fuzz(func(t *testing.T, name, userID string, id int64) {
		b, err := json.Marshal([][]any{{id, "service", name, userID, nil, "member", "active", nil, "2026-11-23 02:12:00+00:00", "1,2"}})
		if err != nil {
			t.Fatal(err)
		}
		users, members, err := decodeUsersJSON(string(b))
		if err != nil || len(users) != 1 || len(members) != 2 {
			t.Fatalf("%s: %v", b, err)
		}
		var want []string // what encoding/json makes of them (invalid UTF-8 becomes U+FFFD)
		b, _ = json.Marshal([]string{name, userID})
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if u := users[0]; u.ID != id || u.Name != want[0] || u.UserID == nil || *u.UserID != want[1] {
			t.Fatalf("round trip changed the user: %+v", u)
		}
		_, _, _ = decodeUsersJSON(name + userID) // arbitrary text: no panic
	})
}
