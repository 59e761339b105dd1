package web

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/warden-console/warden/models"
)

// expiringCard is the overview's "Expiring in 7 days" card.
var expiringCard = regexp.MustCompile(`(?s)<dt>Expiring in 7 days</dt>.*?</div>`)

// TestOverviewSaysWhetherOwnersWereNotified walks the "Expiring in 7 days"
// card through each wording: no channel, some owners notified, all, and no
// channel again. Each is right the moment a notice or an endpoint changes,
// though neither moves the data revision the token counts are kept under.
func TestOverviewSaysWhetherOwnersWereNotified(t *testing.T) {
	f := newInventoryFixture(t) // two tokens expire within a week
	ctx := context.Background()
	st := f.h.srv.Store()
	as := models.AsUser(f.admin)
	card := func(step, want string, notWant ...string) {
		t.Helper()
		got := expiringCard.FindString(f.page(t, "/users"))
		if got == "" {
			t.Fatalf("%s: no Expiring in 7 days card", step)
		}
		if !strings.Contains(got, want) {
			t.Errorf("%s: the card lacks %q:\n%s", step, want, got)
		}
		for _, s := range notWant {
			if strings.Contains(got, s) {
				t.Errorf("%s: the card has %q:\n%s", step, s, got)
			}
		}
	}
	sweep := func() {
		t.Helper()
		if _, err := st.SweepTokenExpiry(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// No endpoint hears token.expiring: the card says so and links to the
	// webhooks settings, even though the sweep notes its notices.
	sweep()
	card("no channel", `<a href="/settings/webhooks" class="link relative">no notifications set up</a>`, "owners notified")
	created, _, err := st.CreateWebhookEndpoint(ctx, as, models.WebhookEndpointInput{URL: "https://hooks.example.com/created", Events: []string{models.EventTokenCreated}, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	card("an endpoint of token.created only", "no notifications set up")

	// An endpoint of token.expiring: the notices noted above count.
	ep, _, err := st.CreateWebhookEndpoint(ctx, as, models.WebhookEndpointInput{URL: "https://hooks.example.com/expiring", Events: []string{models.EventTokenExpiring}, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	card("every owner notified", "<dd>owners notified</dd>", "no notifications", " of ")

	// A new token in the window: not yet notified, then notified by the
	// next sweep, which moves no data revision.
	if _, _, err := st.GenerateToken(ctx, as, f.owners["Airflow"], models.NewToken{Name: "air-new", Expiry: models.Expiry{Days: 6}}); err != nil {
		t.Fatal(err)
	}
	card("a token not yet swept", "<dd>2 of 3 owners notified</dd>")
	sweep()
	card("after the sweep", "<dd>owners notified</dd>", " of ")

	// A token rotated away, working for another hour, was announced by
	// token.rotated: notified. Its replacement, with the same 5-day
	// lifetime, and one more new token are not yet.
	if _, _, err := st.RotateToken(ctx, as, f.ids["air-prod"], time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.GenerateToken(ctx, as, f.owners["Airflow"], models.NewToken{Name: "air-late", Expiry: models.Expiry{Days: 2}}); err != nil {
		t.Fatal(err)
	}
	card("a rotation and a new token", "<dd>3 of 5 owners notified</dd>")

	// The channel turned off: nobody is told any more.
	if _, err := st.UpdateWebhookEndpoint(ctx, as, ep.ID, models.WebhookEndpointInput{URL: ep.URL, Events: []string{models.EventTokenExpiring}, Enabled: false}); err != nil {
		t.Fatal(err)
	}
	card("the endpoint disabled", "no notifications set up", "owners notified")
	// An endpoint of every event carries token.expiring too.
	if _, err := st.UpdateWebhookEndpoint(ctx, as, created.ID, models.WebhookEndpointInput{URL: created.URL, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	card("an endpoint of every event", "<dd>3 of 5 owners notified</dd>")
}
