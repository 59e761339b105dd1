package views

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a-h/templ"
)

func renderString(t *testing.T, c templ.Component) string {
	t.Helper()
	var b strings.Builder
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestAuditRowCache(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	row := AuditRow{ID: 7, At: at, ActorKind: "human", ActorID: 1, ActorLabel: "Ada <admin>", Action: "user.create",
		Outcome: "success", TargetKind: "user", TargetID: 9, TargetLabel: `Deploy "bot"`, IP: "127.0.0.1"}
	var none *RowCache
	want := renderString(t, none.Audit(row))
	if !strings.Contains(want, "Ada &lt;admin&gt;") || !strings.Contains(want, `href="/audit/7"`) {
		t.Fatalf("row without a cache: %s", want)
	}

	c := NewRowCache(4)
	if got := renderString(t, c.Audit(row)); got != want {
		t.Fatalf("first render through the cache:\n%s\nwant\n%s", got, want)
	}
	if c.audit.slots[7%4].Load() == nil {
		t.Fatal("the rendered row was not kept")
	}
	if got := renderString(t, c.Audit(row)); got != want {
		t.Fatalf("kept row:\n%s\nwant\n%s", got, want)
	}

	// The same ID with other content (another database) and another ID in
	// the same slot render themselves, not the kept row.
	other := row
	other.ActorLabel = "Grace"
	if got := renderString(t, c.Audit(other)); !strings.Contains(got, "Grace") || strings.Contains(got, "Ada") {
		t.Errorf("same ID, other event: %s", got)
	}
	sharing := row
	sharing.ID = 11 // 11 % 4 == 7 % 4
	if got := renderString(t, c.Audit(sharing)); !strings.Contains(got, `href="/audit/11"`) || strings.Contains(got, `href="/audit/7"`) {
		t.Errorf("another ID in the same slot: %s", got)
	}
	if got := renderString(t, c.Audit(row)); got != want {
		t.Errorf("row after its slot was taken:\n%s\nwant\n%s", got, want)
	}
}

func testUserRow() (UserListRow, time.Time) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	last := now.Add(-3 * 24 * time.Hour)
	return UserListRow{ID: 5, Name: "Deploy <bot>", Handle: "deploy_bot@service", Kind: "service", Role: "member",
		Status: "active", LastActive: &last, CreatedAt: now.AddDate(-1, 0, 0),
		Teams: []TeamChip{{1, "Platform"}, {2, "Payments"}, {3, "Search & Ads"}}}, now
}

// TestUserRowCache: a Users row through the cache is the row rendered
// directly, after every kind of change, and the session's CSRF token
// matters only to a deactivated row (the one with a form).
func TestUserRowCache(t *testing.T) {
	r, now := testUserRow()
	c := NewRowCache(8)
	var none *RowCache
	check := func(name string, r UserListRow, now time.Time, csrf string) string {
		t.Helper()
		want := renderString(t, none.User(r, now, csrf))
		if got := renderString(t, c.User(r, now, csrf)); got != want {
			t.Fatalf("%s: through the cache:\n%s\nwant\n%s", name, got, want)
		}
		return want
	}
	html := check("first", r, now, "token-a")
	if !strings.Contains(html, "Deploy &lt;bot&gt;") || !strings.Contains(html, "3 days ago") || !strings.Contains(html, "+1") ||
		!strings.Contains(html, `title="Search &amp; Ads"`) {
		t.Fatalf("row: %s", html)
	}
	kept := c.users.slots[5%8].Load()
	check("again, another session", r, now, "token-b")
	if c.users.slots[5%8].Load() != kept {
		t.Error("an active row was rendered again for another session's CSRF token")
	}

	check("a day later", r, now.Add(24*time.Hour), "token-a")
	renamed := r
	renamed.Name = "Deploy bot 2"
	check("renamed", renamed, now, "token-a")
	moved := r
	moved.Teams = []TeamChip{{1, "Platform"}, {2, "Payments"}, {4, "Search"}}
	check("third team renamed", moved, now, "token-a")
	moved.Teams = moved.Teams[:2]
	check("third team left", moved, now, "token-a")
	never := r
	never.LastActive = nil
	check("never active", never, now, "token-a")

	gone := r
	gone.Status = "deactivated"
	a := check("deactivated", gone, now, "token-a")
	b := check("deactivated, another session", gone, now, "token-b")
	if !strings.Contains(a, "token-a") || !strings.Contains(b, "token-b") {
		t.Errorf("a deactivated row's Restore form must carry the session's token:\n%s\n%s", a, b)
	}
}

// TestUserRowKeyCoversRow changes each field of UserListRow in turn: the
// key must change with it, or the cache would show the row as it was. A
// field added to UserListRow fails here until the key covers it.
func TestUserRowKeyCoversRow(t *testing.T) {
	base, now := testUserRow()
	key := newUserRowKey(base, now, "csrf")
	typ := reflect.TypeFor[UserListRow]()
	for i := range typ.NumField() {
		changes := map[string]func(*UserListRow){
			"ID":     func(r *UserListRow) { r.ID++ },
			"Name":   func(r *UserListRow) { r.Name += "x" },
			"Handle": func(r *UserListRow) { r.Handle += "x" },
			"Kind":   func(r *UserListRow) { r.Kind = "human" },
			"Role":   func(r *UserListRow) { r.Role = "admin" },
			"Status": func(r *UserListRow) { r.Status = "deactivated" },
			"LastActive": func(r *UserListRow) {
				later := r.LastActive.Add(time.Second)
				r.LastActive = &later
			},
			"CreatedAt": func(r *UserListRow) { r.CreatedAt = r.CreatedAt.Add(time.Second) },
			"Teams":     func(r *UserListRow) { r.Teams = append(r.Teams, TeamChip{9, "QA"}) },
		}
		name := typ.Field(i).Name
		change, ok := changes[name]
		if !ok {
			t.Fatalf("UserListRow.%s is not covered: add it to userRowKey and to this test", name)
		}
		r := base
		r.Teams = append([]TeamChip(nil), base.Teams...)
		change(&r)
		if newUserRowKey(r, now, "csrf") == key {
			t.Errorf("changing UserListRow.%s leaves the key as it was", name)
		}
	}
	// Each shown team's id and name, and the names behind "+N".
	for i := range base.Teams {
		r := base
		r.Teams = append([]TeamChip(nil), base.Teams...)
		r.Teams[i].Name += "x"
		if newUserRowKey(r, now, "csrf") == key {
			t.Errorf("renaming team %d leaves the key as it was", i)
		}
		if i < rowTeamChips {
			r.Teams[i].Name = base.Teams[i].Name
			r.Teams[i].ID += 100
			if newUserRowKey(r, now, "csrf") == key {
				t.Errorf("another team %d leaves the key as it was", i)
			}
		}
	}
}

// TestRowCacheConcurrent renders rows that share slots from many
// goroutines (run with -race): each must get its own row's HTML.
func TestRowCacheConcurrent(t *testing.T) {
	c := NewRowCache(8)
	var none *RowCache
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	rows := make([]AuditRow, 32)
	want := make([]string, len(rows))
	for i := range rows {
		rows[i] = AuditRow{ID: int64(i + 1), At: at, ActorKind: "system", ActorLabel: "system", Action: "token.create", Outcome: "success"}
		want[i] = renderString(t, none.Audit(rows[i]))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 400 {
				i := (g*7 + n) % len(rows)
				var b strings.Builder
				if err := c.Audit(rows[i]).Render(context.Background(), &b); err != nil || b.String() != want[i] {
					errs <- b.String()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for got := range errs {
		t.Errorf("a concurrent render returned another row: %s", got)
	}
}
