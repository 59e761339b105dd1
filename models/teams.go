package models

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// TeamRow is a team with its number of active members.
type TeamRow struct {
	Team
	Members int64
}

// teamKey is the case-insensitive uniqueness key of a team name.
func teamKey(name string) string { return strings.ToLower(name) }

// Teams lists every team, Public first, then by name, with active member counts.
func (s *Store) Teams(ctx context.Context) ([]TeamRow, error) {
	var rows []TeamRow
	err := s.db.WithContext(ctx).Raw(`SELECT t.*, COALESCE(m.n, 0) AS members
		FROM teams t
		LEFT JOIN (SELECT ut.team_id, COUNT(*) AS n FROM user_teams ut JOIN users u ON u.id = ut.user_id
		           WHERE u.status = 'active' GROUP BY ut.team_id) m ON m.team_id = t.id
		ORDER BY t.builtin DESC, ` + s.dialect.nocase("t.name") + `, t.id`).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: list teams: %w", err)
	}
	return rows, nil
}

// TeamByID returns a team with its active member count, or ErrNotFound.
func (s *Store) TeamByID(ctx context.Context, id int64) (*TeamRow, error) {
	var rows []TeamRow
	err := s.db.WithContext(ctx).Raw(`SELECT t.*,
		(SELECT COUNT(*) FROM user_teams ut JOIN users u ON u.id = ut.user_id WHERE ut.team_id = t.id AND u.status = 'active') AS members
		FROM teams t WHERE t.id = ?`, id).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: team %d: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	return &rows[0], nil
}

// TeamInput is what an administrator types for a team.
type TeamInput struct {
	Name        string
	Description string
}

func (in TeamInput) clean() (name, desc string, err error) {
	ve := &ValidationError{}
	name, msg := CleanName(in.Name)
	if msg != "" {
		ve.Add("name", strings.Replace(msg, "Enter a name.", "Enter a team name.", 1))
	}
	desc, msg = cleanDescription(in.Description)
	if msg != "" {
		ve.Add("description", msg)
	}
	return name, desc, ve.OrNil()
}

func nameTaken(tx *gorm.DB, key string, exceptID int64) error {
	var n int64
	if err := tx.Model(&Team{}).Where("name_key = ? AND id <> ?", key, exceptID).Count(&n).Error; err != nil {
		return fmt.Errorf("models: check team name: %w", err)
	}
	if n > 0 {
		return NewConflictError("name", "A team with this name already exists.")
	}
	return nil
}

// CreateTeam creates a team; names are unique regardless of case.
func (s *Store) CreateTeam(ctx context.Context, a Actor, in TeamInput) (*Team, error) {
	name, desc, err := in.clean()
	if err != nil {
		return nil, err
	}
	var t *Team
	err = s.write(ctx, func(tx *gorm.DB) error {
		if err := nameTaken(tx, teamKey(name), 0); err != nil {
			return err
		}
		now := s.Now()
		t = &Team{Name: name, NameKey: teamKey(name), Description: desc, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(t).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return NewConflictError("name", "A team with this name already exists.")
			}
			return fmt.Errorf("models: create team: %w", err)
		}
		ch := Changes{}
		ch.set("name", nil, t.Name)
		ch.set("description", nil, t.Description)
		return s.record(tx, a, "team.create", OutcomeSuccess, "", teamTarget(t), ch)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// UpdateTeam renames and describes a team. The Public team may be described
// but not renamed.
func (s *Store) UpdateTeam(ctx context.Context, a Actor, id int64, in TeamInput) (*Team, error) {
	name, desc, err := in.clean()
	if err != nil {
		return nil, err
	}
	var t Team
	err = s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Take(&t, id).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("models: team %d: %w", id, err)
		}
		before := t
		if t.Builtin && name != t.Name {
			return NewValidationError("name", ErrBuiltinTeam.Message)
		}
		if err := nameTaken(tx, teamKey(name), t.ID); err != nil {
			return err
		}
		t.Name, t.NameKey, t.Description, t.UpdatedAt = name, teamKey(name), desc, s.Now()
		if err := tx.Model(&Team{}).Where("id = ?", t.ID).Updates(map[string]any{
			"name": t.Name, "name_key": t.NameKey, "description": t.Description, "updated_at": t.UpdatedAt,
		}).Error; err != nil {
			return fmt.Errorf("models: update team: %w", err)
		}
		ch := Changes{}
		ch.set("name", before.Name, t.Name)
		ch.set("description", before.Description, t.Description)
		if len(ch) == 0 {
			return nil // nothing changed, nothing to record
		}
		return s.record(tx, a, "team.update", OutcomeSuccess, "", teamTarget(&t), ch)
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// DeleteTeam deletes a team and its memberships, never its users. The
// members' team counts and any ownership by the team are updated in the same
// transaction.
func (s *Store) DeleteTeam(ctx context.Context, a Actor, id int64) (*Team, error) {
	var t Team
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Take(&t, id).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("models: team %d: %w", id, err)
		}
		if t.Builtin {
			return s.refuse(tx, a, "team.delete", teamTarget(&t), ErrBuiltinTeam)
		}
		if err := tx.Exec(`UPDATE users SET team_count = team_count - 1
			WHERE id IN (SELECT user_id FROM user_teams WHERE team_id = ?)`, id).Error; err != nil {
			return fmt.Errorf("models: team counts: %w", err)
		}
		if err := tx.Delete(&Team{}, id).Error; err != nil {
			return fmt.Errorf("models: delete team: %w", err)
		}
		ch := Changes{}
		ch.set("name", t.Name, nil)
		return s.record(tx, a, "team.delete", OutcomeSuccess, "", teamTarget(&t), ch)
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// TeamRef is a team as shown in chips and pickers.
type TeamRef struct {
	ID      int64
	Name    string
	Builtin bool
}

// AllTeams lists every team for pickers and filters: Public first, then by
// name.
func (s *Store) AllTeams(ctx context.Context) ([]TeamRef, error) {
	var list []TeamRef
	err := s.db.WithContext(ctx).Model(&Team{}).Select("id, name, builtin").
		Order("builtin DESC, " + s.dialect.nocase("name") + ", id").Scan(&list).Error
	if err != nil {
		return nil, fmt.Errorf("models: teams: %w", err)
	}
	return list, nil
}

// TeamByName finds a team by name, ignoring case.
func (s *Store) TeamByName(ctx context.Context, name string) (*Team, error) {
	var t Team
	err := s.db.WithContext(ctx).Where("name_key = ?", teamKey(strings.TrimSpace(name))).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("models: team %q: %w", name, err)
	}
	return &t, nil
}

// teamsOf returns the teams of each user in ids, each user's in chip order
// (see sortTeamRefs).
func (s *Store) teamsOf(ctx context.Context, ids []int64) (map[int64][]TeamRef, error) {
	out := make(map[int64][]TeamRef, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		UserID int64
		TeamRef
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT ut.user_id, t.id, t.name, t.builtin FROM user_teams ut
		JOIN teams t ON t.id = ut.team_id WHERE ut.user_id IN ?`, ids).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("models: teams of users: %w", err)
	}
	for _, r := range rows {
		out[r.UserID] = append(out[r.UserID], r.TeamRef)
	}
	for _, teams := range out {
		sortTeamRefs(teams)
	}
	return out, nil
}

// teamNamesOf lists a user's team names, sorted, for before/after changes.
func (s *Store) teamNamesOf(tx *gorm.DB, userID int64) ([]string, error) {
	var names []string
	err := tx.Raw(`SELECT t.name FROM user_teams ut JOIN teams t ON t.id = ut.team_id
		WHERE ut.user_id = ? ORDER BY `+s.dialect.nocase("t.name"), userID).Scan(&names).Error
	if err != nil {
		return nil, fmt.Errorf("models: team names: %w", err)
	}
	return names, nil
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

// UserTeams returns the teams of one user, named teams by name (ignoring
// ASCII case), the built-in Public team last.
func (s *Store) UserTeams(ctx context.Context, userID int64) ([]TeamRef, error) {
	teams, err := s.teamsOf(ctx, []int64{userID})
	return teams[userID], err
}

// sortTeamRefs orders one user's teams for its chips: named teams by name
// (as COLLATE NOCASE would, in Go so that both databases agree), Public
// last, since it is on every row and says the least.
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
