package views

import (
	"strings"
	"testing"
	"time"
)

func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "",
		"ada@example.com":        "ada@example.com",
		"deploy bot ~ {x}":       "deploy bot ~ {x}",
		"a\nb\rc\td":             `a\nb\rc\td`,
		"bell\x07 del\x7f":       `bell\u0007 del\u007f`,
		"Zoë":                    "Zoë",
		"evil\u202Egnp.exe":      `evil\u202egnp.exe`,
		"iso\u2066x\u2069\u200E": `iso\u2066x\u2069\u200e`,
	} {
		if got := OneLine(in); got != want {
			t.Errorf("OneLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestChartNumbers(t *testing.T) {
	for f, want := range map[float64]string{0: "0.0", -0.04: "-0.0", 22.95: "22.9", 0.25: "0.2", 0.35: "0.3", 720: "720.0", 12.25: "12.2", 12.26: "12.3", 1.0 / 3: "0.3", -2.5: "-2.5"} {
		if got := fmtFloat(f); got != want {
			t.Errorf("fmtFloat(%v) = %q, want %q", f, got, want)
		}
	}
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	c := BuildChart([]DayCount{{Day: day, Human: 3, Automated: 12}})
	if len(c.Bars) != 1 || c.Bars[0].Title != "1 Mar 2026: 3 by people, 12 automated" || c.Max != 15 {
		t.Errorf("chart: %+v", c)
	}
	// One 504-wide bar centred in 720: 3 of 15 is 24 of the 120 high plot,
	// at its foot; the 12 automated stack above it to the top.
	if c.HumanPath != "M108.0 96.0h504.0v24.0h-504.0z" || c.AutoPath != "M108.0 0.0h504.0v96.0h-504.0z" {
		t.Errorf("paths %q, %q", c.HumanPath, c.AutoPath)
	}
	if b := c.Bars[0]; b.X != "0.0" || b.Width != "720.0" || c.Baseline != "120.0" {
		t.Errorf("hover column x %s width %s, baseline %s", b.X, b.Width, c.Baseline)
	}
	// A series of zeros draws nothing; a day of nothing adds no bar.
	c = BuildChart([]DayCount{{Day: day, Human: 2}, {Day: day.AddDate(0, 0, 1)}})
	if c.AutoPath != "" || strings.Count(c.HumanPath, "M") != 1 || len(c.Bars) != 2 {
		t.Errorf("sparse chart: %+v", c)
	}
}
