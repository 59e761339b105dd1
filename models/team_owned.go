package models

import (
	"context"
	"fmt"
)

// TeamOwnedPage is one page of the service users a team owns.
type TeamOwnedPage struct {
	Users []User
	Total int64
}

// TeamOwnedUsers returns one page of the service users the team owns,
// active ones first, then by name. Deactivated ones are listed too: the
// team still answers for them, and they can be restored.
func (s *Store) TeamOwnedUsers(ctx context.Context, teamID int64, page, perPage int) (TeamOwnedPage, error) {
	var out TeamOwnedPage
	if perPage <= 0 {
		perPage = DefaultPerPage
	}
	db := s.db.WithContext(ctx).Table("users AS u").Where("u.owner_team_id = ?", teamID)
	if err := db.Count(&out.Total).Error; err != nil {
		return out, fmt.Errorf("models: count users owned by team %d: %w", teamID, err)
	}
	if out.Total == 0 {
		return out, nil
	}
	err := s.db.WithContext(ctx).Table("users AS u").Omit("password_hash", "search_text").
		Where("u.owner_team_id = ?", teamID).
		Order("CASE WHEN u.status = 'active' THEN 0 ELSE 1 END, " + s.dialect.nocase("u.name") + ", u.id").
		Limit(perPage).Offset((max(page, 1) - 1) * perPage).Find(&out.Users).Error
	if err != nil {
		return out, fmt.Errorf("models: users owned by team %d: %w", teamID, err)
	}
	return out, nil
}
