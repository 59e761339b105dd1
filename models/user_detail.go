package models

import (
	"context"
	"database/sql"
	"fmt"
)

// UserDetail is what the user page shows beyond the user itself.
type UserDetail struct {
	User      *User
	Teams     []TeamRef
	OwnerName string // the owning person's or team's name, "" when none
	CreatedBy string // the creating admin's name, "" when unknown
}

// UserDetail loads a user with its teams, owner and creator names.
func (s *Store) UserDetail(ctx context.Context, id int64) (*UserDetail, error) {
	u, err := s.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.DetailOf(ctx, u)
}

// DetailOf completes a user already loaded (by bearer authentication, say)
// with its teams, owner and creator names, without reading it again.
func (s *Store) DetailOf(ctx context.Context, u *User) (*UserDetail, error) {
	teams, err := s.UserTeams(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	var ownerUser, ownerTeam, creator sql.NullString
	err = s.db.WithContext(ctx).Raw(`SELECT (SELECT name FROM users WHERE id = ?), (SELECT name FROM teams WHERE id = ?),
		(SELECT name FROM users WHERE id = ?)`, u.OwnerUserID, u.OwnerTeamID, u.CreatedBy).Row().Scan(&ownerUser, &ownerTeam, &creator)
	if err != nil {
		return nil, fmt.Errorf("models: user detail: %w", err)
	}
	s.usage.mergeUser(u)
	d := &UserDetail{User: u, Teams: teams, OwnerName: ownerUser.String, CreatedBy: creator.String}
	if ownerTeam.Valid { // the team wins should both be set
		d.OwnerName = ownerTeam.String
	}
	return d, nil
}

// APIDetailOf is DetailOf with the number of the user's working tokens.
func (s *Store) APIDetailOf(ctx context.Context, u *User) (*UserDetail, int64, error) {
	d, err := s.DetailOf(ctx, u)
	if err != nil {
		return nil, 0, err
	}
	n, err := s.ActiveTokenCount(ctx, u.ID)
	if err != nil {
		return nil, 0, err
	}
	return d, n, nil
}
