package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/handlers"
)

func TestPanicsAreRecovered(t *testing.T) {
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	h := &handlers.Handler{Log: log}
	app := fiber.New(fiber.Config{ErrorHandler: h.Error, Immutable: true})
	app.Use(requestContext(nil), accessLog(log, nil), recoverPanics(log), securityHeaders(false))
	app.Get("/boom", func(c *fiber.Ctx) error { panic("secret internal detail") })

	resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/boom", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", resp.StatusCode)
	}
	if strings.Contains(string(body), "secret internal detail") || strings.Contains(string(body), "goroutine") {
		t.Fatal("the panic reached the page")
	}
	if !strings.Contains(string(body), resp.Header.Get("X-Request-ID")) {
		t.Fatal("the error page has no request id")
	}
	if !strings.Contains(logs.String(), "secret internal detail") || !strings.Contains(logs.String(), "status=500") {
		t.Fatalf("the panic was not logged with its final status: %s", logs.String())
	}
}

func TestGracefulShutdown(t *testing.T) {
	h := newHarness(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(ctx, ln) }()

	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v after a clean shutdown", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if err := h.srv.Store().Ping(context.Background()); err == nil {
		t.Fatal("the database is still open after shutdown")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Fatal("still answering after shutdown")
	}
}
