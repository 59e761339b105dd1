package models

import (
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
// name. The list is kept until the generation moves (teams only change
// through audited writes), so the Users page does not read it every time.
func (s *Store) AllTeams(ctx context.Context) ([]TeamRef, error) {
	dir, err := s.teams.get(ctx, s, s.loadTeamDirectory)
	if err != nil {
		return nil, err
	}
	return slices.Clone(dir.list), nil
}

// teamDirectory is every team, as AllTeams lists them and by id with the
// rank of each in a user's chips.
type teamDirectory struct {
	list []TeamRef
	byID map[int64]rankedTeam
}

type rankedTeam struct {
	TeamRef
	// rank orders a user's teams: named teams by name, Public last (it
	// is on every row and says the least).
	rank int
}

func (s *Store) loadTeamDirectory(ctx context.Context) (*teamDirectory, error) {
	var list []TeamRef
	err := s.readDB(ctx).Model(&Team{}).Select("id, name, builtin").
		Order("builtin DESC, " + s.dialect.nocase("name") + ", id").Scan(&list).Error
	if err != nil {
		return nil, fmt.Errorf("models: teams: %w", err)
	}
	dir := &teamDirectory{list: list, byID: make(map[int64]rankedTeam, len(list))}
	for i, t := range list {
		rank := i
		if t.Builtin {
			rank += len(list)
		}
		dir.byID[t.ID] = rankedTeam{TeamRef: t, rank: rank}
	}
	return dir, nil
}

// teamsOf returns the teams of each user in ids. One query reads the
// memberships from the (user_id, team_id) key alone; names come from the
// team directory kept at gen, the generation the caller has read.
func (s *Store) teamsOf(ctx context.Context, gen generation, ids []int64) (map[int64][]TeamRef, error) {
	out := make(map[int64][]TeamRef, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.readDB(ctx).Raw(`SELECT user_id, team_id FROM user_teams WHERE user_id IN ?`, ids).Rows()
	if err != nil {
		return nil, fmt.Errorf("models: teams of users: %w", err)
	}
	defer rows.Close()
	members := make([]membership, 0, 2*len(ids))
	for rows.Next() {
		var m membership
		if err := rows.Scan(&m.user, &m.team); err != nil {
			return nil, fmt.Errorf("models: teams of users: %w", err)
		}
		members = append(members, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("models: teams of users: %w", err)
	}
	return s.teamRefs(ctx, gen, members)
}

// membership is one row of user_teams.
type membership struct{ user, team int64 }

// teamRefs names the teams of these memberships from the team directory,
// each user's in chip order.
func (s *Store) teamRefs(ctx context.Context, gen generation, members []membership) (map[int64][]TeamRef, error) {
	out := make(map[int64][]TeamRef)
	dir, err := s.teams.getAt(ctx, gen, s.loadTeamDirectory)
	if err != nil {
		return nil, err
	}
	for _, m := range members {
		if _, ok := dir.byID[m.team]; !ok {
			// A team made (by another process) after the generation was
			// read: read the directory afresh, once.
			if dir, err = s.loadTeamDirectory(ctx); err != nil {
				return nil, err
			}
			break
		}
	}
	for _, m := range members {
		if t, ok := dir.byID[m.team]; ok { // else deleted meanwhile
			out[m.user] = append(out[m.user], t.TeamRef)
		}
	}
	for _, teams := range out {
		slices.SortFunc(teams, func(a, b TeamRef) int { return dir.byID[a.ID].rank - dir.byID[b.ID].rank })
	}
	return out, nil
}

// OwnerChoice is a person who may own a service user.
type OwnerChoice struct {
	ID    int64
	Name  string
	Email string
}

// OwnerChoices lists active people for the owner picker, by name.
func (s *Store) OwnerChoices(ctx context.Context) ([]OwnerChoice, error) {
	var out []OwnerChoice
	err := s.db.WithContext(ctx).Model(&User{}).Select("id, name, email").
		Where("kind = ? AND status = ?", KindHuman, StatusActive).
		Order(s.dialect.nocase("name") + ", id").Limit(1000).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: owner choices: %w", err)
	}
	return out, nil
}
