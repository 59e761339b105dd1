package models

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/mtibben/confusables"
)

// scriptNames are the scripts a lookalike warning names; letters of other
// scripts count as "other".
var scriptNames = []struct {
	name  string
	table *unicode.RangeTable
}{
	{"Latin", unicode.Latin}, {"Cyrillic", unicode.Cyrillic}, {"Greek", unicode.Greek},
	{"Armenian", unicode.Armenian}, {"Cherokee", unicode.Cherokee}, {"Coptic", unicode.Coptic},
}

func scriptOf(r rune) string {
	for _, s := range scriptNames {
		if unicode.Is(s.table, r) {
			return s.name
		}
	}
	return "other"
}

// Lookalikes warns about a new service user's name that could pass for
// another one: letters from more than one script ("аdmin bot" with a
// Cyrillic а), or a user_id that only "-" and "_" (or such letters) tell
// apart from an existing user_id. Each warning is a sentence naming the
// lookalike; none means the name is plain. It is advice the console asks
// to confirm, not a rule: the API creates such names without asking.
func (s *Store) Lookalikes(ctx context.Context, name string) ([]string, error) {
	name, _ = CleanName(name)
	id := DeriveUserID(name)
	if id == "" {
		return nil, nil
	}
	var warnings []string
	// Letters by script, and the name with other scripts' lookalike letters
	// written in Latin (UTS #39 confusables).
	var scripts []string
	foreign := map[string][]string{}
	var latin strings.Builder
	for _, r := range name {
		if !unicode.IsLetter(r) {
			latin.WriteRune(r)
			continue
		}
		sc := scriptOf(r)
		if !slices.Contains(scripts, sc) {
			scripts = append(scripts, sc)
		}
		if sc == "Latin" {
			latin.WriteRune(r)
			continue
		}
		if len(foreign[sc]) < 3 && !slices.Contains(foreign[sc], string(r)) {
			foreign[sc] = append(foreign[sc], string(r))
		}
		if sk := confusables.Skeleton(string(r)); isASCIILetters(sk) {
			latin.WriteString(sk)
		} else {
			latin.WriteRune(r)
		}
	}
	if len(scripts) > 1 {
		// Latin first: the other scripts' letters are the ones to point at.
		slices.SortStableFunc(scripts, func(a, b string) int { return boolRank(a != "Latin") - boolRank(b != "Latin") })
		var which []string
		for _, sc := range scripts {
			if sc != "Latin" {
				which = append(which, strings.Join(foreign[sc], " ")+" "+sc)
			}
		}
		warnings = append(warnings, fmt.Sprintf("“%s” mixes %s letters (%s).", name, strings.Join(scripts, " and "), strings.Join(which, "; ")))
	}
	// Existing user_ids that read the same once "-" is "_": the derived id,
	// and the one the name would have in Latin letters.
	keys := []string{strings.ReplaceAll(id, "-", "_")}
	if alt := DeriveUserID(latin.String()); alt != "" && alt != id {
		keys = append(keys, strings.ReplaceAll(alt, "-", "_"))
	}
	var found []struct{ Name, UserID string }
	if err := s.db.WithContext(ctx).Table("users").Select("name, user_id").
		Where("kind = 'service' AND user_id <> ? AND REPLACE(user_id, '-', '_') IN ?", id, keys).
		Order("user_id").Limit(3).Scan(&found).Error; err != nil {
		return nil, fmt.Errorf("models: lookalikes: %w", err)
	}
	for _, f := range found {
		if strings.ReplaceAll(f.UserID, "-", "_") == keys[0] {
			warnings = append(warnings, fmt.Sprintf("Its user_id %s differs from %s's %s only by “-” and “_”.", id, f.Name, f.UserID))
		} else {
			warnings = append(warnings, fmt.Sprintf("It reads like %s (%s), which exists.", f.Name, f.UserID))
		}
	}
	return warnings, nil
}

func isASCIILetters(s string) bool {
	for _, r := range s {
		if r > unicode.MaxASCII || !unicode.IsLetter(r) {
			return false
		}
	}
	return s != ""
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
