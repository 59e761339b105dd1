package handlers

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// openAPIDocument is the OpenAPI 3 description of /api/v1. web's
// openapi_test.go keeps it true: every route documented, and the API's real
// responses validated against it.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns a copy of the API's OpenAPI document.
func OpenAPIDocument() []byte {
	return append([]byte(nil), openAPIDocument...)
}

// OpenAPI answers GET /api/v1/openapi.json. It is public: it is registered
// before the API's bearer authentication.
func (h *Handler) OpenAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Send(openAPIDocument)
}
