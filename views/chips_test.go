package views

import (
	"context"
	"strings"
	"testing"
)

// TestTeamChipsNameTheRest fails when a row's "+N" names its hidden teams
// only on hover (title), not to a screen reader, or escapes them wrongly.
func TestTeamChipsNameTheRest(t *testing.T) {
	teams := []TeamChip{{ID: 1, Name: "Platform"}, {ID: 2, Name: "Data & ML"}, {ID: 3, Name: "SRE"}, {ID: 4, Name: "<b>Ops</b>"}}
	var b strings.Builder
	if err := TeamChips(teams, 2).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{
		`href="/users?team=1"`, `href="/users?team=2"`, `Data &amp; ML`,
		`title="SRE, &lt;b&gt;Ops&lt;/b&gt;">+2<span class="sr-only">: SRE, &lt;b&gt;Ops&lt;/b&gt;</span>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("TeamChips lacks %s:\n%s", want, html)
		}
	}
	if strings.Contains(html, `href="/users?team=3"`) || strings.Contains(html, "<b>") {
		t.Errorf("TeamChips shows a third chip or unescaped markup:\n%s", html)
	}
}
