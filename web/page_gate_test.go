package web

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
)

// waitFor spins (yielding) until cond holds, failing after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

// TestPageGate checks the gate's three promises: at most n pages run at
// once, the others are admitted in the order they arrived, and writes pass
// a full gate.
func TestPageGate(t *testing.T) {
	const slots = 2
	gate := newPageGate(slots)
	var inside, most atomic.Int64
	entered := make(chan string, 16)
	release := make(chan struct{})
	app := fiber.New()
	app.Use(gate.handler)
	app.Get("/page/:n", func(c *fiber.Ctx) error {
		n := inside.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		entered <- c.Params("n")
		<-release
		inside.Add(-1)
		return c.SendString("ok")
	})
	app.Post("/write", func(c *fiber.Ctx) error { return c.SendString("written") })

	done := make(chan error, 8)
	get := func(n string) {
		go func() {
			resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/page/"+n, nil), -1)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
	}
	// Two fill the slots; three more queue, one after another, so their
	// order of arrival is known.
	get("1")
	get("2")
	first := map[string]bool{<-entered: true, <-entered: true}
	if !first["1"] || !first["2"] {
		t.Fatalf("first admitted %v, want pages 1 and 2", first)
	}
	for i, n := range []string{"3", "4", "5"} {
		get(n)
		want := int64(i + 1)
		waitFor(t, "page "+n+" to queue", func() bool { return gate.waiting.Load() == want })
	}
	if got := inside.Load(); got != slots {
		t.Fatalf("%d pages inside a gate of %d", got, slots)
	}

	// A write does not wait for a full gate.
	resp, err := app.Test(httptest.NewRequest(http.MethodPost, "/write", nil), -1)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST through a full gate: %v %v", resp, err)
	}

	// Each page that finishes admits the longest-waiting one.
	for _, want := range []string{"3", "4", "5"} {
		release <- struct{}{}
		if got := <-entered; got != want {
			t.Fatalf("admitted page %s, want %s (arrival order)", got, want)
		}
	}
	close(release)
	for range 5 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if m := most.Load(); m != slots {
		t.Fatalf("at most %d pages ran at once, want %d", m, slots)
	}
	if w := gate.waiting.Load(); w != 0 {
		t.Fatalf("%d still counted as waiting", w)
	}
}

// TestPageSlots checks the gate's size: as configured, else one per
// processor on SQLite and the pool's size on PostgreSQL.
func TestPageSlots(t *testing.T) {
	st := newHarness(t).srv.Store()
	if got := pageSlots(5, st); got != 5 {
		t.Errorf("configured 5: got %d", got)
	}
	want := runtime.GOMAXPROCS(0)
	if st.Dialect() == models.Postgres {
		want = max(st.SQLDB().Stats().MaxOpenConnections, want)
	}
	if got := pageSlots(0, st); got != want || got < 1 {
		t.Errorf("automatic on %s: got %d, want %d", st.Dialect(), got, want)
	}
}
