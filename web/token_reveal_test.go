package web

import (
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// anySecret matches a whole token (a hint shows only its ends).
var anySecret = regexp.MustCompile(`wdn_[0-9A-Za-z]{38}`)

// postToken sends the generate form and returns the reveal page it
// redirects to, without opening it.
func postToken(t *testing.T, c *client, userID int64, name string) string {
	t.Helper()
	c.get(fmt.Sprintf("/users/%d/tokens/new", userID))
	resp := c.post(fmt.Sprintf("/users/%d/tokens", userID), url.Values{"name": {name}, "expiry": {"30"}})
	expectStatus(t, resp, http.StatusSeeOther)
	loc := resp.Header.Get("Location")
	if !revealLocation.MatchString(loc) {
		t.Fatalf("generate: redirect to %q; want /tokens/reveal/<id>", loc)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("generate: Cache-Control = %q", cc)
	}
	return loc
}

// expectShownOnce fails unless the last page is the "shown once" answer
// for the token name, without any secret.
func expectShownOnce(t *testing.T, c *client, resp *http.Response, step, name string) {
	t.Helper()
	expectStatus(t, resp, http.StatusOK)
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control = %q", step, cc)
	}
	for _, want := range []string{"This token was shown once", "“" + name + "”", "rotate it"} {
		if !strings.Contains(c.lastBody, want) {
			t.Errorf("%s: the page lacks %q: %s", step, want, snippet(c.lastBody))
		}
	}
	if anySecret.MatchString(c.lastBody) || strings.Contains(c.lastBody, `id="token-value"`) {
		t.Errorf("%s: the page shows a token", step)
	}
}

// TestTokenRevealShownOnce: the POST answers 303; the GET shows the
// secret, no-store; a reload, and Back to it, say "shown once" with the
// token's name and a way to rotate it.
func TestTokenRevealShownOnce(t *testing.T) {
	h, c, _ := signedIn(t)
	svc := createService(t, c, url.Values{"name": {"Once"}})
	loc := postToken(t, c, svc, "once-only")
	resp := c.get(loc)
	expectStatus(t, resp, http.StatusOK)
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the reveal page: Cache-Control = %q", cc)
	}
	m := revealed.FindStringSubmatch(c.lastBody)
	if m == nil {
		t.Fatalf("the reveal page shows no token: %s", snippet(c.lastBody))
	}
	secret := m[1]
	// It is the user's page, with the token's row for the focus to return to.
	toks, _ := h.srv.Store().TokensOf(t.Context(), svc)
	if len(toks) != 1 || !strings.Contains(c.lastBody, fmt.Sprintf(`<tr id="token-%d"`, toks[0].ID)) || !strings.Contains(c.lastBody, fmt.Sprintf(`data-reveal="#token-%d"`, toks[0].ID)) {
		t.Error("the reveal is not over the user's page with the token's row")
	}
	if r, _ := apiGet(t, h, "/api/v1/me", bearer(secret)); r.StatusCode != http.StatusOK {
		t.Errorf("the revealed token does not work: %d", r.StatusCode)
	}

	for _, step := range []string{"reload", "Back"} {
		expectShownOnce(t, c, c.get(loc), step, "once-only")
		if !strings.Contains(c.lastBody, fmt.Sprintf(`href="/users/%d#token-%d"`, svc, toks[0].ID)) {
			t.Errorf("%s: no link to the token's row", step)
		}
	}
	if strings.Contains(h.logs.String(), secret) {
		t.Error("the secret is in the log")
	}
	for _, e := range readAuditEvents(t, h) {
		if strings.Contains(e.AllText+e.Changes, secret) {
			t.Errorf("the secret is in audit event %s", e.Action)
		}
	}
}

// TestTokenRevealOtherSession: another session, even the same
// administrator's, never sees the secret, and its visit does not use up
// the showing; a signed-out visitor is sent to sign in.
func TestTokenRevealOtherSession(t *testing.T) {
	h, c, _ := signedIn(t)
	svc := createService(t, c, url.Values{"name": {"Shared"}})
	loc := postToken(t, c, svc, "mine")

	other := h.client()
	other.login("ada@example.com", testPassword)
	expectShownOnce(t, other, other.get(loc), "another session", "mine")

	anon := h.client()
	resp := anon.get(loc)
	if resp.StatusCode != http.StatusSeeOther || anySecret.MatchString(anon.lastBody) {
		t.Errorf("signed out: status %d; want a redirect to sign in, without the token", resp.StatusCode)
	}

	resp = c.get(loc)
	expectStatus(t, resp, http.StatusOK)
	if revealed.FindStringSubmatch(c.lastBody) == nil {
		t.Fatal("the generating session lost its reveal to another session's visit")
	}
	expectShownOnce(t, other, other.get(loc), "another session, after", "mine")
}

// TestTokenRevealExpires: the reveal works for 10 minutes by the store's
// clock, then says "shown once".
func TestTokenRevealExpires(t *testing.T) {
	h, c, _ := signedIn(t)
	svc := createService(t, c, url.Values{"name": {"Slow"}})
	late := postToken(t, c, svc, "late")
	h.clock.Advance(10 * time.Minute)
	expectShownOnce(t, c, c.get(late), "after 10 minutes", "late")

	inTime := postToken(t, c, svc, "in-time")
	h.clock.Advance(10*time.Minute - time.Second)
	expectStatus(t, c.get(inTime), http.StatusOK)
	if revealed.FindStringSubmatch(c.lastBody) == nil {
		t.Error("the reveal is gone before its 10 minutes")
	}
}

// TestTokenRevealRotation: rotating from the console answers 303 to a
// reveal of the replacement, once.
func TestTokenRevealRotation(t *testing.T) {
	h, c, _ := signedIn(t)
	svc := createService(t, c, url.Values{"name": {"Spinner"}})
	old := generate(t, c, svc, url.Values{"name": {"deploy"}})
	toks, _ := h.srv.Store().TokensOf(t.Context(), svc)
	c.get(fmt.Sprintf("/users/%d", svc))
	fresh, loc := followReveal(t, c, c.post(fmt.Sprintf("/tokens/%d/rotate", toks[0].ID), url.Values{"overlap": {"1h"}}))
	if fresh == old || !strings.Contains(c.lastBody, "It replaces “deploy”") {
		t.Fatalf("rotation reveal: %s", snippet(c.lastBody))
	}
	expectShownOnce(t, c, c.get(loc), "reload of the rotation", "deploy-r2")
}

// TestTokenRevealBadAddresses: a malformed or unknown reveal is a 404 and
// a HEAD does not use up the showing; never a 422 or a 500.
func TestTokenRevealBadAddresses(t *testing.T) {
	_, c, _ := signedIn(t)
	for _, p := range []string{"/tokens/reveal/x", "/tokens/reveal/" + strings.Repeat("A", 22), "/tokens/reveal/" + strings.Repeat("A", 21) + ".", "/tokens/reveal/"} {
		expectStatus(t, c.get(p), http.StatusNotFound)
	}
	svc := createService(t, c, url.Values{"name": {"Header"}})
	loc := postToken(t, c, svc, "head")
	req, _ := http.NewRequest(http.MethodHead, testOrigin+loc, nil)
	expectStatus(t, c.do(req), http.StatusOK)
	expectStatus(t, c.get(loc), http.StatusOK)
	if revealed.FindStringSubmatch(c.lastBody) == nil {
		t.Error("a HEAD used up the reveal")
	}
}

// TestTokenRevealNotInDatabase: between the POST and the reveal, the secret
// waits in the database sealed: no row of any table holds it in plain
// text (nor hex or base64), nor do the SQLite files.
func TestTokenRevealNotInDatabase(t *testing.T) {
	h, c, _ := signedIn(t)
	svc := createService(t, c, url.Values{"name": {"Vault"}})
	loc := postToken(t, c, svc, "vault-prod-7")
	var dump strings.Builder
	if h.dbURL != "" {
		dump.WriteString(everyRow(t, h.dbURL))
	} else {
		dump.WriteString(everySQLiteRow(t, filepath.Join(h.dir, "warden.db")))
		for _, suffix := range []string{"", "-wal"} {
			b, err := os.ReadFile(filepath.Join(h.dir, "warden.db") + suffix)
			if err != nil && suffix == "" {
				t.Fatal(err)
			}
			dump.Write(b)
		}
	}
	if !strings.Contains(dump.String(), "vault-prod-7") {
		t.Fatal("the dump does not hold the token's row: it proves nothing")
	}
	expectStatus(t, c.get(loc), http.StatusOK)
	m := revealed.FindStringSubmatch(c.lastBody)
	if m == nil {
		t.Fatalf("no token revealed: %s", snippet(c.lastBody))
	}
	for _, enc := range []string{m[1], hex.EncodeToString([]byte(m[1])), base64.StdEncoding.EncodeToString([]byte(m[1])), base64.RawURLEncoding.EncodeToString([]byte(m[1]))} {
		if strings.Contains(dump.String(), enc) {
			t.Errorf("the database holds the secret (as %q…)", enc[:8])
		}
	}
}

// everySQLiteRow reads every row of every table of a SQLite file as text.
func everySQLiteRow(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var names []string
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	var b strings.Builder
	for _, n := range names {
		rows, err := db.Query(`SELECT * FROM "` + n + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if raw, ok := v.([]byte); ok {
					b.Write(raw)
				} else {
					fmt.Fprint(&b, v)
				}
				b.WriteByte('|')
			}
			b.WriteByte('\n')
		}
		rows.Close()
	}
	return b.String()
}
