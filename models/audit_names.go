package models

import (
	"context"
	"fmt"
	"slices"
)

// NameEvents fills the names the console words events with: ActorName and
// OwnerName, and TokenName for the token an API caller used. They are read
// by id, and say what they said when the event was written: no name of a
// user or a token ever changes (a team's does, so a team is named by the
// label its event recorded). A token deleted since is named by the log's
// own events about it, and marked TokenGone. Two or three reads for a
// page, whatever its length.
func (s *Store) NameEvents(ctx context.Context, events []Event) error {
	var userIDs, tokenIDs []int64
	for _, e := range events {
		for _, id := range []*int64{e.ActorID, e.OwnerID} {
			if id != nil {
				userIDs = append(userIDs, *id)
			}
		}
		if e.TokenID != nil {
			tokenIDs = append(tokenIDs, *e.TokenID)
		}
	}
	users, err := s.namesByID(ctx, "users", userIDs)
	if err != nil {
		return err
	}
	tokens, err := s.namesByID(ctx, "tokens", tokenIDs)
	if err != nil {
		return err
	}
	var gone []int64
	for _, id := range tokenIDs {
		if _, ok := tokens[id]; !ok {
			gone = append(gone, id)
		}
	}
	deleted := map[int64]string{}
	if len(gone) > 0 {
		slices.Sort(gone)
		var rows []struct {
			TargetID    int64
			TargetLabel string
		}
		// Every event about a token carries its name as the target label.
		if err := s.db.WithContext(ctx).Model(&Event{}).Select("target_id, MIN(target_label) AS target_label").
			Where("target_kind = ? AND target_id IN ?", "token", slices.Compact(gone)).
			Group("target_id").Scan(&rows).Error; err != nil {
			return fmt.Errorf("models: name deleted tokens: %w", err)
		}
		for _, r := range rows {
			deleted[r.TargetID] = r.TargetLabel
		}
	}
	for i := range events {
		e := &events[i]
		if e.ActorID != nil {
			e.ActorName = users[*e.ActorID]
		}
		if e.OwnerID != nil {
			e.OwnerName = users[*e.OwnerID]
		}
		if e.TokenID != nil {
			if name, ok := tokens[*e.TokenID]; ok {
				e.TokenName = name
			} else {
				e.TokenName, e.TokenGone = deleted[*e.TokenID], true
			}
		}
	}
	return nil
}

// namesByID reads the names of the rows of table with the given ids.
func (s *Store) namesByID(ctx context.Context, table string, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	slices.Sort(ids)
	var rows []struct {
		ID   int64
		Name string
	}
	if err := s.db.WithContext(ctx).Table(table).Select("id, name").
		Where("id IN ?", slices.Compact(ids)).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("models: names of %s: %w", table, err)
	}
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}
