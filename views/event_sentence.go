package views

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Part is one piece of an event's sentence: words, or a name that links to
// what it names.
type Part struct {
	Text string
	Href string // the named user, team or token; "" for words
	// wording marks words of the sentence's own, which may be capitalised
	// at its start; a name never is ("ada@example.com signed in").
	wording bool
}

// Sentence is an event in words: "Ada Admin revoked token ci-30 of Nightly
// ETL".
type Sentence []Part

// String is the sentence as plain text.
func (s Sentence) String() string {
	var b strings.Builder
	for _, p := range s {
		b.WriteString(p.Text)
	}
	return b.String()
}

func words(s string) Part { return Part{Text: s, wording: true} }

// EventSentence words an event for the console, from what it recorded: its
// labels, reason and changes, with the names NameEvents filled in. The
// codes stay in the exports and the API.
func EventSentence(r AuditRow) Sentence {
	s := Sentence(eventParts(r))
	if len(s) > 0 && s[0].wording {
		s[0].Text = capitalise(s[0].Text)
	}
	return s
}

func eventParts(r AuditRow) []Part {
	a := actorParts(r)
	refused := r.Outcome == "denied"
	// what a refusal was asked to do, in its sentence's words
	attempt := func(noun string, object ...Part) []Part {
		return join(words(noun+" "), object, words(" refused: "+reasonText(r)))
	}
	tok := join(words("token "), tokenTarget(r), ownerOf(r))
	switch r.Action {
	case "auth.login":
		return join(a, words(" signed in"))
	case "auth.login_failed":
		return join(words("Failed sign-in as "), signInTarget(r), words(": "+reasonText(r)))
	case "auth.login_denied":
		return attempt("Sign-in of", signInTarget(r)...)
	case "auth.sso_login":
		return join(a, words(" signed in with single sign-on"))
	case "auth.sso_failed":
		if r.TargetID == 0 && OneLine(r.ActorLabel) == "" {
			return []Part{words("Failed single sign-on: " + reasonText(r))}
		}
		return join(words("Failed single sign-on as "), signInTarget(r), words(": "+reasonText(r)))
	case "auth.sso_denied":
		return attempt("Single sign-on of", signInTarget(r)...)
	case "user.sso_create":
		return join([]Part{userTarget(r)}, words(" joined through single sign-on as an Admin"))
	case "user.sso_link":
		s := join([]Part{userTarget(r)}, words(" linked their account to single sign-on"))
		if _, ok := r.Changes["password"]; ok {
			s = append(s, words("; their password was removed"))
		}
		return s
	case "user.sso_role_lost":
		if refused {
			return join(userTarget(r), words(" left the admin groups but keeps the Admin role ("+reasonText(r)+"), and was signed out"))
		}
		return join(userTarget(r), words(" lost the Admin role on leaving the admin groups, and was signed out"))
	case "user.sso_role_granted":
		return join(userTarget(r), words(" got the Admin role from an admin group"))
	case "auth.logout":
		return join(a, words(" signed out"))
	case "auth.session_end":
		if r.Reason == "" {
			return join(a, words(" ended a session"))
		}
		return join(a, words(" ended "+OneLine(r.Reason)))
	case "auth.session_rotate":
		return join(a, words(" renewed their session"))
	case "auth.denied":
		return join(words("Call to "), route(r), words(" by "), a, words(" refused: "+reasonText(r)))
	case "security.csrf_rejected":
		return join(words("Form post to "), route(r), words(" by "), a, words(" refused: "+reasonText(r)))
	case "setup.complete":
		return join(words("Setup completed: "), userTarget(r), words(" is the first administrator"))
	case "user.create":
		return join(a, words(" created person "), userTarget(r))
	case "service_user.create":
		return join(a, words(" created service user "), userTarget(r))
	case "user.update", "service_user.update":
		if refused && r.Reason == "last_admin" { // the one update a rule refuses
			return attempt("Demotion of", userTarget(r))
		}
		if refused {
			return attempt("Update of", userTarget(r))
		}
		if c, ok := r.Changes["role"]; ok && len(r.Changes) == 1 {
			return join(a, words(" changed the role of "), userTarget(r), words(" from "+roleWord(c.Before)+" to "+roleWord(c.After)))
		}
		return join(a, words(" updated "), userTarget(r), fieldList(r.Changes, userFields))
	case "user.deactivate", "service_user.deactivate":
		if refused {
			return attempt("Deactivation of", userTarget(r))
		}
		return join(a, words(" deactivated "), userTarget(r))
	case "user.reactivate", "service_user.reactivate":
		return join(a, words(" restored "), userTarget(r))
	case "user.password_change":
		return join(a, words(" changed their password"))
	case "user.password_link_issued":
		if refused {
			return attempt("Set-password link for", userTarget(r))
		}
		return join(a, words(" issued a set-password link for "), userTarget(r))
	case "user.password_set":
		return join(a, words(" set their password with a one-time link"))
	case "user.sign_out_everywhere":
		s := join(a, words(" signed "), userTarget(r), words(" out everywhere"))
		if r.Reason != "" {
			s = append(s, words(" ("+OneLine(r.Reason)+")"))
		}
		return s
	case "team.create":
		return join(a, words(" created team "), teamTarget(r))
	case "team.update":
		if c, ok := r.Changes["name"]; ok {
			s := join(a, words(" renamed team "+changeText(c.Before)+" to "), teamTarget(r))
			if len(r.Changes) > 1 {
				s = append(s, fieldList(r.Changes, teamFields)...)
			}
			return s
		}
		return join(a, words(" updated team "), teamTarget(r), fieldList(r.Changes, teamFields))
	case "team.delete":
		if refused {
			return attempt("Deletion of team", teamTarget(r))
		}
		return join(a, words(" deleted team "), teamTarget(r))
	case "token.create":
		if refused { // the target is the user who was to hold it
			return attempt("A new token for", userTarget(r))
		}
		return join(a, words(" generated token "), tokenTarget(r), forOwner(r))
	case "token.revoke":
		s := join(a, words(" revoked "), tok)
		if r.Reason == "leaked" { // a secret-scanning partner's finding
			where := "in public"
			if c, ok := r.Changes["found_at"]; ok {
				where = "at " + changeText(c.After)
			}
			s = append(s, words(" because it was found "+OneLine(where)))
		} else if r.Reason == "inactive" { // the inactivity auto-revoke
			unused := "for a long time"
			if c, ok := r.Changes["inactive_days"]; ok {
				unused = "for " + daysText(c.After, "a long time")
			}
			s = append(s, words(" because it was not used "+unused))
		} else if r.Reason != "" {
			s = append(s, words(" ("+OneLine(r.Reason)+")"))
		}
		return s
	case "token.restore":
		if refused {
			return attempt("Restoration of", tok...)
		}
		return join(a, words(" restored "), tok)
	case "token.delete":
		if refused {
			return attempt("Deletion of", tok...)
		}
		return join(a, words(" deleted "), tok)
	case "token.rotate":
		if refused {
			return attempt("Rotation of", tok...)
		}
		return join(a, words(" rotated "), tok, words(" ("+overlapText(r)+")"))
	case "token.allowlist":
		c := r.Changes["allowed_cidrs"]
		if after := changeText(c.After); after != "any address" {
			return join(a, words(" restricted "), tok, words(" to "+strings.ReplaceAll(after, " ", ", ")))
		}
		return join(a, words(" let "), tok, words(" be used from any address"))
	case "token.ip_refused":
		s := join(words("Use of "), tok, words(" from "+changeText(r.Changes["address"].After)+" refused: outside its allowed addresses"))
		if changeText(r.Changes["via"].After) == "introspection" {
			s = append(s, words(" (reported by an introspecting service)"))
		}
		return s
	case "token.lookup":
		switch {
		case r.Reason == "malformed":
			return join(a, words(" looked up a pasted text that is not a Warden token"))
		case r.TargetKind != "token":
			return join(a, words(" looked up a token Warden does not know"))
		case r.Reason != "":
			return join(a, words(" looked up "), tok, words(" (it was "+OneLine(r.Reason)+")"))
		}
		return join(a, words(" looked up "), tok)
	case "settings.update":
		if c, ok := r.Changes["token.revoke_inactive_days"]; ok {
			return join(a, words(" changed the inactivity auto-revoke: "+inactivityText(c.Before)+" → "+inactivityText(c.After)))
		}
		return join(a, words(" changed the token expiry policy"), policyChanges(r.Changes))
	case "webhook.create":
		return join(a, words(" added webhook endpoint "), webhookTarget(r))
	case "webhook.update":
		return join(a, words(" changed webhook endpoint "), webhookTarget(r))
	case "webhook.delete":
		return join(a, words(" removed webhook endpoint "), webhookTarget(r))
	case "webhook.rotate_secret":
		return join(a, words(" rotated the signing secret of webhook endpoint "), webhookTarget(r))
	case "webhook.test":
		if refused {
			return attempt("A test event to webhook endpoint", webhookTarget(r))
		}
		return join(a, words(" sent a test event to webhook endpoint "), webhookTarget(r))
	case "webhook.redeliver":
		if refused {
			return attempt("A redelivery to webhook endpoint", webhookTarget(r))
		}
		return join(a, words(" redelivered "+OneLine(r.Reason)+" to "), webhookTarget(r))
	case "webhook.disable":
		s := join(a, words(" disabled webhook endpoint "), webhookTarget(r))
		if r.Reason != "" {
			s = append(s, words(" ("+OneLine(r.Reason)+")"))
		}
		return s
	}
	// An action this console does not know yet (the log outlives versions):
	// its code, rather than nothing.
	s := join(a, words(": "+OneLine(r.Action)))
	if r.TargetLabel != "" {
		s = append(s, words(" "), Part{Text: r.TargetText()})
	}
	return s
}

// join concatenates parts and lists of parts.
func join(items ...any) []Part {
	var out []Part
	for _, it := range items {
		switch x := it.(type) {
		case Part:
			out = append(out, x)
		case []Part:
			out = append(out, x...)
		}
	}
	return out
}

// actorParts names who acted: a user (linked, by name), the system, or
// someone not signed in; an API caller with the token it used.
func actorParts(r AuditRow) []Part {
	label := OneLine(r.ActorLabel)
	var out []Part
	switch {
	case r.ActorID != 0:
		out = append(out, userPart(r.ActorID, r.ActorName, r.ActorLabel))
	case r.ActorKind == "system" && (label == "" || label == "system"):
		out = append(out, Part{Text: "Warden"})
	case r.ActorKind == "system" && label == "command line":
		out = append(out, words("the command line"))
	case r.ActorKind == "anonymous" && label == "first-run setup":
		out = append(out, words("the first-run setup"))
	case r.ActorKind == "anonymous":
		out = append(out, words("someone"))
	case label == "":
		out = append(out, words("someone"))
	default:
		out = append(out, Part{Text: label})
	}
	if r.TokenID != 0 {
		out = append(out, words(" (via token "), Part{Text: viaTokenName(r), Href: tokenHistoryURL(r.TokenID)}, words(")"))
	}
	return out
}

// viaTokenName names the token an API caller used: "ci-30", "ci-60
// (deleted)", or its id when the log never named it.
func viaTokenName(r AuditRow) string {
	name := OneLine(r.TokenName)
	if name == "" {
		name = "#" + strconv.FormatInt(r.TokenID, 10)
	}
	if r.TokenGone {
		name += " (deleted)"
	}
	return name
}

// userPart names a user by name, linked to their page; by the handle the
// event recorded when the name is unknown.
func userPart(id int64, name, label string) Part {
	p := Part{Text: OneLine(name), Href: userURL(id)}
	if p.Text == "" {
		p.Text = OneLine(label)
	}
	if p.Text == "" {
		p.Text = "user #" + strconv.FormatInt(id, 10)
	}
	return p
}

// userTarget names the user an event is about.
func userTarget(r AuditRow) Part {
	if r.TargetID == 0 {
		return Part{Text: OneLine(r.TargetLabel)}
	}
	name := ""
	if r.OwnerID == r.TargetID { // a user target is its own owner
		name = r.OwnerName
	}
	return userPart(r.TargetID, name, r.TargetLabel)
}

// signInTarget is the account a sign-in was for: the account when it
// exists, else the address typed.
func signInTarget(r AuditRow) []Part {
	if r.TargetKind == "user" && r.TargetID != 0 {
		return []Part{userTarget(r)}
	}
	return []Part{{Text: "“" + OneLine(r.ActorLabel) + "”"}}
}

// teamTarget names the team an event is about, linked to its page while it
// exists.
func teamTarget(r AuditRow) Part {
	p := Part{Text: targetName(r)}
	if r.TargetID != 0 && !r.TargetGone {
		p.Href = teamURL(r.TargetID)
	}
	return p
}

// webhookTarget names the webhook endpoint an event is about (its scheme
// and host: a path may hold the receiver's secret), linked to its history.
func webhookTarget(r AuditRow) Part {
	p := Part{Text: targetName(r)}
	if r.TargetID != 0 {
		p.Href = "/audit?target_kind=webhook&target_id=" + strconv.FormatInt(r.TargetID, 10)
	}
	return p
}

// tokenTarget names the token an event is about, linked to its history,
// which outlives it.
func tokenTarget(r AuditRow) Part {
	p := Part{Text: targetName(r)}
	if r.TargetID != 0 {
		p.Href = tokenHistoryURL(r.TargetID)
	}
	return p
}

// targetName is the label the event recorded, "ci-60 (deleted)" once
// deleted, but for the deletion itself, which says so.
func targetName(r AuditRow) string {
	if strings.HasSuffix(r.Action, ".delete") && r.Outcome == "success" {
		return OneLine(r.TargetLabel)
	}
	return r.TargetText()
}

// ownerOf is " of Nightly ETL" for a token event, when its owner is known.
func ownerOf(r AuditRow) []Part {
	if o, ok := tokenOwner(r); ok {
		return []Part{words(" of "), o}
	}
	return nil
}

func forOwner(r AuditRow) []Part {
	if o, ok := tokenOwner(r); ok {
		return []Part{words(" for "), o}
	}
	return nil
}

// tokenOwner is the service user a token event concerns, by name, or by
// the handle a creation recorded.
func tokenOwner(r AuditRow) (Part, bool) {
	label := ""
	if c, ok := r.Changes["user"]; ok {
		label = changeText(c.After)
	}
	if r.OwnerID == 0 {
		return Part{Text: OneLine(label)}, label != ""
	}
	return userPart(r.OwnerID, r.OwnerName, label), true
}

func route(r AuditRow) Part { return Part{Text: OneLine(r.TargetLabel)} }

func tokenHistoryURL(id int64) string {
	return "/audit?target_kind=token&target_id=" + strconv.FormatInt(id, 10)
}

// reasons words the reason codes of refusals and failures.
var reasons = map[string]string{
	"webhook_disabled": "the webhook endpoint is disabled",
	"last_admin":       "the last active administrator",
	"builtin_team":     "it is built in",
	"not_service":      "only service users hold tokens",
	"deactivated":      "the user is deactivated",
	"not_revoked":      "it is not revoked",
	"expired":          "it has expired",
	"active":           "it is still active",
	"not_active":       "it is not active",
	"service_password": "service users have no password",
	"unknown_email":    "no account has this email",
	"wrong_password":   "wrong password",
	"no_password":      "no password set yet",
	"not_admin":        "not an administrator",
	"needs_admin":      "it needs the Admin role",
	"needs_manager":    "it needs the Manager role",
	"needs_member":     "it needs the Member role",
	"cross_origin":     "it came from another site",
	"token_in_query":   "its form token was in the address",
	"missing_token":    "it had no form token",
	"wrong_token":      "its form token did not match",
	// password sign-in turned off (--password-login=false)
	"password_login_off": "password sign-in is turned off",
	"not_break_glass":    "password sign-in is turned off and this is not a break-glass account",
	"sso_account":        "the person signs in with single sign-on",
	// single sign-on (models.SSO…)
	"not_in_group":      "not in an admin group",
	"provider_error":    "the identity provider answered with an error",
	"bad_state":         "its state did not match the sign-in started",
	"expired_session":   "the sign-in had expired or was started elsewhere",
	"code_rejected":     "the identity provider refused the code",
	"no_id_token":       "no ID token came back",
	"issuer_mismatch":   "the ID token came from another issuer",
	"audience_mismatch": "the ID token was for another client",
	"token_expired":     "the ID token had expired",
	"bad_signature":     "the ID token's signature did not verify",
	"invalid_token":     "the ID token was malformed",
	"nonce_mismatch":    "the ID token's nonce did not match",
	"nonce_replayed":    "the ID token had been used before",
	"groups_missing":    "no groups claim",
	"groups_invalid":    "the groups claim is not a list",
	"unverified_email":  "the email matches an account but is not verified",
	"no_email":          "no email address",
	"email_linked":      "the email's account is linked to another identity",
}

// reasonText words an event's reason: "5 active tokens" with the count the
// refusal recorded, a known code in words, other text as it is.
func reasonText(r AuditRow) string {
	switch {
	case r.Reason == "active_tokens":
		if c, ok := r.Changes["active_tokens"]; ok {
			if n, ok := c.After.(float64); ok && n > 0 {
				return plural1(int(n), "1 active token", strconv.Itoa(int(n))+" active tokens")
			}
		}
		return "it has active tokens"
	case r.Reason == "deactivated" && r.Action == "auth.login_failed":
		return "the account is deactivated"
	case r.Reason == "deactivated" && r.Action == "user.password_link_issued":
		return "the account is deactivated"
	case r.Reason == "":
		return "no reason recorded"
	case strings.HasPrefix(r.Reason, "needs_scope:"): // an API route's scope (handlers.RequireScope)
		return "its token lacks the scope " + OneLine(strings.TrimPrefix(r.Reason, "needs_scope:"))
	}
	if w, ok := reasons[r.Reason]; ok {
		return w
	}
	return strings.ReplaceAll(OneLine(r.Reason), "_", " ")
}

// overlapText says how long a rotated token's predecessor kept working:
// "old one works 24 h", from the end the rotation recorded.
func overlapText(r AuditRow) string {
	c, ok := r.Changes["old_expires_at"]
	if !ok {
		return "old one works for the overlap chosen"
	}
	end, err := time.Parse(time.RFC3339, changeText(c.After))
	if err != nil {
		return "old one works for the overlap chosen"
	}
	d := end.Sub(r.At.Truncate(time.Second))
	switch {
	case d < 30*time.Second:
		return "old one stopped at once"
	case d < time.Hour:
		return "old one works " + strconv.Itoa(int(math.Round(d.Minutes()))) + " min"
	case d < 48*time.Hour:
		return "old one works " + strconv.Itoa(int(math.Round(d.Hours()))) + " h"
	}
	return "old one works " + plural(int(math.Round(d.Hours()/24)), "day")
}

var userFields = map[string]string{
	"name": "name", "email": "email", "role": "role", "teams": "teams", "description": "purpose", "owner": "owner", "notify_emails": "notification addresses",
	"status": "status",
}

var teamFields = map[string]string{"name": "name", "description": "description"}

// fieldList is " (role and teams)": the fields an update changed, in words.
func fieldList(changes map[string]EventChange, names map[string]string) []Part {
	var fs []string
	for f := range changes {
		w, ok := names[f]
		if !ok {
			w = strings.ReplaceAll(f, "_", " ")
		}
		fs = append(fs, w)
	}
	if len(fs) == 0 {
		return nil
	}
	slices.Sort(fs)
	list := fs[0]
	if n := len(fs); n > 1 {
		list = strings.Join(fs[:n-1], ", ") + " and " + fs[n-1]
	}
	return []Part{words(" (" + list + ")")}
}

// policyChanges is ": default 90 → 30 days, …" for the expiry policy.
func policyChanges(changes map[string]EventChange) []Part {
	var out []string
	for _, f := range []string{"token.default_days", "token.max_days", "token.allow_never"} {
		c, ok := changes[f]
		if !ok {
			continue
		}
		switch f {
		case "token.default_days":
			out = append(out, "default "+daysText(c.Before, "Never")+" → "+daysText(c.After, "Never"))
		case "token.max_days":
			out = append(out, "longest "+daysText(c.Before, "no limit")+" → "+daysText(c.After, "no limit"))
		case "token.allow_never":
			if c.After == true {
				out = append(out, "“Never” allowed")
			} else {
				out = append(out, "“Never” no longer allowed")
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return []Part{words(": " + strings.Join(out, ", "))}
}

// inactivityText words the inactivity auto-revoke setting: "off", or
// "after 90 days unused".
func inactivityText(v any) string {
	if n, ok := v.(float64); ok && n > 0 {
		return "after " + daysText(v, "") + " unused"
	}
	return "off"
}

// daysText is "30 days" for a number of days, zero for none.
func daysText(v any, zero string) string {
	n, ok := v.(float64)
	switch {
	case !ok:
		return changeText(v)
	case n == 0:
		return zero
	}
	return plural(int(n), "day")
}

func roleWord(v any) string {
	switch s := changeText(v); s {
	case "admin":
		return "Admin"
	case "manager":
		return "Manager"
	case "member":
		return "Member"
	default:
		return s
	}
}

// changeText is a recorded value as text.
func changeText(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		return OneLine(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return OneLine(fmt.Sprint(v))
}

func capitalise(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// actionLabels name each action for the filter and the summary: what
// happened, in a few words.
var actionLabels = map[string]string{
	"auth.login":                "Signed in",
	"auth.login_failed":         "Sign-in failed",
	"auth.login_denied":         "Sign-in refused",
	"auth.sso_login":            "Signed in with SSO",
	"auth.sso_failed":           "SSO sign-in failed",
	"auth.sso_denied":           "SSO sign-in refused",
	"user.sso_create":           "Person joined through SSO",
	"user.sso_link":             "Person linked to SSO",
	"user.sso_role_lost":        "Admin role lost (SSO groups)",
	"user.sso_role_granted":     "Admin role granted (SSO groups)",
	"auth.logout":               "Signed out",
	"auth.session_end":          "Session ended",
	"auth.session_rotate":       "Session renewed",
	"auth.denied":               "API call refused",
	"security.csrf_rejected":    "Form post refused",
	"setup.complete":            "Setup completed",
	"user.create":               "Person created",
	"user.update":               "Person updated",
	"user.deactivate":           "Person deactivated",
	"user.reactivate":           "Person restored",
	"user.password_change":      "Password changed",
	"user.password_link_issued": "Set-password link issued",
	"user.password_set":         "Password set",
	"user.sign_out_everywhere":  "Signed out everywhere",
	"service_user.create":       "Service user created",
	"service_user.update":       "Service user updated",
	"service_user.deactivate":   "Service user deactivated",
	"service_user.reactivate":   "Service user restored",
	"team.create":               "Team created",
	"team.update":               "Team updated",
	"team.delete":               "Team deleted",
	"token.create":              "Token generated",
	"token.revoke":              "Token revoked",
	"token.restore":             "Token restored",
	"token.delete":              "Token deleted",
	"token.rotate":              "Token rotated",
	"token.lookup":              "Token looked up",
	"token.allowlist":           "Token addresses changed",
	"token.ip_refused":          "Token refused by address",
	"settings.update":           "Settings changed",
	"webhook.create":            "Webhook endpoint added",
	"webhook.update":            "Webhook endpoint changed",
	"webhook.delete":            "Webhook endpoint removed",
	"webhook.rotate_secret":     "Webhook secret rotated",
	"webhook.test":              "Webhook test sent",
	"webhook.disable":           "Webhook endpoint disabled",
	"webhook.redeliver":         "Webhook redelivered",
}

// ActionLabel names an action in words ("Token revoked"); an unknown one
// by its code.
func ActionLabel(action string) string {
	if l, ok := actionLabels[action]; ok {
		return l
	}
	return OneLine(action)
}

// actionName is ActionLabel, and "" for no action.
func actionName(action string) string {
	if action == "" {
		return ""
	}
	return ActionLabel(action)
}

// actionFilterURL lists the events of one action.
func actionFilterURL(action string) string { return "/audit?action=" + url.QueryEscape(action) }
