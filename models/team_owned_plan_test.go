package models

import (
	"context"
	"strings"
	"testing"
)

// TestTeamOwnedUsersUsesAnIndex fails when a team's owned service users,
// or the users a deleted user owned, are found by reading every user.
func TestTeamOwnedUsersUsesAnIndex(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	for _, q := range []string{
		`SELECT COUNT(*) FROM users AS u WHERE u.owner_team_id = 7`,
		`SELECT u.id FROM users AS u WHERE u.owner_team_id = 7 ORDER BY u.name LIMIT 25`,
		`SELECT u.id FROM users AS u WHERE u.owner_user_id = 7`,
	} {
		plan := s.explain(t, ctx, q)
		for _, line := range strings.Split(plan, "\n") {
			if (s.dialect == Postgres && strings.Contains(line, "Seq Scan on users")) ||
				(s.dialect == SQLite && strings.Contains(line, "SCAN u") && !strings.Contains(line, "INDEX")) {
				t.Errorf("%s reads every user:\n%s", q, plan)
			}
		}
	}
}
