package web

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"

	"github.com/warden-console/warden/static"
)

// serveAsset serves the embedded assets at their content-hashed URLs
// (static.Path) for a year. Another hash is a 404, not a redirect: pages
// name this build's hashes, and redirects could bounce between two builds.
func serveAsset(c *fiber.Ctx) error {
	a, ok := static.ByURL(c.Path())
	if !ok {
		return c.SendStatus(fiber.StatusNotFound)
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set(fiber.HeaderContentType, a.ContentType)
	return c.Send(a.Body)
}

// compressResponses compresses every response the client accepts brotli or
// gzip for, except the streamed audit export. BREACH needs the victim's
// cookie on the attacker's requests; the session cookie is SameSite=Lax.
func compressResponses() fiber.Handler {
	return compress.New(compress.Config{
		Level: compress.LevelDefault,
		Next: func(c *fiber.Ctx) bool {
			return strings.HasPrefix(c.Path(), "/audit/export")
		},
	})
}
