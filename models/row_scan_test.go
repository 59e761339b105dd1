package models

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm/schema"
)

// TestScanColumnsMatchTheModels: the explicit column lists of the hot reads
// name every column of their model, in the order of its fields, so a column
// added to a struct cannot be silently left unread.
func TestScanColumnsMatchTheModels(t *testing.T) {
	for _, m := range []struct {
		model   any
		columns string
		dest    int
	}{
		{&User{}, userColumns, len(new(User).dest())},
		{&Session{}, sessionColumns, len(new(Session).dest())},
		// decodeSessionJSON reads as many fields.
		{&User{}, userColumns, userFields},
		{&Session{}, sessionColumns, sessionFields},
	} {
		sch, err := schema.Parse(m.model, &sync.Map{}, schema.NamingStrategy{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range strings.Split(m.columns, ",") {
			c = strings.TrimSpace(c)
			got = append(got, c[strings.IndexByte(c, '.')+1:])
		}
		if !reflect.DeepEqual(got, sch.DBNames) {
			t.Errorf("%T: columns %q, want the model's %q", m.model, got, sch.DBNames)
		}
		if m.dest != len(sch.DBNames) {
			t.Errorf("%T: %d scan destinations for %d columns", m.model, m.dest, len(sch.DBNames))
		}
	}
	// The brief list's columns: as many destinations, each a real column.
	brief := strings.Split(userBriefColumns, ", ")
	if n := len(new(User).briefDest()); n != len(brief) {
		t.Errorf("%d brief destinations for %d brief columns", n, len(brief))
	}
	for _, c := range brief {
		if !strings.Contains(userColumns, c) {
			t.Errorf("brief column %q is not a column of users", c)
		}
	}
}

// TestScannedUserMatchesGorm: a user with every field set reads back the
// same through the explicit scan as through gorm, on the list's path and
// the session's.
func TestScannedUserMatchesGorm(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	admin := mustAdmin(t, s, "ada@example.com")
	team, err := s.CreateTeam(ctx, AsUser(admin), TeamInput{Name: "Payments"})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := s.CreateServiceUser(ctx, AsUser(admin), NewServiceUser{Name: "Ledger sync", Role: RoleManager,
		TeamIDs: []int64{team.ID}, Description: "Moves <ledgers>", Owner: Owner{UserID: admin.ID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{admin.ID, svc.ID} {
		want, err := s.UserByID(ctx, id) // gorm
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := s.queryUsers(ctx, false, "SELECT "+userColumns+" FROM users u WHERE u.id = ?", id)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !reflect.DeepEqual(&got[0], want) {
			t.Errorf("user %d scanned as %+v, gorm reads %+v", id, got, want)
		}
	}
	a := AsUser(admin)
	a.IP, a.UserAgent = "203.0.113.9", "test agent"
	token, _, err := s.CreateSession(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	sess, u, err := s.SessionByToken(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := s.UserByID(ctx, admin.ID)
	if !reflect.DeepEqual(u, want) {
		t.Errorf("session's user %+v, gorm reads %+v", u, want)
	}
	var wantSess Session
	if err := s.db.Take(&wantSess, sess.ID).Error; err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*sess, wantSess) {
		t.Errorf("session scanned as %+v, gorm reads %+v", *sess, wantSess)
	}

	// The nullable columns a service user can have (the admin above has the
	// others), and text that JSON must escape: a session row for the
	// service user, read as SessionByToken reads (on SQLite as one JSON
	// value) and compared with gorm's reads.
	now := s.Now()
	if err := s.db.Model(&User{}).Where("id = ?", svc.ID).Updates(map[string]any{
		"owner_team_id": team.ID, "password_changed_at": now, "last_active_at": now.Add(-time.Hour),
		"deactivated_at": now.Add(-time.Minute), "created_by": svc.ID, // not the owner: every field differs
		"description": "line\nbreak\t\u0001 ☃",
	}).Error; err != nil {
		t.Fatal(err)
	}
	row := Session{TokenHash: HashToken("svc"), UserID: svc.ID, CSRFToken: "c", CreatedAt: now, LastSeenAt: now,
		IP: "::1", UserAgent: `agent "x" \ y`}
	if err := s.db.Create(&row).Error; err != nil {
		t.Fatal(err)
	}
	var gotSess Session
	gotUser := new(User)
	if found, err := s.sessionWithUser(ctx, &gotSess, gotUser, row.TokenHash); err != nil || !found {
		t.Fatalf("session of the service user: %v, found %v", err, found)
	}
	wantUser, _ := s.UserByID(ctx, svc.ID)
	if wantUser.OwnerUserID == nil || wantUser.OwnerTeamID == nil || wantUser.DeactivatedAt == nil || wantUser.CreatedBy == nil {
		t.Fatalf("the service user lacks a nullable column: %+v", wantUser)
	}
	if !reflect.DeepEqual(gotUser, wantUser) {
		t.Errorf("session's service user %+v, gorm reads %+v", gotUser, wantUser)
	}
	var wantSvcSess Session
	if err := s.db.Take(&wantSvcSess, row.ID).Error; err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotSess, wantSvcSess) {
		t.Errorf("service user's session %+v, gorm reads %+v", gotSess, wantSvcSess)
	}
}
