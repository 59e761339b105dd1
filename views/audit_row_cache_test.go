package views

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

func renderRow(t *testing.T, c *AuditRowCache, r AuditRow) string {
	t.Helper()
	var b strings.Builder
	if err := c.Row(r).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestAuditRowCache(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	row := AuditRow{ID: 7, At: at, ActorKind: "human", ActorID: 1, ActorLabel: "Ada <admin>", Action: "user.create",
		Outcome: "success", TargetKind: "user", TargetID: 9, TargetLabel: `Deploy "bot"`, IP: "127.0.0.1"}
	want := renderRow(t, nil, row)
	if !strings.Contains(want, "Ada &lt;admin&gt;") || !strings.Contains(want, `href="/audit/7"`) {
		t.Fatalf("row without a cache: %s", want)
	}

	c := NewAuditRowCache(4)
	if got := renderRow(t, c, row); got != want {
		t.Fatalf("first render through the cache:\n%s\nwant\n%s", got, want)
	}
	if c.slots[7%4].Load() == nil {
		t.Fatal("the rendered row was not kept")
	}
	if got := renderRow(t, c, row); got != want {
		t.Fatalf("kept row:\n%s\nwant\n%s", got, want)
	}

	// The same ID with other content (another database) and another ID in
	// the same slot render themselves, not the kept row.
	other := row
	other.ActorLabel = "Grace"
	if got := renderRow(t, c, other); !strings.Contains(got, "Grace") || strings.Contains(got, "Ada") {
		t.Errorf("same ID, other event: %s", got)
	}
	sharing := row
	sharing.ID = 11 // 11 % 4 == 7 % 4
	if got := renderRow(t, c, sharing); !strings.Contains(got, `href="/audit/11"`) || strings.Contains(got, `href="/audit/7"`) {
		t.Errorf("another ID in the same slot: %s", got)
	}
	if got := renderRow(t, c, row); got != want {
		t.Errorf("row after its slot was taken:\n%s\nwant\n%s", got, want)
	}
}

// TestAuditRowCacheConcurrent renders rows that share slots from many
// goroutines (run with -race): each must get its own row's HTML.
func TestAuditRowCacheConcurrent(t *testing.T) {
	c := NewAuditRowCache(8)
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	rows := make([]AuditRow, 32)
	want := make([]string, len(rows))
	for i := range rows {
		rows[i] = AuditRow{ID: int64(i + 1), At: at, ActorKind: "system", ActorLabel: "system", Action: "token.create", Outcome: "success"}
		want[i] = renderRow(t, nil, rows[i])
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
				if err := c.Row(rows[i]).Render(context.Background(), &b); err != nil || b.String() != want[i] {
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
