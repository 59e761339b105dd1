package models

// Dialect names the database Warden runs on. SQL that the two databases
// spell differently goes through its methods; everything else is written
// once, in the common subset.
type Dialect string

// The supported databases.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// nocase is expr as a case-insensitive sort key. Each spelling matches an
// index of its migrations (COLLATE NOCASE on SQLite, lower() on PostgreSQL).
func (d Dialect) nocase(expr string) string {
	if d == Postgres {
		return "lower(" + expr + ")"
	}
	return expr + " COLLATE NOCASE"
}

// utcDay is the YYYY-MM-DD (UTC) of the timestamp column expr. SQLite
// stores times as UTC text, whose first ten characters are the day.
func (d Dialect) utcDay(expr string) string {
	if d == Postgres {
		return "to_char(" + expr + " AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
	}
	return "substr(" + expr + ", 1, 10)"
}

// automated is 1 when the actor-kind column expr names a service or the
// system, else 0: the audit counts split people from automation.
func (d Dialect) automated(expr string) string {
	return "CASE WHEN " + expr + " IN ('service', 'system') THEN 1 ELSE 0 END"
}

// liveTokens names the tokens not revoked for a pass over all of them: on
// SQLite the partial index holding their expiry and last use, which covers
// the overview's counts (its planner would otherwise read every row).
func (d Dialect) liveTokens() string {
	if d == Postgres {
		return "tokens"
	}
	return "tokens INDEXED BY tokens_live_used"
}

// timestampType is the column type for times in ad-hoc DDL.
func (d Dialect) timestampType() string {
	if d == Postgres {
		return "TIMESTAMPTZ"
	}
	return "DATETIME"
}
