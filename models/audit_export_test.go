package models

import (
	"context"
	"testing"
)

// TestEachAuditEventHoldsNoConnection streams more than one batch and checks
// that no pooled connection is held while the caller handles an event (a
// slow download must not take a connection from the console), that every
// event comes once, newest first, and that an event recorded meanwhile is
// not part of the export.
func TestEachAuditEventHoldsNoConnection(t *testing.T) {
	sqliteOnly(t) // the bulk seeding writes SQLite's files directly
	s := openTestStore(t)
	ctx := context.Background()
	seedUsers(t, s, 50, 2)
	n := 2*exportBatch + 17
	seedAudit(t, s, n, 50)
	sqlDB, err := s.db.DB()
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	err = s.EachAuditEvent(ctx, AuditQuery{}, func(e *Event) error {
		if inUse := sqlDB.Stats().InUse; inUse != 0 {
			t.Fatalf("event %d: %d connections in use while the caller writes", e.ID, inUse)
		}
		if len(got) == 0 {
			if err := s.RecordEvent(ctx, System, "settings.update", OutcomeSuccess, "", "", 0, ""); err != nil {
				t.Fatal(err)
			}
		}
		got = append(got, e.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("exported %d events, want %d", len(got), n)
	}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]-1 {
			t.Fatalf("event %d follows %d: want every id once, newest first", got[i], got[i-1])
		}
	}
	if got[0] != int64(n) || got[len(got)-1] != 1 {
		t.Fatalf("exported ids %d..%d, want %d..1", got[0], got[len(got)-1], n)
	}
}
