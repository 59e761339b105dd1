package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAuditCustomDates: the From and To inputs show only with the period
// "Custom date" (or dates in the URL), hidden and disabled otherwise.
func TestAuditCustomDates(t *testing.T) {
	h, c, admin := signedIn(t)
	seedTeams(t, h, admin, 3, "Dated")
	today := h.clock.Now().UTC().Format("2006-01-02")
	shown := func(t *testing.T, want bool) {
		t.Helper()
		for _, id := range []string{"from", "to"} {
			div := regexp.MustCompile(`<div id="custom-` + id + `" data-custom-date( hidden)?>`).FindStringSubmatch(c.lastBody)
			input := regexp.MustCompile(`<input id="` + id + `" name="` + id + `" type="date"[^>]*>`).FindString(c.lastBody)
			if div == nil || input == "" {
				t.Fatalf("no %s date input", id)
			}
			if hidden := div[1] != ""; hidden == want || strings.Contains(input, " disabled") == want {
				t.Errorf("%s: hidden %v, input %s; want shown = %v", id, hidden, input, want)
			}
		}
		if custom := strings.Contains(c.lastBody, `<option value="custom" selected>Custom date</option>`); custom != want {
			t.Errorf("Custom date selected = %v, want %v", custom, want)
		}
	}
	for path, want := range map[string]bool{
		"/audit":                            false,
		"/audit?range=90d":                  false,
		"/audit?range=7d&from=" + today:     false, // the period wins over the dates
		"/audit?range=custom":               true,
		"/audit?range=custom&from=" + today: true,
		"/audit?from=" + today:              true, // links made before "Custom date" existed
	} {
		t.Run(path, func(t *testing.T) {
			expectStatus(t, c.get(path), http.StatusOK)
			shown(t, want)
		})
	}
	expectStatus(t, c.get("/audit?range=custom&from="+today+"&to="+today), http.StatusOK)
	if !strings.Contains(c.lastBody, `value="`+today+`"`) || !strings.Contains(c.lastBody, "Dated 002") {
		t.Error("a custom period does not keep its dates or list its events")
	}
	if strings.Contains(c.lastBody, "Unknown range") {
		t.Error("the console's custom period is reported as an unknown range")
	}
	expectStatus(t, c.get("/audit/export.csv?range=custom&from="+today), http.StatusOK)
}

// TestAuditEndBeforeStart: the notice and the list agree. An end date
// before the start is an empty period: the notice says no event can match,
// the list is empty, and both dates stay in the form to be corrected.
func TestAuditEndBeforeStart(t *testing.T) {
	h, c, admin := signedIn(t)
	seedTeams(t, h, admin, 3, "Dated")
	now := h.clock.Now().UTC()
	today, yesterday := now.Format("2006-01-02"), now.Add(-24*time.Hour).Format("2006-01-02")
	expectStatus(t, c.get("/audit?from="+today+"&to="+yesterday), http.StatusOK)
	for _, want := range []string{
		"The end date is before the start date; no event can match: change one of the dates.",
		"No events match these filters.",
		`value="` + today + `"`, `value="` + yesterday + `"`,
	} {
		if !strings.Contains(c.lastBody, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(c.lastBody, "Dated 002") || strings.Contains(c.lastBody, "ignored") {
		t.Error("the list shows events, or the notice says the date was ignored")
	}
	// The same dates the right way round list the events.
	expectStatus(t, c.get("/audit?from="+yesterday+"&to="+today), http.StatusOK)
	if !strings.Contains(c.lastBody, "Dated 002") || strings.Contains(c.lastBody, "before the start date") {
		t.Error("a valid period does not list its events")
	}
}
