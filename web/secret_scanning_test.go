package web

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/web/scanning"
)

// scanPartner is a secret-scanning partner with its signing key, whose
// public half the server was started with.
type scanPartner struct {
	id  string
	key *ecdsa.PrivateKey
}

func newScanPartner(t *testing.T, id string) (scanPartner, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return scanPartner{id: id, key: k}, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Headers: map[string]string{"Key-Identifier": id}, Bytes: der}))
}

func (p scanPartner) sign(t *testing.T, body []byte) string {
	t.Helper()
	sum := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, p.key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func postScanReport(t *testing.T, h *harness, keyID, sig string, body []byte) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, testOrigin+"/api/v1/secret-scanning/report", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(scanning.HeaderKeyIdentifier, keyID)
	req.Header.Set(scanning.HeaderSignature, sig)
	resp, err := h.srv.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestSecretScanningIntake: a signed report revokes the active token it
// names at once (actor system, reason leaked, URL and source in the audit
// event, token.leaked and token.revoked queued), labels each finding, and
// changes nothing when sent again; a bad, unknown or stale signature and an
// oversized body revoke nothing; without keys the endpoint does not exist.
func TestSecretScanningIntake(t *testing.T) {
	partner, pub := newScanPartner(t, "partner-2026")
	keys := filepath.Join(t.TempDir(), "scanning-keys.pem")
	if err := os.WriteFile(keys, []byte(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *Config) {
		c.SecretScanningKeys, c.WebhookAllowHTTP, c.WebhookAllowPrivate = keys, true, true
	})
	ctx := context.Background()
	st := h.srv.Store()
	a := models.AsUser(h.admin("ada@example.com"))
	svc, err := st.CreateServiceUser(ctx, a, models.NewServiceUser{Name: "Deploy bot", Role: models.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	leaked, leakedSecret, _ := st.GenerateToken(ctx, a, svc.ID, models.NewToken{Name: "ci-30", Expiry: models.Expiry{Days: 30}})
	revoked, revokedSecret, _ := st.GenerateToken(ctx, a, svc.ID, models.NewToken{Name: "old", Expiry: models.Expiry{Days: 30}})
	if _, err := st.RevokeToken(ctx, a, revoked.ID); err != nil {
		t.Fatal(err)
	}
	ep, _, err := st.CreateWebhookEndpoint(ctx, a, models.WebhookEndpointInput{URL: "http://127.0.0.1:9/hooks", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	unknown, _ := models.NewTokenSecret()
	// The last character changed (B for A, A for anything else): the checksum fails.
	badSum := leakedSecret[:len(leakedSecret)-1] + string("AB"[(strings.IndexByte("AB", leakedSecret[len(leakedSecret)-1])+1)&1])
	findings := []models.LeakReport{
		{Token: leakedSecret, Type: "warden_token", URL: "https://github.com/acme/app/blob/main/.env", Source: "content"},
		{Token: revokedSecret, Type: "warden_token", URL: "https://gist.github.com/x", Source: "gist"},
		{Token: unknown, Type: "warden_token", URL: "https://example.com/a", Source: "content"},
		{Token: badSum, Type: "warden_token", URL: "https://example.com/b", Source: "content"},
		{Token: "wdn_short", Type: "warden_token", URL: "https://example.com/c", Source: "content"},
	}
	body, _ := json.Marshal(findings)

	// Refused: nothing is revoked.
	stale, _ := json.Marshal(findings[:1])
	for name, c := range map[string]struct {
		id, sig string
		body    []byte
		status  int
	}{
		"unknown key id":  {"someone-else", partner.sign(t, body), body, http.StatusUnauthorized},
		"bad signature":   {partner.id, base64.StdEncoding.EncodeToString([]byte("not a signature")), body, http.StatusUnauthorized},
		"no signature":    {partner.id, "", body, http.StatusUnauthorized},
		"stale signature": {partner.id, partner.sign(t, stale), body, http.StatusUnauthorized},
	} {
		resp, out := postScanReport(t, h, c.id, c.sig, c.body)
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d %s; want %d", name, resp.StatusCode, snippet(out), c.status)
		}
	}
	// Over 1 MB, signed: refused by the server over a real connection (the
	// in-process app.Test refuses to send it at all).
	big := append(body[:len(body)-1:len(body)-1], []byte(`,{"token":"`+strings.Repeat("x", 1<<20)+`"}]`)...)
	if status := postOverTCP(t, h, partner.id, partner.sign(t, big), big); status != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over 1 MB: %d; want 413", status)
	}
	if tok, _ := st.TokenByID(ctx, leaked.ID); tok.RevokedAt != nil {
		t.Fatal("a refused report revoked the token")
	}

	eventsBefore := auditCount(t, st)
	resp, out := postScanReport(t, h, partner.id, partner.sign(t, body), body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("signed report: %d %s", resp.StatusCode, snippet(out))
	}
	var verdicts []models.LeakVerdict
	if err := json.Unmarshal([]byte(out), &verdicts); err != nil || len(verdicts) != len(findings) {
		t.Fatalf("answer %s: %v", out, err)
	}
	want := []string{"true_positive", "true_positive", "false_positive", "false_positive", "false_positive"}
	for i, v := range verdicts {
		if v.Label != want[i] || v.TokenRaw != findings[i].Token || v.TokenType != "warden_token" {
			t.Errorf("finding %d: %+v; want label %s with token_raw and token_type echoed", i, v, want[i])
		}
	}
	if strings.Count(out, `"label"`) != 5 || strings.Contains(out, `"state"`) || strings.Contains(out, "Deploy bot") {
		t.Errorf("the answer says more than the labels: %s", out)
	}
	if r, _ := apiGet(t, h, "/api/v1/me", bearer(leakedSecret)); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the leaked token still authenticates: %d", r.StatusCode)
	}
	if got := auditCount(t, st) - eventsBefore; got != 1 {
		t.Fatalf("%d audit events for one revocation; want 1", got)
	}
	page, err := st.ListAudit(ctx, models.AuditQuery{Actions: []string{"token.revoke"}, Limit: 1})
	if err != nil || len(page.Events) != 1 {
		t.Fatal(err)
	}
	e := page.Events[0]
	ch := e.ParsedChanges()
	if e.ActorKind != models.ActorSystem || e.Reason != "leaked" || e.TargetID == nil || *e.TargetID != leaked.ID ||
		ch["found_at"].After != findings[0].URL || ch["found_by"].After != "content" {
		t.Errorf("audit event: %+v %v; want system, reason leaked, URL and source", e, ch)
	}
	deliveries, err := st.WebhookDeliveries(ctx, ep.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, d := range deliveries {
		types[d.EventType] = d.Payload
	}
	if _, ok := types["token.revoked"]; !ok || !strings.Contains(types["token.leaked"], `"url":"https://github.com/acme/app/blob/main/.env"`) ||
		strings.Contains(types["token.leaked"], leakedSecret) {
		t.Errorf("queued: %v; want token.revoked and token.leaked naming the URL, never the secret", types)
	}

	// Sent again: the same labels, nothing new.
	resp, again := postScanReport(t, h, partner.id, partner.sign(t, body), body)
	if resp.StatusCode != http.StatusOK || again != out {
		t.Errorf("repeated report: %d %s; want the same answer %s", resp.StatusCode, again, out)
	}
	if got := auditCount(t, st) - eventsBefore; got != 1 {
		t.Errorf("the repeated report wrote %d more audit events", got-1)
	}
	if d2, _ := st.WebhookDeliveries(ctx, ep.ID, 10); len(d2) != len(deliveries) {
		t.Errorf("the repeated report queued %d more deliveries", len(d2)-len(deliveries))
	}

	// The audit log says it in words.
	c := h.client()
	c.login("ada@example.com", testPassword)
	expectStatus(t, c.get("/audit"), http.StatusOK)
	if !strings.Contains(c.lastBody, "because it was found at https://github.com/acme/app/blob/main/.env") {
		t.Error("the audit log does not say where the leaked token was found")
	}

	// Not JSON, or too many findings: 422 naming the body.
	for _, b := range [][]byte{[]byte(`{"token":"x"}`), []byte(`[` + strings.TrimSuffix(strings.Repeat(`{"token":"x"},`, models.MaxLeakReports+1), ",") + `]`)} {
		if resp, out := postScanReport(t, h, partner.id, partner.sign(t, b), b); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(out, `"body"`) {
			t.Errorf("%.30s…: %d %s; want 422 naming body", b, resp.StatusCode, snippet(out))
		}
	}

	// Without keys the endpoint is off.
	off := newHarness(t)
	if resp, out := postScanReport(t, off, partner.id, partner.sign(t, body), body); resp.StatusCode != http.StatusNotFound {
		t.Errorf("without --secret-scanning-keys: %d %s; want 404", resp.StatusCode, snippet(out))
	}
}

// postOverTCP announces a report of len(body) bytes to the app served on a
// loopback listener and reads the answer without sending the body: the
// server answers from the headers, and a client still writing would race
// the server closing the connection.
func postOverTCP(t *testing.T, h *harness, keyID, sig string, body []byte) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = h.srv.App().Listener(ln) }()
	t.Cleanup(func() { _ = h.srv.App().Shutdown() })
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/secret-scanning/report HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n%s: %s\r\n%s: %s\r\nContent-Length: %d\r\n\r\n",
		ln.Addr(), scanning.HeaderKeyIdentifier, keyID, scanning.HeaderSignature, sig, len(body))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode
}

func auditCount(t *testing.T, st *models.Store) int {
	t.Helper()
	page, err := st.ListAudit(context.Background(), models.AuditQuery{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Events)
}
