package views

import (
	"bytes"
	"context"
	"io"
	"sync/atomic"
	"time"

	"github.com/a-h/templ"
)

// RowCache keeps the HTML of list rows shown recently: the audit log's and
// the Users list's.
//
// A row's HTML is a function of a few values, and the lists are read far
// more often than their rows change: rendering the rows was about a third
// of each page's CPU. So a row shown again with the same values is copied
// from here instead of rendered. An audit row never changes once written;
// a Users row changes when its user, its teams, or the "3 days ago" of its
// last activity does, and then simply renders anew.
//
// Each list's cache is direct-mapped: the row's ID modulo the size picks
// the slot. A page of rows takes distinct slots (mostly), memory is bounded
// by the size, and no lock is taken, since each slot is an atomic pointer
// to an entry that is never modified. An entry is used only when the whole
// key it was rendered from equals the row's, so a slot shared by two rows,
// a changed row, or an ID that means another row (a restored backup, a
// test database) renders anew rather than showing stale or wrong HTML.
type RowCache struct {
	audit fragments[AuditRow]
	users fragments[userRowKey]
}

// NewRowCache returns a cache of size rows per list.
func NewRowCache(size int) *RowCache {
	return &RowCache{audit: newFragments[AuditRow](size), users: newFragments[userRowKey](size)}
}

// Audit renders an audit row; a nil cache renders it every time. The
// AuditRow is the whole input of auditRow, so it is the key.
func (c *RowCache) Audit(r AuditRow) templ.Component {
	if c == nil {
		return auditRow(r)
	}
	return c.audit.render(r.ID, r, func() templ.Component { return auditRow(r) })
}

// User renders a row of the Users list as of now, with the session's CSRF
// token; a nil cache renders it every time.
func (c *RowCache) User(r UserListRow, now time.Time, csrf string) templ.Component {
	if c == nil {
		return userRow(r, now, csrf)
	}
	return c.users.render(r.ID, newUserRowKey(r, now, csrf), func() templ.Component { return userRow(r, now, csrf) })
}

// userRowKey is everything userRow's HTML depends on, comparable:
// TestUserRowKeyCoversRow fails when a field of UserListRow is left out.
type userRowKey struct {
	id                               int64
	name, handle, kind, role, status string
	lastActive                       time.Time
	active                           bool   // lastActive is set
	ago                              string // the clock enters the row only here
	created                          time.Time
	chips                            [rowTeamChips]TeamChip
	teams                            int
	more                             string // the names behind "+N"
	csrf                             string // only a deactivated row has a form
}

// rowTeamChips is how many team chips a Users row shows before "+N".
const rowTeamChips = 2

func newUserRowKey(r UserListRow, now time.Time, csrf string) userRowKey {
	k := userRowKey{id: r.ID, name: r.Name, handle: r.Handle, kind: r.Kind, role: r.Role, status: r.Status,
		created: r.CreatedAt, teams: len(r.Teams)}
	if r.LastActive != nil {
		k.lastActive, k.active, k.ago = *r.LastActive, true, RelativeTime(*r.LastActive, now)
	}
	n := copy(k.chips[:], r.Teams)
	if len(r.Teams) > n {
		k.more = moreTeams(r.Teams[n:])
	}
	if r.Status == "deactivated" {
		k.csrf = csrf
	}
	return k
}

// fragments is one list's direct-mapped cache of rendered rows by key K.
type fragments[K comparable] struct {
	slots []atomic.Pointer[fragment[K]]
}

type fragment[K comparable] struct {
	key  K
	html []byte
}

func newFragments[K comparable](size int) fragments[K] {
	return fragments[K]{slots: make([]atomic.Pointer[fragment[K]], max(size, 1))}
}

// render writes the HTML kept for key in id's slot, or renders it with
// build, keeps it and writes it.
func (f *fragments[K]) render(id int64, key K, build func() templ.Component) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		slot := &f.slots[uint64(id)%uint64(len(f.slots))]
		if e := slot.Load(); e != nil && e.key == key {
			_, err := w.Write(e.html)
			return err
		}
		var buf bytes.Buffer
		if err := build().Render(ctx, &buf); err != nil {
			return err
		}
		slot.Store(&fragment[K]{key: key, html: buf.Bytes()})
		_, err := w.Write(buf.Bytes())
		return err
	})
}
