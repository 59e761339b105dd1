package views

import (
	"net/url"
	"strconv"
	"strings"
)

// ListState is what sortable, paged lists need to build their links: the
// canonical query of the current view, its sort, page and total.
type ListState struct {
	Path    string
	Values  url.Values // canonical query of the current view
	Sort    string
	Desc    bool
	Page    int
	PerPage int
	Total   int64
	// DefaultSort is the sort that needs no parameter.
	DefaultSort string
	// PageParam is the page's query parameter, "page" when empty: a page
	// with two paged lists gives each its own.
	PageParam string
}

// SortURL returns the link for sorting by key: the other direction when key
// is the current sort, ascending otherwise; always back to page 1.
func (l ListState) SortURL(key string) string {
	v := cloneValues(l.Values)
	v.Del("page")
	v.Del("dir")
	if key == l.DefaultSort {
		v.Del("sort")
	} else {
		v.Set("sort", key)
	}
	if key == l.Sort && !l.Desc {
		v.Set("dir", "desc")
	}
	return l.url(v)
}

// AriaSort is the aria-sort value of the column key.
func (l ListState) AriaSort(key string) string {
	switch {
	case key != l.Sort:
		return "none"
	case l.Desc:
		return "descending"
	}
	return "ascending"
}

// SortArrow shows the direction of the active column and a neutral mark on others.
func (l ListState) SortArrow(key string) string {
	switch {
	case key != l.Sort:
		return "↕"
	case l.Desc:
		return "▼"
	}
	return "▲"
}

// URL returns the link to the current view.
func (l ListState) URL() string { return l.url(cloneValues(l.Values)) }

// PageURL returns the link to page n of the current view.
func (l ListState) PageURL(n int) string {
	key := l.PageParam
	if key == "" {
		key = "page"
	}
	v := cloneValues(l.Values)
	if n <= 1 {
		v.Del(key)
	} else {
		v.Set(key, strconv.Itoa(n))
	}
	return l.url(v)
}

// PageCount is the number of pages, at least 1.
func (l ListState) PageCount() int {
	if l.Total == 0 || l.PerPage == 0 {
		return 1
	}
	return int((l.Total + int64(l.PerPage) - 1) / int64(l.PerPage))
}

// First and Last are the 1-based positions of the page's first and last rows.
func (l ListState) First() int {
	if l.Total == 0 {
		return 0
	}
	return (l.Page-1)*l.PerPage + 1
}

// Last is the position of the page's last row.
func (l ListState) Last() int {
	last := l.Page * l.PerPage
	if int64(last) > l.Total {
		last = int(l.Total)
	}
	return last
}

// PageWindow lists the page numbers to link: the first, the last and two on
// each side of the current one, with 0 standing for a gap.
func (l ListState) PageWindow() []int {
	total := l.PageCount()
	var out []int
	last := 0
	for n := 1; n <= total; n++ {
		if n == 1 || n == total || (n >= l.Page-2 && n <= l.Page+2) {
			if last != 0 && n > last+1 {
				out = append(out, 0)
			}
			out = append(out, n)
			last = n
		}
	}
	return out
}

func (l ListState) url(v url.Values) string {
	if len(v) == 0 {
		return l.Path
	}
	return l.Path + "?" + v.Encode()
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// TeamChip is a team shown as a chip.
type TeamChip struct {
	ID   int64
	Name string
}

func teamNames(ts []TeamChip) []string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	return names
}

func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

func userURL(id int64) string { return "/users/" + strconv.FormatInt(id, 10) }

func teamURL(id int64) string { return "/teams/" + strconv.FormatInt(id, 10) }

func plural1(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// teamSummary labels the team filter: "Any team", the one team, or "3 teams".
func teamSummary(ts []TeamOption) string {
	var picked []string
	for _, t := range ts {
		if t.Selected {
			picked = append(picked, t.Name)
		}
	}
	switch len(picked) {
	case 0:
		return "Any team"
	case 1:
		return picked[0]
	}
	return strconv.Itoa(len(picked)) + " teams"
}

// statusValue is what the "Show deactivated" checkbox sends: all, unless the
// view already asks for deactivated users only.
func statusValue(status string) string {
	if status == "deactivated" {
		return "deactivated"
	}
	return "all"
}
