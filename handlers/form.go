package handlers

import "github.com/gofiber/fiber/v2"

// BodyValue returns the form field key of a urlencoded body, or "", never a
// query-string value: a crafted link must not fill or override a POST's
// fields. The value is copied: fasthttp reuses the request's buffers.
func BodyValue(c *fiber.Ctx, key string) string {
	return string(c.Request().PostArgs().Peek(key))
}
