package views

import (
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
	for f, want := range map[float64]string{0: "0.0", 720: "720.0", 12.25: "12.2", 12.26: "12.3", 1.0 / 3: "0.3", -2.5: "-2.5"} {
		if got := fmtFloat(f); got != want {
			t.Errorf("fmtFloat(%v) = %q, want %q", f, got, want)
		}
	}
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	c := BuildChart([]DayCount{{Day: day, Human: 3, Automated: 12}})
	if len(c.Bars) != 1 || c.Bars[0].Title != "1 Mar 2026: 3 by people, 12 automated" || c.Max != 15 {
		t.Errorf("chart: %+v", c)
	}
}
