package models

import (
	"context"
	"strings"
	"testing"
)

// TestLookalikes: a name mixing scripts, or whose user_id differs from an
// existing one only by "-" and "_", or reads like one once its foreign
// letters are read as Latin, gets a warning naming the lookalike; a plain
// name gets none.
func TestLookalikes(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	admin := AsUser(mustAdmin(t, s, "ada@example.com"))
	for _, n := range []string{"Admin bot", "Deploy_bot", "Paypal sync"} {
		if _, err := s.CreateServiceUser(ctx, admin, NewServiceUser{Name: n, Role: RoleMember}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		want []string // each a part of one warning, in order; none: no warning
	}{
		{"Billing sync", nil},
		{"Café bot", nil},     // accents are Latin
		{"Деплой бот", nil},   // one script, nothing like an existing user
		{"Deploy bot 2", nil}, // another user_id altogether
		{"\u0430dmin bot", []string{"mixes Latin and Cyrillic letters (а Cyrillic)", "reads like Admin bot (admin_bot@service)"}},
		{"Deploy-bot", []string{"deploy-bot@service differs from Deploy_bot's deploy_bot@service only by “-” and “_”"}},
		{"P\u0430yp\u0430l sync", []string{"mixes Latin and Cyrillic", "reads like Paypal sync (paypal_sync@service)"}},
		{"\u0391dmin bot", []string{"mixes Latin and Greek letters (Α Greek)", "reads like Admin bot"}},
	} {
		got, err := s.Lookalikes(ctx, c.name)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(c.want) {
			t.Errorf("%q: %q; want %d warnings", c.name, got, len(c.want))
			continue
		}
		for i, w := range c.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%q: warning %q; want it to say %q", c.name, got[i], w)
			}
		}
	}
}
