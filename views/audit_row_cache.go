package views

import (
	"bytes"
	"context"
	"io"
	"sync/atomic"

	"github.com/a-h/templ"
)

// AuditRowCache keeps the HTML of recently shown audit rows.
//
// A row's HTML depends on its AuditRow alone, and an event never changes
// once written, while the audit page is read far more often than it gains
// rows: rendering its 50 rows was about a third of the page's CPU. So a
// row shown again is copied from here instead of rendered.
//
// The cache is direct-mapped: the event ID modulo the size picks the slot.
// A page of consecutive events takes distinct slots, memory is bounded by
// the size (a row is about 1.3 KB), and no lock is taken, since each slot
// is an atomic pointer to an entry that is never modified. An entry is
// used only when its whole AuditRow equals the one to show, so a slot
// shared by two events, or an ID that means another event (a restored
// backup, a test database), renders anew rather than showing the wrong row.
type AuditRowCache struct {
	slots []atomic.Pointer[renderedRow]
}

type renderedRow struct {
	row  AuditRow
	html []byte
}

// NewAuditRowCache returns a cache of size rows.
func NewAuditRowCache(size int) *AuditRowCache {
	return &AuditRowCache{slots: make([]atomic.Pointer[renderedRow], max(size, 1))}
}

// Row renders r, from the cache when it holds r; a nil cache renders.
func (c *AuditRowCache) Row(r AuditRow) templ.Component {
	if c == nil {
		return auditRow(r)
	}
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		slot := &c.slots[uint64(r.ID)%uint64(len(c.slots))]
		if e := slot.Load(); e != nil && e.row == r {
			_, err := w.Write(e.html)
			return err
		}
		var buf bytes.Buffer
		if err := auditRow(r).Render(ctx, &buf); err != nil {
			return err
		}
		slot.Store(&renderedRow{row: r, html: buf.Bytes()})
		_, err := w.Write(buf.Bytes())
		return err
	})
}
