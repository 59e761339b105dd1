package models

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// expiryDeliveries is an endpoint's token.expiring and token.expired
// deliveries, oldest first, with their payloads.
func expiryDeliveries(t *testing.T, s *Store, endpointID int64) []WebhookPayload {
	t.Helper()
	var out []WebhookPayload
	ds := mustDeliveries(t, s, endpointID)
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].EventType != EventTokenExpiring && ds[i].EventType != EventTokenExpired {
			continue
		}
		var p WebhookPayload
		if err := json.Unmarshal([]byte(ds[i].Payload), &p); err != nil {
			t.Fatal(err)
		}
		if p.Type != ds[i].EventType {
			t.Fatalf("delivery of %s carries %s", ds[i].EventType, p.Type)
		}
		out = append(out, p)
	}
	return out
}

func mustSweep(t *testing.T, s *Store) int {
	t.Helper()
	n, err := s.SweepTokenExpiry(context.Background())
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	return n
}

func TestExpirySweepNotifiesOncePerThreshold(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := webhookTestStore(t, clock)
	all, _ := mustEndpoint(t, s, "https://all.example.com/")
	warnings, _ := mustEndpoint(t, s, "https://warnings.example.com/", EventTokenExpiring)
	created, _ := mustEndpoint(t, s, "https://created.example.com/", EventTokenCreated)
	svc := mustService(t, s, "Airflow")
	tok, secret := mustToken(t, s, svc.ID, "ci", Expiry{Days: 8})
	revoked, _ := mustToken(t, s, svc.ID, "old", Expiry{Days: 8})
	if _, err := s.RevokeToken(ctx, System, revoked.ID); err != nil {
		t.Fatal(err)
	}

	check := func(step string, wantQueued int, wantAll, wantWarnings string) {
		t.Helper()
		if n := mustSweep(t, s); n != wantQueued {
			t.Fatalf("%s: sweep queued %d; want %d", step, n, wantQueued)
		}
		if n := mustSweep(t, s); n != 0 {
			t.Fatalf("%s: a second sweep queued %d", step, n)
		}
		words := func(ps []WebhookPayload) string {
			var out []string
			for _, p := range ps {
				if p.Data.Token == nil || p.Data.Token.ID != tok.ID {
					t.Fatalf("%s: an event about %+v", step, p.Data.Token)
				}
				out = append(out, strings.TrimSuffix(p.Type+" "+p.Data.Threshold, " "))
			}
			return strings.Join(out, ", ")
		}
		if got := words(expiryDeliveries(t, s, all.ID)); got != wantAll {
			t.Fatalf("%s: all-events endpoint got %q; want %q", step, got, wantAll)
		}
		if got := words(expiryDeliveries(t, s, warnings.ID)); got != wantWarnings {
			t.Fatalf("%s: token.expiring endpoint got %q; want %q", step, got, wantWarnings)
		}
		if got := expiryDeliveries(t, s, created.ID); len(got) != 0 {
			t.Fatalf("%s: token.created endpoint got %d expiry events", step, len(got))
		}
	}

	check("8 days before", 0, "", "")
	clock.Advance(2 * 24 * time.Hour)
	check("6 days before", 1, "token.expiring 7d", "token.expiring 7d")
	clock.Advance(5*24*time.Hour + time.Hour)
	check("23 hours before", 1, "token.expiring 7d, token.expiring 1d", "token.expiring 7d, token.expiring 1d")
	clock.Advance(22*time.Hour + 59*time.Minute)
	check("a minute before", 0, "token.expiring 7d, token.expiring 1d", "token.expiring 7d, token.expiring 1d")
	clock.Advance(2 * time.Minute)
	check("expired", 1, "token.expiring 7d, token.expiring 1d, token.expired", "token.expiring 7d, token.expiring 1d")
	clock.Advance(30 * 24 * time.Hour)
	check("a month on", 0, "token.expiring 7d, token.expiring 1d, token.expired", "token.expiring 7d, token.expiring 1d")

	// The payload is a token event's: the token, its service user, the
	// system as actor, never the secret.
	ps := expiryDeliveries(t, s, all.ID)
	p := ps[0]
	if p.Data.Token.Name != "ci" || p.Data.Token.Last4 != secret[len(secret)-4:] || p.Data.Token.ExpiresAt == nil ||
		p.Data.ServiceUser == nil || p.Data.ServiceUser.ID != svc.ID || p.Data.Actor.Kind != ActorSystem {
		t.Fatalf("payload %+v", p.Data)
	}
	if ps[2].Data.Threshold != "" {
		t.Fatalf("token.expired has threshold %q", ps[2].Data.Threshold)
	}
	for _, d := range mustDeliveries(t, s, all.ID) {
		if strings.Contains(d.Payload, secret) {
			t.Fatal("a payload holds the secret")
		}
	}
	// Notifications are not changes: the sweeps wrote no audit event.
	for _, e := range auEventsAfter(t, s, 0) {
		if strings.Contains(e.Action, "expir") {
			t.Fatalf("sweep audited %s", e.Action)
		}
	}
}

// A token found late gets only the notice of the window it is in, and a
// deactivated user's or a rotated-away token gets none.
func TestExpirySweepLateAndSkipped(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := webhookTestStore(t, clock)
	all, _ := mustEndpoint(t, s, "https://all.example.com/")
	svc := mustService(t, s, "Airflow")
	late, _ := mustToken(t, s, svc.ID, "late", Expiry{Days: 1})
	old, _ := mustToken(t, s, svc.ID, "old", Expiry{Days: 30})
	if _, _, err := s.RotateToken(ctx, System, old.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	gone := mustService(t, s, "Retired")
	mustToken(t, s, gone.ID, "ci", Expiry{Days: 3})
	if _, err := s.RevokeAllTokens(ctx, System, gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeactivateUser(ctx, System, gone.ID); err != nil {
		t.Fatal(err)
	}
	if n := mustSweep(t, s); n != 1 {
		t.Fatalf("sweep queued %d; want 1", n)
	}
	ps := expiryDeliveries(t, s, all.ID)
	if len(ps) != 1 || ps[0].Data.Token.ID != late.ID || ps[0].Data.Threshold != ExpiryThreshold1d {
		t.Fatalf("got %+v", ps)
	}
	clock.Advance(2 * time.Hour) // the rotated token's grace is over
	if n := mustSweep(t, s); n != 0 {
		t.Fatalf("sweep queued %d; want 0", n)
	}
}

// Two replicas, with two sweepers each, sweeping at once queue each event
// once: one token.expiring per token and threshold, one token.expired.
// Played on raceRounds() fresh databases, as the other race tests.
func TestExpirySweepReplicasQueueOnce(t *testing.T) {
	for round := range raceRounds() {
		expirySweepRound(t, round)
	}
}

func expirySweepRound(t *testing.T, round int) {
	t.Helper()
	clock := newTestClock()
	cfg := WebhookConfig{Key: testWebhookKey(t), AllowHTTP: true, AllowPrivate: true}
	a, b := twoStores(t, WithClock(clock.Now), WithWebhooks(cfg))
	defer a.Close()
	defer b.Close()
	ep, _ := mustEndpoint(t, a, "https://hooks.example.com/", EventTokenExpiring, EventTokenExpired)
	svc := mustService(t, a, "Airflow")
	const tokens = 8
	for i := range tokens {
		days := 6 // the 7d window
		if i%2 == 1 {
			days = 1 // the 1d window
		}
		mustToken(t, b, svc.ID, "t"+string(rune('a'+i)), Expiry{Days: days})
	}
	// sweepAll starts four sweepers together and returns what they queued.
	sweepAll := func() int {
		var wg sync.WaitGroup
		var mu sync.Mutex
		start := make(chan struct{})
		total := 0
		for _, s := range []*Store{a, b, a, b} {
			wg.Go(func() {
				<-start
				n, err := s.SweepTokenExpiry(context.Background())
				if err != nil {
					t.Errorf("round %d: %v", round, err)
				}
				mu.Lock()
				total += n
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		return total
	}
	if n := sweepAll(); n != tokens {
		t.Fatalf("round %d: sweeps queued %d; want %d", round, n, tokens)
	}
	// 5 days on, the 6-day tokens are in the 1d window and the 1-day ones
	// have expired; 2 days more, all have.
	clock.Advance(5*24*time.Hour + time.Hour)
	if n := sweepAll(); n != tokens {
		t.Fatalf("round %d: sweeps 5 days on queued %d; want %d", round, n, tokens)
	}
	clock.Advance(2 * 24 * time.Hour)
	if n := sweepAll(); n != tokens/2 {
		t.Fatalf("round %d: sweeps after expiry queued %d; want %d", round, n, tokens/2)
	}
	if n := sweepAll(); n != 0 {
		t.Fatalf("round %d: sweeps with nothing due queued %d", round, n)
	}
	seen := map[string]int{}
	for _, p := range expiryDeliveries(t, a, ep.ID) {
		seen[p.Type+" "+p.Data.Threshold+" "+p.Data.Token.Name]++
	}
	// 7d and 1d for the 6-day tokens, 1d for the 1-day ones, and expired
	// for all.
	if want := tokens/2*2 + tokens/2 + tokens; len(seen) != want {
		t.Fatalf("round %d: %d distinct events; want %d", round, len(seen), want)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("round %d: %s queued %d times", round, k, n)
		}
	}
	var notices int64
	if err := a.db.Raw(`SELECT COUNT(*) FROM token_expiry_notices`).Scan(&notices).Error; err != nil || notices != int64(len(seen)) {
		t.Fatalf("round %d: %d notices (%v); want %d", round, notices, err, len(seen))
	}
}

// The sweep reads only the expiry window of the working tokens' index and
// probes the notices' key, never the whole tokens table.
func TestExpirySweepPlan(t *testing.T) {
	sqliteOnly(t)
	s := openTestStore(t)
	var plan []struct {
		Detail string
	}
	now := s.Now()
	if err := s.db.Raw(`EXPLAIN QUERY PLAN `+expirySweepQuery(s.dialect),
		now, now.Add(time.Hour), StatusActive, "1d", expirySweepBatch).Scan(&plan).Error; err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range plan {
		lines = append(lines, p.Detail)
	}
	got := strings.Join(lines, "\n")
	if !strings.Contains(got, "SEARCH t USING INDEX tokens_live_expires (expires_at>? AND expires_at<?)") ||
		!strings.Contains(got, "SEARCH n USING PRIMARY KEY (token_id=? AND threshold=?)") ||
		strings.Contains(got, "SCAN t") || strings.Contains(got, "SCAN u") {
		t.Fatalf("sweep plan:\n%s", got)
	}
}
