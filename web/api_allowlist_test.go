package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/warden-console/warden/handlers"
	"github.com/warden-console/warden/models"
)

// callFrom is f.call with an X-Forwarded-For header (app.Test's peer is
// 0.0.0.0).
func (f *apiFixture) callFrom(t *testing.T, xff, method, path, token, contentType, body string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, testOrigin+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := f.h.srv.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// pinnedToken is an Admin token usable only from cidrs.
func (f *apiFixture) pinnedToken(t *testing.T, name string, cidrs ...string) (int64, string) {
	t.Helper()
	tok, secret, err := f.h.srv.Store().GenerateToken(context.Background(), models.System, f.adminUserID,
		models.NewToken{Name: name, Expiry: models.Expiry{Days: 30}, AllowedCIDRs: cidrs})
	if err != nil {
		t.Fatal(err)
	}
	return tok.ID, secret
}

// TestAPIAllowlistBehindTrustedProxies: the allowlist is checked against
// the client address the server trusts. Behind a trusted proxy that is the
// X-Forwarded-For entry the proxy added; from an untrusted peer the header
// is ignored and the peer's own address is refused. A refusal is the same
// 401 as an unknown token.
func TestAPIAllowlistBehindTrustedProxies(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		f := newAPIFixture(t, func(c *Config) {
			if trusted {
				c.TrustedProxies = "0.0.0.0/32"
			}
		})
		_, secret := f.pinnedToken(t, "pinned", "203.0.113.0/24", "2001:db8::/64")
		_, unknownBody := f.callFrom(t, "", "GET", "/api/v1/me", "wdn_"+strings.Repeat("A", 40), "", "")
		for _, c := range []struct {
			xff  string
			want int
		}{
			{"203.0.113.7", http.StatusOK},
			{"2001:db8::7", http.StatusOK},
			{"10.1.1.1, 203.0.113.8", http.StatusOK}, // the proxy's entry is the last
			{"203.0.113.8, 10.1.1.1", http.StatusUnauthorized},
			{"198.51.100.7", http.StatusUnauthorized},
			{"", http.StatusUnauthorized}, // the proxy itself, 0.0.0.0
		} {
			want := c.want
			if !trusted {
				want = http.StatusUnauthorized // 0.0.0.0 whatever the header says
			}
			resp, body := f.callFrom(t, c.xff, "GET", "/api/v1/me", secret, "", "")
			if resp.StatusCode != want {
				t.Errorf("trusted proxy %v, X-Forwarded-For %q: %d %s; want %d", trusted, c.xff, resp.StatusCode, snippet(body), want)
			}
			if resp.StatusCode == http.StatusUnauthorized {
				var got, unknown handlers.Problem
				_ = json.Unmarshal([]byte(body), &got)
				_ = json.Unmarshal([]byte(unknownBody), &unknown)
				got.RequestID, unknown.RequestID = "", ""
				if got.Detail != unknown.Detail || got.Title != unknown.Title || got.Type != unknown.Type {
					t.Errorf("a refused address answers %s; an unknown token %s", body, unknownBody)
				}
			}
		}
		page, err := f.h.srv.Store().ListAudit(context.Background(), models.AuditQuery{Actions: []string{"token.ip_refused"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) != 1 {
			t.Errorf("trusted proxy %v: %d token.ip_refused events for several refusals in a minute; want 1", trusted, len(page.Events))
		}
	}
}

// TestAPIAllowlistPatchAndSuggestions: PATCH changes the allowlist and only
// that; the suggestions come from the addresses the token was used from,
// and applying them lets those addresses in and no other.
func TestAPIAllowlistPatchAndSuggestions(t *testing.T) {
	f := newAPIFixture(t, func(c *Config) { c.TrustedProxies = "0.0.0.0/32" })
	id, secret := f.pinnedToken(t, "roaming")
	path := "/api/v1/tokens/" + strconv.FormatInt(id, 10)
	for _, ip := range []string{"203.0.113.5", "203.0.113.6", "203.0.113.7", "198.51.100.20", "2001:db8::1"} {
		if resp, body := f.callFrom(t, ip, "GET", "/api/v1/me", secret, "", ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("use from %s: %d %s", ip, resp.StatusCode, body)
		}
	}
	resp, body := f.call(t, "GET", path+"/ip-suggestions", f.admin, "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("suggestions: %d %s", resp.StatusCode, body)
	}
	var sug handlers.APIIPSuggestions
	if err := json.Unmarshal([]byte(body), &sug); err != nil {
		t.Fatal(err)
	}
	want := []string{"198.51.100.20/32", "203.0.113.0/24", "2001:db8::1/128"}
	if !slices.Equal(sug.Proposed, want) || len(sug.Observed) != 5 || len(sug.Current) != 0 {
		t.Fatalf("suggestions %s; want proposed %v from 5 addresses", body, want)
	}

	proposed, _ := json.Marshal(map[string]any{"allowed_cidrs": sug.Proposed})
	resp, body = f.call(t, "PATCH", path, f.admin, "application/json", string(proposed))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"allowed_cidrs":["198.51.100.20/32","203.0.113.0/24","2001:db8::1/128"]`) {
		t.Fatalf("apply: %d %s", resp.StatusCode, body)
	}
	for ip, want := range map[string]int{"203.0.113.99": 200, "198.51.100.20": 200, "198.51.100.21": 401, "2001:db8::2": 401} {
		if resp, body := f.callFrom(t, ip, "GET", "/api/v1/me", secret, "", ""); resp.StatusCode != want {
			t.Errorf("after applying, from %s: %d %s; want %d", ip, resp.StatusCode, snippet(body), want)
		}
	}
	page, err := f.h.srv.Store().ListAudit(context.Background(), models.AuditQuery{Actions: []string{"token.allowlist"}})
	if err != nil || len(page.Events) != 1 || !strings.Contains(page.Events[0].Changes, "any address") {
		t.Fatalf("token.allowlist events %+v, %v", page.Events, err)
	}

	bad := []struct{ body, field, part string }{
		{`{"allowed_cidrs": ["10.0.0.1/8"]}`, "allowed_cidrs", "10.0.0.1/8"},
		{`{"allowed_cidrs": ["nope"]}`, "allowed_cidrs", "nope"},
		{`{}`, "allowed_cidrs", "Required"},
		{`{"allowed_cidrs": [], "name": "x"}`, "allowed_cidrs", "only that"},
	}
	for _, b := range bad {
		resp, body := f.call(t, "PATCH", path, f.admin, "application/json", b.body)
		var p handlers.Problem
		_ = json.Unmarshal([]byte(body), &p)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(p.Errors[b.field]+p.Detail, b.part) {
			t.Errorf("PATCH %s: %d %s; want 422 naming %s and %q", b.body, resp.StatusCode, body, b.field, b.part)
		}
	}
	if resp, body := f.call(t, "PATCH", path, f.admin, "application/json", `{"allowed_cidrs": "10.0.0.0/8"}`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a string for the list: %d %s; want 400", resp.StatusCode, body)
	}
	if resp, _ := f.call(t, "PATCH", "/api/v1/tokens/999999", f.admin, "application/json", `{"allowed_cidrs": null}`); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown token: %d", resp.StatusCode)
	}
	if resp, _ := f.call(t, "GET", "/api/v1/tokens/999999/ip-suggestions", f.admin, "", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown token's suggestions: %d", resp.StatusCode)
	}
	// null clears it.
	if resp, body := f.call(t, "PATCH", path, f.admin, "application/json", `{"allowed_cidrs": null}`); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, `"allowed_cidrs":[]`) {
		t.Errorf("clear: %d %s", resp.StatusCode, body)
	}

	// Created and rotated through the API with a list; a bad one is 422.
	resp, body = f.call(t, "POST", "/api/v1/users/"+strconv.FormatInt(f.adminUserID, 10)+"/tokens", f.admin, "application/json",
		`{"name": "made pinned", "expires_in_days": 5, "allowed_cidrs": ["192.0.2.0/24"]}`)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, `"allowed_cidrs":["192.0.2.0/24"]`) {
		t.Fatalf("create with a list: %d %s", resp.StatusCode, body)
	}
	var made handlers.APIToken
	_ = json.Unmarshal([]byte(body), &made)
	resp, body = f.call(t, "POST", "/api/v1/tokens/"+strconv.FormatInt(made.ID, 10)+"/rotate", f.admin, "application/json", `{"overlap": "none"}`)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, `"allowed_cidrs":["192.0.2.0/24"]`) {
		t.Errorf("rotation keeps the list: %d %s", resp.StatusCode, body)
	}
	resp, body = f.call(t, "POST", "/api/v1/users/"+strconv.FormatInt(f.adminUserID, 10)+"/tokens", f.admin, "application/json",
		`{"name": "bad pinned", "expires_in_days": 5, "allowed_cidrs": ["192.0.2.1/24"]}`)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "192.0.2.1/24") {
		t.Errorf("create with a bad range: %d %s", resp.StatusCode, body)
	}
}

// TestIntrospectionChecksClientIP: with client_ip outside the token's
// allowlist the answer is inactive; without it the allowlist is not
// checked; a malformed client_ip is 400 naming it.
func TestIntrospectionChecksClientIP(t *testing.T) {
	f := newAPIFixture(t)
	_, secret := f.pinnedToken(t, "introspected", "203.0.113.0/24")
	form := func(v url.Values) string {
		resp, body := f.call(t, "POST", "/api/v1/introspect", f.manager, "application/x-www-form-urlencoded", v.Encode())
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("introspect %v: %d %s", v, resp.StatusCode, body)
		}
		return body
	}
	if body := form(url.Values{"token": {secret}}); !strings.Contains(body, `"active":true`) {
		t.Errorf("without client_ip: %s", body)
	}
	if body := form(url.Values{"token": {secret}, "client_ip": {"203.0.113.9"}}); !strings.Contains(body, `"active":true`) {
		t.Errorf("inside: %s", body)
	}
	if body := form(url.Values{"token": {secret}, "client_ip": {"198.51.100.9"}}); body != `{"active":false}` {
		t.Errorf("outside: %s", body)
	}
	resp, body := f.call(t, "POST", "/api/v1/introspect", f.manager, "application/json", `{"token": "`+secret+`", "client_ip": "::ffff:198.51.100.9"}`)
	if resp.StatusCode != http.StatusOK || body != `{"active":false}` {
		t.Errorf("outside, JSON, IPv4-mapped: %d %s", resp.StatusCode, body)
	}
	resp, body = f.call(t, "POST", "/api/v1/introspect", f.manager, "application/json", `{"token": "`+secret+`", "client_ip": "example.com"}`)
	var p handlers.Problem
	_ = json.Unmarshal([]byte(body), &p)
	if resp.StatusCode != http.StatusBadRequest || p.Errors["client_ip"] == "" {
		t.Errorf("malformed client_ip: %d %s; want 400 naming client_ip", resp.StatusCode, body)
	}
}
