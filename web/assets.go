package web

import (
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"
	"github.com/valyala/fasthttp"

	"github.com/warden-console/warden/static"
)

// encodedAsset is an asset with its compressed bodies, nil where
// compressing did not make it smaller.
type encodedAsset struct {
	*static.Asset
	br, gzip []byte
}

// encodedAssets compresses every asset once per process: the work is paid
// once, not on each request as the compress middleware would.
// brotliAssetLevel is not brotli's best (11), which allocates 44 MB to
// compress the assets against 3 MB here, for 7% smaller files.
const brotliAssetLevel = 6

var encodedAssets = sync.OnceValue(func() map[string]*encodedAsset {
	out := map[string]*encodedAsset{}
	for _, a := range static.All() {
		e := &encodedAsset{Asset: a}
		if br := fasthttp.AppendBrotliBytesLevel(nil, a.Body, brotliAssetLevel); len(br) < len(a.Body) {
			e.br = br
		}
		if gz := fasthttp.AppendGzipBytesLevel(nil, a.Body, fasthttp.CompressBestCompression); len(gz) < len(a.Body) {
			e.gzip = gz
		}
		out[a.URL] = e
	}
	return out
})

// serveAsset serves the embedded assets at their content-hashed URLs
// (static.Path), cached for a year: a changed file gets a new URL.
//
// Any other hash, an old build's or a typo, is a 404, not a redirect to
// the current file: pages are no-store, so they always name this build's
// hashes, and only in a rolling deploy can a page ask another replica for
// its assets, where redirects could bounce between the two builds.
func serveAsset(c *fiber.Ctx) error {
	a, ok := encodedAssets()[c.Path()]
	if !ok {
		return c.SendStatus(fiber.StatusNotFound)
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set(fiber.HeaderContentType, a.ContentType)
	c.Vary(fiber.HeaderAcceptEncoding)
	req := &c.Context().Request.Header
	switch {
	case a.br != nil && req.HasAcceptEncoding("br"):
		c.Set(fiber.HeaderContentEncoding, "br")
		return c.Send(a.br)
	case a.gzip != nil && req.HasAcceptEncoding("gzip"):
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(a.gzip)
	}
	return c.Send(a.Body)
}

// compressResponses compresses pages, htmx responses and the API's JSON
// with brotli or gzip, whichever the client accepts (brotli first), at the
// default levels (brotli 4, gzip 6). It leaves out the assets, which
// serveAsset sends compressed already, and the audit export: compressing a
// stream puts a pipe and a second goroutine between the database cursor
// and the socket for the whole download.
//
// Pages hold secrets (CSRF tokens, a new token once) next to text from the
// query, the setting of BREACH; but that attack needs the victim's cookie
// on requests the attacker makes, and the session cookie is SameSite=Lax,
// so those requests get the sign-in redirect.
func compressResponses() fiber.Handler {
	return compress.New(compress.Config{
		Level: compress.LevelDefault,
		Next: func(c *fiber.Ctx) bool {
			p := c.Path()
			return strings.HasPrefix(p, "/static/") || strings.HasPrefix(p, "/audit/export")
		},
	})
}
