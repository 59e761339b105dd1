package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Healthz answers while the process is up.
func (h *Handler) Healthz(c *fiber.Ctx) error {
	return c.Type("txt").SendString("ok\n")
}

// Readyz answers 200 when the database responds within two seconds.
func (h *Handler) Readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := h.Store.Ping(ctx); err != nil {
		h.Log.Error("readiness check failed", "err", err)
		return c.Status(fiber.StatusServiceUnavailable).Type("txt").SendString("database unavailable\n")
	}
	return c.Type("txt").SendString("ready\n")
}
