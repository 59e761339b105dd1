package models

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ActiveTokenCounts counts the working tokens of each user in ids with one
// query, for list answers.
func (s *Store) ActiveTokenCounts(ctx context.Context, ids []int64) (map[int64]int64, error) {
	out := map[int64]int64{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		UserID int64
		N      int64
	}
	err := s.db.WithContext(ctx).Model(&Token{}).Select("user_id, COUNT(*) AS n").
		Where("user_id IN ? AND "+activeTokenCond, ids, s.Now()).Group("user_id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: active token counts: %w", err)
	}
	for _, r := range rows {
		out[r.UserID] = r.N
	}
	return out, nil
}

// TeamNames maps team ids to names with one query.
func (s *Store) TeamNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID   int64
		Name string
	}
	if err := s.db.WithContext(ctx).Model(&Team{}).Select("id, name").Where("id IN ?", ids).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("models: team names: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}

// UserTeams returns the teams of one user, in the order of teamsOf: by name
// (ignoring ASCII case), the built-in Public team last.
func (s *Store) UserTeams(ctx context.Context, userID int64) ([]TeamRef, error) {
	rows, err := s.readDB(ctx).Raw(`SELECT t.id, t.name, t.builtin FROM user_teams ut
		JOIN teams t ON t.id = ut.team_id WHERE ut.user_id = ?`, userID).Rows()
	if err != nil {
		return nil, fmt.Errorf("models: teams of user: %w", err)
	}
	defer rows.Close()
	var out []TeamRef
	for rows.Next() {
		var t TeamRef
		if err := rows.Scan(&t.ID, &t.Name, &t.Builtin); err != nil {
			return nil, fmt.Errorf("models: teams of user: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: teams of user: %w", err)
	}
	sortTeamRefs(out)
	return out, nil
}

// sortTeamRefs orders one user's teams as teamsOf does (ORDER BY builtin,
// name COLLATE NOCASE), in Go so that the order does not depend on the
// database's collations.
func sortTeamRefs(ts []TeamRef) {
	slices.SortFunc(ts, func(a, b TeamRef) int {
		if a.Builtin != b.Builtin {
			if a.Builtin {
				return 1
			}
			return -1
		}
		if c := compareNoCase(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// compareNoCase compares like SQLite's NOCASE collation: byte by byte, with
// only the ASCII letters folded.
func compareNoCase(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := lowerASCII(a[i]), lowerASCII(b[i])
		if x != y {
			return cmp.Compare(x, y)
		}
	}
	return cmp.Compare(len(a), len(b))
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// APIDetailOf completes a user already loaded (by bearer authentication, say)
// as DetailOf does, and also counts its working tokens, with one query: one
// row per team, each carrying the owner's and creator's names and the count
// of working tokens. The subqueries depend on parameters only, so the
// database computes them once; a name that cannot exist is not looked up.
// Every user belongs to the Public team, so there is always a row; should
// there be none, a second query reads the names and the count alone.
func (s *Store) APIDetailOf(ctx context.Context, u *User) (*UserDetail, int64, error) {
	return s.apiDetailAt(ctx, u, s.Now())
}

// apiDetailAt is APIDetailOf counting the tokens that work at now.
func (s *Store) apiDetailAt(ctx context.Context, u *User, now time.Time) (*UserDetail, int64, error) {
	id := u.ID
	var q strings.Builder
	args := make([]any, 0, 6)
	nameOf := func(table string, ref *int64) {
		if ref == nil {
			q.WriteString("NULL, ")
			return
		}
		q.WriteString("(SELECT name FROM " + table + " WHERE id = ?), ")
		args = append(args, *ref)
	}
	nameOf("users", u.OwnerUserID)
	nameOf("teams", u.OwnerTeamID)
	nameOf("users", u.CreatedBy)
	q.WriteString("(SELECT COUNT(*) FROM tokens WHERE user_id = ? AND " + activeTokenCond + ")")
	args = append(args, id, now)
	scalars := q.String()

	var (
		teams                                   []TeamRef
		teamID                                  sql.NullInt64
		teamName, ownerUser, ownerTeam, creator sql.NullString
		builtin                                 sql.NullBool
		active                                  int64
		found                                   bool
	)
	rows, err := s.query(ctx, "SELECT "+scalars+`, tm.id, tm.name, tm.builtin
		FROM user_teams ut JOIN teams tm ON tm.id = ut.team_id WHERE ut.user_id = ?`, append(args, id)...)
	if err != nil {
		return nil, 0, fmt.Errorf("models: user detail: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&ownerUser, &ownerTeam, &creator, &active, &teamID, &teamName, &builtin); err != nil {
			return nil, 0, fmt.Errorf("models: user detail: %w", err)
		}
		found = true
		teams = append(teams, TeamRef{ID: teamID.Int64, Name: teamName.String, Builtin: builtin.Bool})
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("models: user detail: %w", err)
	}
	if !found {
		if _, err := s.scanOne(ctx, []any{&ownerUser, &ownerTeam, &creator, &active}, "SELECT "+scalars, args...); err != nil {
			return nil, 0, fmt.Errorf("models: user detail: %w", err)
		}
	}
	sortTeamRefs(teams)
	s.usage.mergeUser(u)
	d := &UserDetail{User: u, Teams: teams}
	if ownerUser.Valid {
		d.OwnerName = ownerUser.String
	}
	if ownerTeam.Valid { // as DetailOf: the team wins should both be set
		d.OwnerName = ownerTeam.String
	}
	d.CreatedBy = creator.String
	return d, active, nil
}

// Overlaps are the rotation overlaps offered: how long the old token keeps
// working next to its replacement.
var Overlaps = map[string]time.Duration{"none": 0, "1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour}

// rotatedName gives a replacement its name: "name-r2", then "-r3", and so on.
func rotatedName(name string) string {
	if i := strings.LastIndex(name, "-r"); i > 0 {
		if n, err := strconv.Atoi(name[i+2:]); err == nil && n >= 2 {
			return name[:i] + "-r" + strconv.Itoa(n+1)
		}
	}
	return name + "-r2"
}

// RotateToken replaces an active token: the new one gets the next rotation
// name and the same lifetime (within the policy), and the old one keeps
// working for the overlap, then expires by itself. Both changes and their
// events share one transaction.
func (s *Store) RotateToken(ctx context.Context, a Actor, id int64, overlap time.Duration) (*Token, string, error) {
	if overlap < 0 || overlap > 7*24*time.Hour {
		return nil, "", NewValidationError("overlap", "Choose an overlap of none, 1 hour, 24 hours or 7 days.")
	}
	secret, err := NewTokenSecret()
	if err != nil {
		return nil, "", err
	}
	var fresh *Token
	err = s.write(ctx, func(tx *gorm.DB) error {
		old, err := tokenByID(tx, id)
		if err != nil {
			return err
		}
		now := s.Now()
		if old.State(now) != TokenActive {
			return s.refuse(tx, a, "token.rotate", tokenTarget(old), &RuleError{Code: "not_active", Message: "Only an active token can be rotated."})
		}
		u, err := userForUpdate(tx, old.UserID)
		if err != nil {
			return err
		}
		if u.Status != StatusActive {
			return s.refuse(tx, a, "token.rotate", tokenTarget(old), errDeactivatedOwner)
		}
		policy, err := tokenPolicy(tx)
		if err != nil {
			return err
		}
		var expires *time.Time
		switch {
		case old.ExpiresAt != nil:
			t := now.Add(old.ExpiresAt.Sub(old.CreatedAt))
			expires = &t
		case !policy.AllowNever:
			t := now.Add(time.Duration(max(policy.DefaultDays, 1)) * 24 * time.Hour)
			expires = &t
		}
		if expires != nil && policy.MaxDays > 0 {
			if limit := now.Add(time.Duration(policy.MaxDays) * 24 * time.Hour); expires.After(limit) {
				expires = &limit
			}
		}
		name := rotatedName(old.Name)
		for {
			var taken int64
			if err := tx.Model(&Token{}).Where("user_id = ? AND name_key = ?", u.ID, strings.ToLower(name)).Count(&taken).Error; err != nil {
				return fmt.Errorf("models: rotate: %w", err)
			}
			if taken == 0 {
				break
			}
			name = rotatedName(name)
		}
		fresh = &Token{
			UserID: u.ID, Name: name, NameKey: strings.ToLower(name), Description: old.Description,
			TokenHash: HashToken(secret), Hint: TokenHint(secret), ExpiresAt: expires, CreatedBy: nonZero(a.ID), CreatedAt: now,
		}
		if err := tx.Create(fresh).Error; err != nil {
			return fmt.Errorf("models: rotate: %w", err)
		}
		oldEnd := now.Add(overlap)
		if old.ExpiresAt != nil && old.ExpiresAt.Before(oldEnd) {
			oldEnd = *old.ExpiresAt
		}
		if err := tx.Model(&Token{}).Where("id = ?", old.ID).Update("expires_at", oldEnd).Error; err != nil {
			return fmt.Errorf("models: rotate: %w", err)
		}
		ch := tokenFields(fresh, u)
		ch.set("replaces", nil, old.Name)
		ch.set("old_expires_at", nil, oldEnd.UTC().Format(time.RFC3339))
		return s.record(tx, a, "token.rotate", OutcomeSuccess, "", tokenTarget(old), ch)
	})
	if err != nil {
		return nil, "", err
	}
	return fresh, secret, nil
}

// RecordIntrospection notes a successful introspection as a use of the
// introspected token (in memory, like every use).
func (s *Store) RecordIntrospection(auth *TokenAuth, ip, userAgent string) {
	s.RecordTokenUse(auth, ip, userAgent)
}
