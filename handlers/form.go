package handlers

import "github.com/gofiber/fiber/v2"

// BodyValue returns the form field key from the request body
// (application/x-www-form-urlencoded), or "". Unlike Fiber's own form lookup
// it never falls back to the query string, which would let a crafted link
// fill or override the fields of a POST. No console form is multipart, so a
// multipart body reads as empty. The value is copied: fasthttp reuses the
// request's buffers.
func BodyValue(c *fiber.Ctx, key string) string {
	return string(c.Request().PostArgs().Peek(key))
}
