// Package views holds the console's templ components. Data is passed
// explicitly: every page receives a Page with what the layout needs.
package views

import "time"

// Page is what the layout needs to render any page.
type Page struct {
	Title     string
	Admin     *Admin // nil on pages shown before sign-in
	CSRFToken string
	Flashes   []Flash
	// Nav names the navigation entry to highlight ("home", "account").
	Nav string
}

// Admin is the signed-in administrator shown in the header.
type Admin struct {
	Name  string
	Email string
}

// Flash is a one-time message.
type Flash struct {
	Kind    string // success, info, error
	Message string
}

func withoutFlashes(p Page) Page {
	p.Flashes = nil
	return p
}

// FormatTime renders t in UTC as the exact time shown on hover.
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// RelativeTime renders how long ago t was, or how soon it comes, relative
// to now: "just now", "3 hours ago", "in 5 days", "2 years ago". It is the
// only way the console prints a time (see Time); the exact one goes in the
// title.
func RelativeTime(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < -time.Minute:
		return futureTime(-d)
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	case d < 30*day:
		return plural(int(d/day), "day") + " ago"
	case d < 365*day:
		return plural(int(d/(30*day)), "month") + " ago"
	}
	return plural(int(d/(365*day)), "year") + " ago"
}

const day = 24 * time.Hour

// futureTime is RelativeTime for a time d ahead.
func futureTime(d time.Duration) string {
	switch {
	// Rounded to the nearest unit: a token made for 2 days is "in 2 days".
	case d < time.Hour:
		return "in " + plural(int(d.Round(time.Minute)/time.Minute), "minute")
	case d < 24*time.Hour:
		return "in " + plural(int(d.Round(time.Hour)/time.Hour), "hour")
	case d < 60*day:
		return "in " + plural(int(d.Round(day)/day), "day")
	case d < 365*day:
		return "in " + plural(int(d.Round(30*day)/(30*day)), "month")
	}
	return "in " + plural(int(d.Round(365*day)/(365*day)), "year")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return itoa(n) + " " + unit + "s"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
