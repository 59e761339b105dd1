package views

import (
	"strings"
	"time"
)

// durationLabel renders a timeout the way a person says it: "30 minutes", "12 hours".
func durationLabel(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return plural(int(d/time.Minute), "minute")
	}
	return d.String()
}

// userAgentLabel turns a User-Agent header into "Firefox on Linux"-style text.
func userAgentLabel(ua string) string {
	if ua == "" {
		return "Unknown device"
	}
	browser := ""
	switch {
	case strings.Contains(ua, "Edg/"):
		browser = "Edge"
	case strings.Contains(ua, "Firefox/"):
		browser = "Firefox"
	case strings.Contains(ua, "Chrome/") || strings.Contains(ua, "Chromium/"):
		browser = "Chrome"
	case strings.Contains(ua, "Safari/"):
		browser = "Safari"
	case strings.HasPrefix(ua, "curl/"):
		browser = "curl"
	}
	os := ""
	switch {
	case strings.Contains(ua, "Windows"):
		os = "Windows"
	case strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPad"):
		os = "iOS"
	case strings.Contains(ua, "Mac OS X"):
		os = "macOS"
	case strings.Contains(ua, "Android"):
		os = "Android"
	case strings.Contains(ua, "Linux"):
		os = "Linux"
	}
	switch {
	case browser != "" && os != "":
		return browser + " on " + os
	case browser != "":
		return browser
	case os != "":
		return os
	}
	return ua
}

// SignInText says how a person signs in, from models.User.SignInMethod.
func SignInText(method string) string {
	switch method {
	case "sso":
		return "SSO"
	case "sso+password":
		return "SSO + break-glass password"
	case "password":
		return "Password"
	}
	return ""
}
