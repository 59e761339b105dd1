package web

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warden-console/warden/models"
)

// TestIntrospectionHasItsOwnRateLimit: with the default settings one caller
// introspects 1,000 tokens within a second and none is refused, and doing so
// spends nothing of the caller's management-API budget (--api-rate-limit).
// The introspection limit still applies when set low.
func TestIntrospectionHasItsOwnRateLimit(t *testing.T) {
	if d := DefaultConfig(); d.IntrospectRateLimit != 2000 || d.APIRateLimit != 50 {
		t.Fatalf("defaults: introspect %v/s, API %v/s; want 2000 and 50", d.IntrospectRateLimit, d.APIRateLimit)
	}
	h := newHarness(t)
	caller, target := introspectionPair(t, h)

	const n, workers = 1000, 8
	var refused, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				resp, err := introspect(h, caller, target)
				switch {
				case err != nil:
					failed.Add(1)
				case resp.StatusCode == http.StatusTooManyRequests:
					refused.Add(1)
				case resp.StatusCode != http.StatusOK:
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if took := time.Since(start); took > time.Second {
		t.Logf("1,000 introspections took %v here (the bucket holds 4,001, so none may be refused either way)", took)
	}
	if refused.Load() != 0 || failed.Load() != 0 {
		t.Fatalf("%d of %d introspections refused with 429, %d failed otherwise", refused.Load(), n, failed.Load())
	}
	// The management budget (50/s, burst 101) is untouched: 100 calls pass.
	for i := range 100 {
		if resp, _ := apiGet(t, h, "/api/v1/me", bearer(caller)); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /me #%d after the introspections: %d; the introspections spent the management budget", i+1, resp.StatusCode)
		}
	}

	low := newHarness(t, func(c *Config) { c.IntrospectRateLimit = 1 })
	caller, target = introspectionPair(t, low)
	limited := false
	for range 5 {
		resp, err := introspect(low, caller, target)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "" {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("--introspect-rate-limit 1: five introspections in a row got no 429 with Retry-After")
	}
	if resp, _ := apiGet(t, low, "/api/v1/me", bearer(caller)); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /me after the introspection limit was reached: %d; the two limits are not apart", resp.StatusCode)
	}
}

// introspectionPair returns a Manager service user's token (the caller) and
// another token to introspect.
func introspectionPair(t *testing.T, h *harness) (caller, target string) {
	t.Helper()
	ctx := context.Background()
	a := models.AsUser(h.admin("ada@example.com"))
	st := h.srv.Store()
	rs, err := st.CreateServiceUser(ctx, a, models.NewServiceUser{Name: "Resource server", Role: models.RoleManager})
	if err != nil {
		t.Fatal(err)
	}
	if _, caller, err = st.GenerateToken(ctx, a, rs.ID, models.NewToken{Name: "introspector", Expiry: models.Expiry{Days: 30}}); err != nil {
		t.Fatal(err)
	}
	client, err := st.CreateServiceUser(ctx, a, models.NewServiceUser{Name: "Client app", Role: models.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	if _, target, err = st.GenerateToken(ctx, a, client.ID, models.NewToken{Name: "client", Expiry: models.Expiry{Days: 30}}); err != nil {
		t.Fatal(err)
	}
	return caller, target
}

func introspect(h *harness, caller, target string) (*http.Response, error) {
	req, _ := http.NewRequest(http.MethodPost, testOrigin+"/api/v1/introspect", strings.NewReader(`{"token":"`+target+`"}`))
	req.Header.Set("Authorization", "Bearer "+caller)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.srv.App().Test(req, -1)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	return resp, err
}
