package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// fetchEncoded GETs path asking for the encoding enc and returns the
// response, the decoded body and the size on the wire. When the server did
// not compress, the wire size is what gzip would have made of the body, so
// the log still says what compression would give.
func fetchEncoded(t *testing.T, c *client, path, enc string, header ...string) (*http.Response, string, int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, testOrigin+path, nil)
	req.Header.Set("Sec-Fetch-Site", "none")
	req.Header.Set("Accept-Encoding", enc)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp := c.do(req)
	wire := []byte(c.lastBody)
	var raw []byte
	var err error
	switch resp.Header.Get("Content-Encoding") {
	case "gzip":
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(wire)); err == nil {
			raw, err = io.ReadAll(zr)
		}
	case "br":
		raw, err = fasthttp.AppendUnbrotliBytes(nil, wire)
	case "":
		raw = wire
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(raw)
		_ = zw.Close()
		wire = b.Bytes()
	default:
		t.Fatalf("%s: Content-Encoding %q", path, resp.Header.Get("Content-Encoding"))
	}
	if err != nil {
		t.Fatalf("%s: decode %s body: %v", path, resp.Header.Get("Content-Encoding"), err)
	}
	return resp, string(raw), len(wire)
}

// TestPageSizes holds the two busiest pages to a size budget (issue 15):
// the Users list with 25 rows and the audit log with 50 events, raw and
// gzip-compressed, and checks the compression and asset caching the budget
// relies on.
func TestPageSizes(t *testing.T) {
	h := newHarness(t)
	if _, err := seedConsole(context.Background(), h.srv.Store()); err != nil {
		t.Fatal(err)
	}
	c := h.client()
	c.login(consoleAdminEmail, testPassword)

	for _, p := range []struct {
		path            string
		minRows         int // <tr> elements, header rows included
		maxRaw, maxGzip int
	}{
		{"/users", 26, 35_000, 8_000},
		// Each audit action adds a checkbox (~100 bytes) to the action
		// filter; a row links to its event once (Details), not twice.
		{"/audit", 51, 45_000, 10_000},
	} {
		resp, body, wire := fetchEncoded(t, c, p.path, "gzip")
		expectStatus(t, resp, http.StatusOK)
		t.Logf("%s: %d bytes, %d gzip-compressed", p.path, len(body), wire)
		if n := strings.Count(body, "<tr"); n < p.minRows {
			t.Fatalf("%s: %d table rows; the seed should fill at least %d", p.path, n, p.minRows)
		}
		if got := resp.Header.Get("Content-Encoding"); got != "gzip" {
			t.Errorf("%s: Content-Encoding %q with Accept-Encoding: gzip", p.path, got)
		}
		if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("%s: Vary %q lacks Accept-Encoding", p.path, resp.Header.Get("Vary"))
		}
		if len(body) > p.maxRaw || wire > p.maxGzip {
			t.Errorf("%s: %d bytes (budget %d), %d gzip-compressed (budget %d)", p.path, len(body), p.maxRaw, wire, p.maxGzip)
		}
		resp, brBody, brWire := fetchEncoded(t, c, p.path, "gzip, deflate, br")
		if got := resp.Header.Get("Content-Encoding"); got != "br" || !strings.HasSuffix(strings.TrimSpace(brBody), "</html>") {
			t.Errorf("%s: Content-Encoding %q with br accepted, or the body did not decode", p.path, got)
		}
		t.Logf("%s: %d brotli-compressed", p.path, brWire)
	}

	// An htmx request of the Users list (the page htmx selects the results
	// region from) is compressed too.
	resp, body, _ := fetchEncoded(t, c, "/users?q=airflow", "gzip", "HX-Request", "true")
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(body, `id="users-results"`) || !strings.Contains(body, "Airflow ETL") {
		t.Errorf("htmx partial: Content-Encoding %q, body %s", resp.Header.Get("Content-Encoding"), snippet(body))
	}

	// The page links its assets by content hash, and those are immutable.
	_, page, _ := fetchEncoded(t, c, "/users", "identity")
	css := regexp.MustCompile(`<link rel="stylesheet" href="(/static/css/app\.[0-9a-f]{8}\.css)"`).FindStringSubmatch(page)
	js := regexp.MustCompile(`<script src="(/static/js/htmx\.min\.[0-9a-f]{8}\.js)"`).FindStringSubmatch(page)
	if css == nil || js == nil {
		t.Fatalf("the page does not link hashed assets: %s", snippet(page))
	}
	for _, path := range []string{css[1], js[1]} {
		resp, body, wire := fetchEncoded(t, c, path, "br, gzip")
		expectStatus(t, resp, http.StatusOK)
		if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", path, cc)
		}
		if resp.Header.Get("Content-Encoding") != "br" || len(body) == 0 {
			t.Errorf("%s: Content-Encoding %q, %d bytes", path, resp.Header.Get("Content-Encoding"), len(body))
		}
		t.Logf("%s: %d bytes, %d brotli-compressed", path, len(body), wire)
	}
	resp, cssBody, _ := fetchEncoded(t, c, css[1], "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(cssBody, ".btn") {
		t.Errorf("%s with gzip: Content-Encoding %q, type %q", css[1], resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Type"))
	}
	// A hash this build did not make is not found (see assetHandler).
	expectStatus(t, c.get("/static/css/app.00000000.css"), http.StatusNotFound)
}
