package web

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/warden-console/warden/models"
)

// TestTeamPageListsMembersAndOwnedUsers: a team's page lists its active
// members and the service users it owns, 25 a page, each linking to the
// user, and each list pages without losing the other's page.
func TestTeamPageListsMembersAndOwnedUsers(t *testing.T) {
	h, c, admin := signedIn(t)
	ctx := context.Background()
	st := h.srv.Store()
	a := models.AsUser(admin)
	team, err := st.CreateTeam(ctx, a, models.TeamInput{Name: "Platform"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := st.CreateTeam(ctx, a, models.TeamInput{Name: "Elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	mk := func(name string, in models.NewServiceUser) {
		in.Name, in.Role = name, models.RoleMember
		u, err := st.CreateServiceUser(ctx, a, in)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = u.ID
	}
	for i := range 30 { // members, named so that the order is known
		mk(fmt.Sprintf("Member %02d", i), models.NewServiceUser{TeamIDs: []int64{team.ID}})
	}
	for i := range 27 { // owned by the team, not members of it
		mk(fmt.Sprintf("Owned %02d", i), models.NewServiceUser{Owner: models.Owner{TeamID: team.ID}})
	}
	mk("Gone member", models.NewServiceUser{TeamIDs: []int64{team.ID}})
	mk("Gone owned", models.NewServiceUser{Owner: models.Owner{TeamID: team.ID}})
	mk("Stranger", models.NewServiceUser{TeamIDs: []int64{other.ID}, Owner: models.Owner{TeamID: other.ID}})
	for _, n := range []string{"Gone member", "Gone owned"} {
		if _, err := st.DeactivateUser(ctx, a, ids[n]); err != nil {
			t.Fatal(err)
		}
	}

	path := fmt.Sprintf("/teams/%d", team.ID)
	section := func(heading string) string {
		t.Helper()
		i := strings.Index(c.lastBody, `>`+heading+`</h2>`)
		if i < 0 {
			t.Fatalf("no %q list on %s", heading, path)
		}
		rest := c.lastBody[i:]
		if j := strings.Index(rest, "</section>"); j >= 0 {
			rest = rest[:j]
		}
		return rest
	}
	linked := func(list, name string) bool {
		return strings.Contains(list, fmt.Sprintf(`<a href="/users/%d">%s</a>`, ids[name], name))
	}
	expectStatus(t, c.get(path), http.StatusOK)
	members, owned := section("Active members"), section("Service users it owns")
	for i := range 30 {
		name := fmt.Sprintf("Member %02d", i)
		if linked(members, name) != (i < 25) {
			t.Errorf("page 1 of members: %s listed = %v", name, !(i < 25))
		}
	}
	for i := range 27 {
		name := fmt.Sprintf("Owned %02d", i)
		if linked(owned, name) != (i < 25) {
			t.Errorf("page 1 of owned users: %s listed = %v", name, !(i < 25))
		}
	}
	if linked(members, "Gone member") || linked(members, "Stranger") || linked(owned, "Stranger") || linked(members, "Owned 00") {
		t.Error("a deactivated member or another team's user is listed")
	}
	if !strings.Contains(members, "Showing <span class=\"font-medium text-slate-900\">1–25</span> of <span class=\"font-medium text-slate-900\">30</span>") {
		t.Errorf("the members' pager does not count 30: %s", snippet(members))
	}
	if !strings.Contains(members, `href="`+path+`?page=2"`) || !strings.Contains(owned, `href="`+path+`?owned_page=2"`) {
		t.Error("no link to the second page of each list")
	}

	// Page 2 of the owned users keeps page 2 of the members, and the other
	// way round.
	expectStatus(t, c.get(path+"?page=2&owned_page=2"), http.StatusOK)
	members, owned = section("Active members"), section("Service users it owns")
	for i := 25; i < 30; i++ {
		if name := fmt.Sprintf("Member %02d", i); !linked(members, name) {
			t.Errorf("page 2 of members lacks %s", name)
		}
	}
	for _, name := range []string{"Owned 25", "Owned 26", "Gone owned"} {
		if !linked(owned, name) {
			t.Errorf("page 2 of owned users lacks %s", name)
		}
	}
	if !regexp.MustCompile(`Gone owned</a><span class="badge badge-red">Deactivated</span>`).MatchString(owned) {
		t.Error("a deactivated owned user is not marked")
	}
	if !strings.Contains(members, `href="`+path+`?owned_page=2" rel="prev"`) || !strings.Contains(owned, `href="`+path+`?page=2" rel="prev"`) {
		t.Errorf("paging one list loses the other's page")
	}
	if strings.Count(c.lastBody, `aria-label="Active members: pages"`) != 1 || strings.Count(c.lastBody, `aria-label="Service users it owns: pages"`) != 1 {
		t.Error("the two pagers are not told apart")
	}

	// A team with neither says so; a page number that is not one is page 1.
	expectStatus(t, c.get(fmt.Sprintf("/teams/%d?page=abc&owned_page=-3", other.ID)), http.StatusOK)
	if !linked(section("Active members"), "Stranger") {
		t.Error("a bad page number did not fall back to the first page")
	}
	empty, err := st.CreateTeam(ctx, a, models.TeamInput{Name: "Empty"})
	if err != nil {
		t.Fatal(err)
	}
	expectStatus(t, c.get(fmt.Sprintf("/teams/%d", empty.ID)), http.StatusOK)
	if !strings.Contains(c.lastBody, "No active members.") || !strings.Contains(c.lastBody, "It owns no service users.") {
		t.Error("an empty team's lists are not explained")
	}
}
