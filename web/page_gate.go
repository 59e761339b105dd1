package web

import (
	"runtime"
	"sync/atomic"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
)

// pageGate lets at most cap(slots) console page reads (GET and HEAD) run
// at once; the others wait their turn in the order they arrived.
//
// Why: a page is CPU work from the session lookup to the last byte of
// HTML, and when more pages are in progress than there are CPUs, Go's
// scheduler does not serve them first come, first served. A request found
// by the network poller, or a handler back from a SQLite call (cgo), waits
// in the global run queue, which each processor looks at only between
// other work, so under load some pages waited ten times longer than the
// median. With the gate, the pages in progress run to completion and the
// rest queue fairly on a channel (whose waiters are woken in order). On
// 2 cores with 16 clients (make bench's data) it halved every page's p99
// at the same throughput.
//
// Writes are not gated: they queue on the database's single writer, and a
// sign-in spends tens of milliseconds in Argon2id; holding a slot through
// either would stall every page behind it. The API is not gated either:
// its requests are short and it is mounted before this middleware.
type pageGate struct {
	slots   chan struct{}
	waiting atomic.Int64 // requests queued for a slot, for /metrics and tests
}

func newPageGate(n int) *pageGate {
	return &pageGate{slots: make(chan struct{}, n)}
}

// handler is the middleware.
func (g *pageGate) handler(c *fiber.Ctx) error {
	if m := c.Method(); m != fiber.MethodGet && m != fiber.MethodHead {
		return c.Next()
	}
	select {
	case g.slots <- struct{}{}:
	default:
		g.waiting.Add(1)
		g.slots <- struct{}{}
		g.waiting.Add(-1)
	}
	defer func() { <-g.slots }()
	return c.Next()
}

// pageSlots is how many pages pageGate lets run at once: as configured, or
// else chosen by the database. On SQLite a page waits for nothing but the
// CPU (the database is in process), so one per processor Go runs. On
// PostgreSQL a page also waits for the database's round trips, so as many
// as the connection pool holds: more would only wait for a connection.
func pageSlots(configured int, st *models.Store) int {
	if configured > 0 {
		return configured
	}
	if st.Dialect() == models.Postgres {
		return max(st.SQLDB().Stats().MaxOpenConnections, runtime.GOMAXPROCS(0))
	}
	return runtime.GOMAXPROCS(0)
}
