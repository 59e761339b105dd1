package web

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"

	"github.com/warden-console/warden/static"
)

// serveAsset serves the embedded assets at their content-hashed URLs
// (static.Path), cached for a year: a changed file gets a new URL.
//
// Any other hash, an old build's or a typo, is a 404, not a redirect to
// the current file: pages are no-store, so they always name this build's
// hashes, and only in a rolling deploy can a page ask another replica for
// its assets, where redirects could bounce between the two builds.
func serveAsset(c *fiber.Ctx) error {
	a, ok := static.ByURL(c.Path())
	if !ok {
		return c.SendStatus(fiber.StatusNotFound)
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set(fiber.HeaderContentType, a.ContentType)
	return c.Send(a.Body)
}

// compressResponses compresses pages, assets, htmx responses and the API's
// JSON with brotli or gzip, whichever the client accepts (brotli first), at
// the default levels (brotli 4, gzip 6). An asset is fetched once per
// browser, so compressing it on each request costs little. It leaves out
// the audit export: compressing a stream puts a pipe and a second goroutine
// between the database cursor and the socket for the whole download.
//
// Pages hold secrets (CSRF tokens, a new token once) next to text from the
// query, the setting of BREACH; but that attack needs the victim's cookie
// on requests the attacker makes, and the session cookie is SameSite=Lax,
// so those requests get the sign-in redirect.
func compressResponses() fiber.Handler {
	return compress.New(compress.Config{
		Level: compress.LevelDefault,
		Next: func(c *fiber.Ctx) bool {
			return strings.HasPrefix(c.Path(), "/audit/export")
		},
	})
}
