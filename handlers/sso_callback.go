package handlers

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
	"github.com/warden-console/warden/web/oidc"
	"github.com/warden-console/warden/web/request"
)

// ssoMessages say on the sign-in page why a single sign-on did not work.
// Reasons about a forged or mismatched answer share one message: the
// details are in the audit log, not for whoever sent it.
var ssoMessages = map[string]string{
	models.SSOProviderError:     "The identity provider did not sign you in (it answered: %s).",
	models.SSOExpiredPreSession: "The sign-in took too long, or was started in another browser or tab. Start again.",
	models.SSOBadState:          "The answer from the identity provider does not belong to the sign-in started in this browser.",
	models.SSOUnverifiedEmail:   "Your email address is not verified at the identity provider, so it cannot be matched to your Warden account.",
	models.SSONoEmail:           "The identity provider did not give an email address, which a new Warden account needs.",
	models.SSOEmailLinked:       "Your email address belongs to a Warden account that signs in with another identity.",
	models.SSODeactivated:       "Your Warden account is deactivated. Ask an administrator to restore it.",
	models.SSOGroupsMissing:     "The identity provider did not say which groups you are in, so Warden cannot tell whether you are an administrator.",
	models.SSOGroupsInvalid:     "The identity provider did not say which groups you are in, so Warden cannot tell whether you are an administrator.",
}

// ssoRejected is the message for an answer that failed verification.
const ssoRejected = "The identity provider's answer could not be verified, so nobody was signed in."

// SSOCallback finishes a single sign-on: the provider sends the browser
// back here with a code (or an error). The pre-session cookie must be
// there, fresh, and hold the same state; the code is redeemed with the PKCE
// verifier; the ID token is verified; then the store admits the person (or
// not) and the browser gets a new console session. Every failure is
// audited and shown on the sign-in page with a way to try again, never as
// a server error.
func (h *Handler) SSOCallback(c *fiber.Ctx) error {
	if h.SSO == nil {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	var pre ssoPreSession
	havePre := h.Sessions.PopPreSession(c, &pre)
	next := "/"
	if havePre {
		next = SafeNext(pre.Next)
	}
	// Failed callbacks count with failed password sign-ins against the
	// client's address: past the limit nothing is tried or written.
	ipKey := throttleIPKey(request.ClientIP(c))
	if blocked, wait := h.IPThrottle.Blocked(c.UserContext(), ipKey); blocked {
		c.Set(fiber.HeaderRetryAfter, fmt.Sprint(int(wait.Seconds())+1))
		h.Log.Warn("single sign-on throttled", "request_id", request.ID(c), "ip", request.ClientIP(c))
		return h.renderLogin(c, fiber.StatusTooManyRequests, views.LoginForm{Next: next,
			SSOError: fmt.Sprintf("Too many failed sign-in attempts. Try again in %s.", minutes(wait))})
	}
	if e := c.Query("error"); e != "" {
		return h.ssoFail(c, models.SSOProviderError, "", e, next)
	}
	if !havePre || h.Store.Now().Sub(pre.Started) > ssoPreSessionLifetime || pre.Started.After(h.Store.Now()) {
		return h.ssoFail(c, models.SSOExpiredPreSession, "", "", next)
	}
	if !oidc.SameState(pre.Flow, c.Query("state")) {
		return h.ssoFail(c, models.SSOBadState, "", "", next)
	}
	code := c.Query("code")
	if code == "" || len(code) > 4096 {
		return h.ssoFail(c, models.SSOCodeRejected, "", "", next)
	}
	// Remember the nonce at least as long as the pre-session that carries
	// it could still be presented.
	id, err := h.SSO.Finish(c.UserContext(), pre.Flow, code, ssoPreSessionLifetime)
	var failure *oidc.Failure
	if errors.As(err, &failure) {
		h.Log.Info("single sign-on refused", "request_id", request.ID(c), "reason", failure.Reason, "err", failure.Err)
		return h.ssoFail(c, failure.Reason, failure.Label, "", next)
	}
	if err != nil {
		return err
	}
	token, user, err := h.Store.SignInSSO(c.UserContext(), h.actor(c), id)
	var se *models.SSOError
	switch {
	case errors.As(err, &se):
		h.IPThrottle.Fail(c.UserContext(), ipKey)
		return h.ssoShow(c, se.Reason, "", next)
	case errors.Is(err, models.ErrNotAdministrator):
		h.Log.Info("single sign-on refused: not in an admin group", "request_id", request.ID(c))
		p, err := h.page(c, "Administrators only", "")
		if err != nil {
			return err
		}
		return render(c, fiber.StatusForbidden, views.AdminsOnly(p, true))
	case err != nil:
		return err
	}
	if err := h.Sessions.Adopt(c, token); err != nil {
		return err
	}
	h.Log.Info("signed in with single sign-on", "request_id", request.ID(c), "user", user.ID, "ip", request.ClientIP(c))
	return c.Redirect(next, fiber.StatusSeeOther)
}

// ssoFail records a sign-on the flow refused and shows why.
func (h *Handler) ssoFail(c *fiber.Ctx, reason, label, detail, next string) error {
	h.IPThrottle.Fail(c.UserContext(), throttleIPKey(request.ClientIP(c)))
	if err := h.Store.RecordSSOFailure(c.UserContext(), h.actor(c), reason, label); err != nil {
		return err
	}
	return h.ssoShow(c, reason, detail, next)
}

// ssoShow renders the sign-in page with the reason in words and the
// provider's button to try again.
func (h *Handler) ssoShow(c *fiber.Ctx, reason, detail, next string) error {
	msg, ok := ssoMessages[reason]
	if !ok {
		msg = ssoRejected
	}
	if reason == models.SSOProviderError {
		// The provider's error code, as a code: it is read back, not trusted.
		if len(detail) > 64 || !isErrorCode(detail) {
			detail = "an error"
		}
		msg = fmt.Sprintf(msg, detail)
	}
	status := fiber.StatusUnauthorized
	if reason == models.SSOExpiredPreSession || reason == models.SSOBadState {
		status = fiber.StatusBadRequest
	}
	return h.renderLogin(c, status, views.LoginForm{Next: next, SSOError: msg})
}

// isErrorCode reports whether s looks like an OAuth error code
// (access_denied, login_required): letters, digits and underscores.
func isErrorCode(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
