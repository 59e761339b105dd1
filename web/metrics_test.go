package web

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/warden-console/warden/models"
)

func TestMetricsListener(t *testing.T) {
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := probe.Addr().String()
	probe.Close()
	h := newHarness(t, func(c *Config) { c.MetricsAddr = metricsAddr })
	ctx := context.Background()
	admin := h.admin("ada@example.com")
	u, _ := h.srv.Store().CreateServiceUser(ctx, models.AsUser(admin), models.NewServiceUser{Name: "Metered", Role: models.RoleMember})
	_, secret, _ := h.srv.Store().GenerateToken(ctx, models.AsUser(admin), u.ID, models.NewToken{Name: "m", Expiry: models.Expiry{Days: 30}})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(sctx, ln) }()
	defer func() { cancel(); <-done }()
	base := "http://" + ln.Addr().String()

	get := func(url string, hdr map[string]string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	get(base+"/api/v1/me", map[string]string{"Authorization": "Bearer " + secret})
	get(base+"/api/v1/me", map[string]string{"Authorization": "Bearer wdn_nope"})
	get(base+"/users/12345", nil)
	// The console does not serve /metrics; the metrics listener does.
	if _, body := get(base+"/metrics", nil); strings.Contains(body, "warden_http_requests_total") {
		t.Error("/metrics is served on the console's address")
	}
	code, body := get("http://"+metricsAddr+"/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`warden_http_requests_total{method="GET",route="/api/v1/me",status="200"} 1`,
		`warden_token_authentications_total{outcome="success"} 1`,
		`warden_token_authentications_total{outcome="malformed"} 1`,
		`warden_http_request_duration_seconds_bucket{method="GET",route="/api/v1/me"`,
		`go_sql_max_open_connections{db_name="warden"}`,
		// The gauge's value is whatever writers wait at the scrape: serve's
		// sweepers and workers write in the background.
		"\nwarden_db_write_queue ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Route patterns, never raw paths with ids.
	if regexp.MustCompile(`route="/users/12345"`).MatchString(body) {
		t.Error("a raw path became a label")
	}
}
