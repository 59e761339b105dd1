package views

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// OneLine shows a stored value on one line: line breaks, tabs, other control
// characters and text-direction overrides appear as visible escapes instead
// of acting on the page.
func OneLine(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case escaped(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// escaped reports whether OneLine shows r as an escape: control characters
// and the marks that override the direction of text.
func escaped(r rune) bool {
	return unicode.IsControl(r) || (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069') || r == '\u200E' || r == '\u200F' || r == '\u061C'
}

// AuditRow is one event in the list.
type AuditRow struct {
	ID          int64
	At          time.Time
	ActorKind   string
	ActorID     int64
	ActorLabel  string
	TokenID     int64
	Action      string
	Outcome     string
	Reason      string
	TargetKind  string
	TargetID    int64
	TargetLabel string
	TargetGone  bool // a token or team deleted since
	IP          string
	// What the event's sentence needs besides (see EventSentence).
	ActorName string // the acting user's name; "" when not a user
	TokenName string // the token an API caller used
	TokenGone bool   // that token was deleted since
	OwnerID   int64  // the user the event concerns: a user target, or a token's service user
	OwnerName string
	Changes   map[string]EventChange // as the event recorded them
}

// EventChange is one recorded field's value before and after, as decoded
// from JSON (numbers are float64).
type EventChange struct {
	Before, After any
}

// TargetText is the target's label, "ci-60 (deleted)" for a token deleted
// since.
func (r AuditRow) TargetText() string {
	if r.TargetGone {
		return OneLine(r.TargetLabel) + " (deleted)"
	}
	return OneLine(r.TargetLabel)
}

// AuditDayGroup is the events of one day on the page.
type AuditDayGroup struct {
	Day  string
	Rows []AuditRow
}

// GroupByDay splits rows (newest first) into days, in UTC.
func GroupByDay(rows []AuditRow) []AuditDayGroup {
	var out []AuditDayGroup
	var lastY, lastD int
	var lastM time.Month
	for _, r := range rows {
		if y, m, d := r.At.UTC().Date(); len(out) == 0 || y != lastY || m != lastM || d != lastD {
			out = append(out, AuditDayGroup{Day: r.At.UTC().Format("Monday 2 January 2006")})
			lastY, lastM, lastD = y, m, d
		}
		out[len(out)-1].Rows = append(out[len(out)-1].Rows, r)
	}
	return out
}

// ChartBar is one day of the activity chart: the column that shows its
// counts on hover, and its axis label.
type ChartBar struct {
	X, Width     string // the day's column, SVG user units
	LabelX       string
	Label, Title string
	ShowLabel    bool
}

// Chart is the server-rendered per-day activity chart: each series is one
// SVG path of all its days' bars.
type Chart struct {
	Width, Height       float64
	Baseline            string // the bars' foot: the plot's height
	HumanPath, AutoPath string // SVG path data; empty for a series of zeros
	Bars                []ChartBar
	Max                 int64
}

// DayCount is one day's counts for the chart.
type DayCount struct {
	Day       time.Time
	Human     int64
	Automated int64
}

// BuildChart lays out stacked bars (human below, automated above) for the
// given days, which must be consecutive and oldest first.
func BuildChart(days []DayCount) Chart {
	c := Chart{Width: 720, Height: 140}
	for _, d := range days {
		if t := d.Human + d.Automated; t > c.Max {
			c.Max = t
		}
	}
	if len(days) == 0 {
		return c
	}
	plotH := c.Height - 20
	c.Baseline = fmtFloat(plotH)
	slot := c.Width / float64(len(days))
	w := slot * 0.7
	if w < 1 {
		w = 1
	}
	scale := 0.0
	if c.Max > 0 {
		scale = plotH / float64(c.Max)
	}
	every := len(days)/8 + 1
	var human, auto []byte
	for i, d := range days {
		x := float64(i)*slot + (slot-w)/2
		hh, ah := float64(d.Human)*scale, float64(d.Automated)*scale
		human = appendBar(human, x, plotH-hh, w, hh)
		auto = appendBar(auto, x, plotH-hh-ah, w, ah)
		y, m, dd := d.Day.Date()
		label := strconv.Itoa(dd) + " " + m.String()[:3]
		c.Bars = append(c.Bars, ChartBar{
			X: fmtFloat(float64(i) * slot), Width: fmtFloat(slot), LabelX: fmtFloat(x + w/2),
			Label: label,
			Title: label + " " + strconv.Itoa(y) + ": " + strconv.FormatInt(d.Human, 10) + " by people, " +
				strconv.FormatInt(d.Automated, 10) + " automated",
			ShowLabel: i%every == 0,
		})
	}
	c.HumanPath, c.AutoPath = string(human), string(auto)
	return c
}

// appendBar adds a w×h rectangle at (x, y) to SVG path data; nothing when
// it has no height.
func appendBar(d []byte, x, y, w, h float64) []byte {
	if h <= 0 {
		return d
	}
	d = append(d, 'M')
	d = appendTenths(d, x)
	d = append(d, ' ')
	d = appendTenths(d, y)
	d = append(d, 'h')
	d = appendTenths(d, w)
	d = append(d, 'v')
	d = appendTenths(d, h)
	d = append(d, 'h')
	d = appendTenths(d, -w)
	return append(d, 'z')
}

// appendTenths appends f with one decimal.
func appendTenths(d []byte, f float64) []byte { return strconv.AppendFloat(d, f, 'f', 1, 64) }

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

func outcomeBadge(o string) BadgeVariant {
	switch o {
	case "success":
		return BadgeGreen
	case "denied":
		return BadgeAmber
	}
	return BadgeRed
}
