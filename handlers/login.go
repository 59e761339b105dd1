package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
	"github.com/warden-console/warden/web/request"
)

// genericLoginError is the one message for every kind of failed sign-in, so
// the page never tells which emails exist or which accounts are services.
const genericLoginError = "The email or password is not correct."

// LoginShow renders the sign-in page; a signed-in admin goes straight on.
// With password sign-in off and break-glass allowed, ?password=1 shows the
// password form.
func (h *Handler) LoginShow(c *fiber.Ctx) error {
	next := SafeNext(c.Query("next"))
	if request.User(c) != nil {
		return c.Redirect(next, fiber.StatusSeeOther)
	}
	return h.renderLogin(c, fiber.StatusOK, views.LoginForm{Next: next, PasswordForm: c.Query("password") == "1"})
}

// renderLogin shows the sign-in page with the ways in the configuration
// allows: the provider's button, the password form (f.PasswordForm asks
// for it when only break-glass accounts may use it), or the link to it.
func (h *Handler) renderLogin(c *fiber.Ctx, status int, f views.LoginForm) error {
	p, err := h.page(c, "Sign in", "")
	if err != nil {
		return err
	}
	if h.SSO != nil {
		f.SSOName = h.SSOName
	}
	policy := h.Store.PasswordLoginPolicy()
	f.PasswordForm = policy.Enabled || (policy.BreakGlass && f.PasswordForm)
	f.BreakGlassLink = !policy.Enabled && policy.BreakGlass
	if f.NeedsSetup, err = h.Store.NeedsSetup(c.UserContext()); err != nil {
		return err
	}
	return render(c, status, views.Login(p, f))
}

// LoginSubmit checks the credentials and starts a new session.
func (h *Handler) LoginSubmit(c *fiber.Ctx) error {
	email := strings.TrimSpace(BodyValue(c, "email"))
	if len(email) > models.MaxEmailBytes {
		email = email[:models.MaxEmailBytes]
	}
	password := BodyValue(c, "password")
	form := views.LoginForm{Email: email, Next: SafeNext(BodyValue(c, "next"))}

	ip := request.ClientIP(c)
	accountKey := "account:" + strings.ToLower(email)
	ipKey := throttleIPKey(ip)
	if wait, blocked := h.blocked(c.UserContext(), accountKey, ipKey); blocked {
		c.Set(fiber.HeaderRetryAfter, fmt.Sprint(int(wait.Seconds())+1))
		form.Error = fmt.Sprintf("Too many failed sign-in attempts. Try again in %s.", minutes(wait))
		h.Log.Warn("sign-in throttled", "request_id", request.ID(c), "ip", ip)
		return h.renderLogin(c, fiber.StatusTooManyRequests, form)
	}

	form.PasswordForm = true
	user, err := h.Store.Authenticate(c.UserContext(), h.actor(c), email, password)
	switch {
	case errors.Is(err, models.ErrPasswordLoginOff):
		h.Log.Info("sign-in refused: password sign-in is off", "request_id", request.ID(c), "ip", ip)
		form.Error = "Password sign-in is turned off on this console."
		if h.SSO != nil {
			form.Error += " Sign in with " + h.SSOName + "."
		}
		return h.renderLogin(c, fiber.StatusForbidden, form)
	case errors.Is(err, models.ErrInvalidCredentials):
		h.AccountThrottle.Fail(c.UserContext(), accountKey)
		h.IPThrottle.Fail(c.UserContext(), ipKey)
		h.Log.Info("sign-in failed", "request_id", request.ID(c), "ip", ip)
		form.Error = genericLoginError
		return h.renderLogin(c, fiber.StatusUnauthorized, form)
	case errors.Is(err, models.ErrNotAdministrator):
		h.Log.Info("sign-in refused: not an administrator", "request_id", request.ID(c), "ip", ip)
		p, err := h.page(c, "Administrators only", "")
		if err != nil {
			return err
		}
		return render(c, fiber.StatusForbidden, views.AdminsOnly(p, false))
	case err != nil:
		return err
	}

	h.AccountThrottle.Reset(c.UserContext(), accountKey)
	a := h.actor(c)
	a.Kind, a.ID, a.Label = models.ActorHuman, user.ID, user.Handle()
	if _, err := h.Sessions.Start(c, a); err != nil {
		return err
	}
	h.Log.Info("signed in", "request_id", request.ID(c), "user", user.ID, "ip", ip)
	return c.Redirect(form.Next, fiber.StatusSeeOther)
}

// blocked reports whether either throttle refuses the attempt, and for how long.
func (h *Handler) blocked(ctx context.Context, accountKey, ipKey string) (time.Duration, bool) {
	if b, wait := h.AccountThrottle.Blocked(ctx, accountKey); b {
		return wait, true
	}
	if b, wait := h.IPThrottle.Blocked(ctx, ipKey); b {
		return wait, true
	}
	return 0, false
}

func minutes(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	if m <= 1 {
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

// Logout ends the session server-side and clears the cookie.
func (h *Handler) Logout(c *fiber.Ctx) error {
	if err := h.Sessions.End(c, h.actor(c)); err != nil {
		return err
	}
	h.Sessions.AddFlash(c, "info", "You have signed out.")
	return c.Redirect("/login", fiber.StatusSeeOther)
}
