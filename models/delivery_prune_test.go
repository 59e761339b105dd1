package models

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// Pruning removes the delivered and failed deliveries older than 30 days,
// keeps younger ones to the second, and keeps a disabled endpoint's pending
// ones whatever their age.
func TestWebhookPruneKeepsThirtyDays(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := webhookTestStore(t, clock)
	ok := newHookReceiver(t, clock)
	bad := newHookReceiver(t, clock)
	bad.setStatus(http.StatusInternalServerError)
	svc := mustService(t, s, "Airflow") // before the endpoints: no event
	okEp, _ := mustEndpoint(t, s, ok.URL)
	// Each failing endpoint hears one event type, so it fails for one
	// day only and is not disabled for failing 3 days.
	badOld, _ := mustEndpoint(t, s, bad.URL, EventTokenCreated)
	badYoung, _ := mustEndpoint(t, s, bad.URL, EventTokenRevoked)
	off, _ := mustEndpoint(t, s, ok.URL)
	setEnabled := func(on bool) {
		t.Helper()
		if _, err := s.UpdateWebhookEndpoint(ctx, System, off.ID, WebhookEndpointInput{URL: off.URL, Enabled: on}); err != nil {
			t.Fatal(err)
		}
	}
	w := s.NewWebhookWorker()
	// sendAll runs the worker through every retry: each delivery to an
	// enabled endpoint ends delivered or failed.
	sendAll := func() {
		t.Helper()
		mustRunOnce(t, w)
		for _, wait := range webhookBackoff {
			clock.Advance(wait)
			mustRunOnce(t, w)
		}
	}
	// one returns the endpoint's only delivery of typ.
	one := func(ep *WebhookEndpoint, typ string) WebhookDelivery {
		t.Helper()
		var found []WebhookDelivery
		for _, d := range mustDeliveries(t, s, ep.ID) {
			if d.EventType == typ {
				found = append(found, d)
			}
		}
		if len(found) != 1 {
			t.Fatalf("endpoint %d has %d %s deliveries; want 1", ep.ID, len(found), typ)
		}
		return found[0]
	}

	// Day 0: token.created goes to ok (delivered), badOld (failed) and off
	// (pending: off is disabled before the worker runs).
	start := clock.Now()
	tok, _ := mustToken(t, s, svc.ID, "ci", Expiry{Days: 90})
	setEnabled(false)
	sendAll()
	old := []WebhookDelivery{one(okEp, EventTokenCreated), one(badOld, EventTokenCreated), one(off, EventTokenCreated)}
	for i, want := range []string{DeliveryDelivered, DeliveryFailed, DeliveryPending} {
		if old[i].Status != want {
			t.Fatalf("day 0 delivery %d is %s; want %s", i, old[i].Status, want)
		}
	}

	// Day 2: token.revoked, the same three ways.
	clock.Advance(start.Add(48 * time.Hour).Sub(clock.Now()))
	setEnabled(true)
	if _, err := s.RevokeToken(ctx, System, tok.ID); err != nil {
		t.Fatal(err)
	}
	setEnabled(false)
	sendAll()
	young := []WebhookDelivery{one(okEp, EventTokenRevoked), one(badYoung, EventTokenRevoked), one(off, EventTokenRevoked)}
	for i, want := range []string{DeliveryDelivered, DeliveryFailed, DeliveryPending} {
		if young[i].Status != want {
			t.Fatalf("day 2 delivery %d is %s; want %s", i, young[i].Status, want)
		}
	}

	present := func() map[int64]bool {
		t.Helper()
		out := map[int64]bool{}
		for _, ep := range []*WebhookEndpoint{okEp, badOld, badYoung, off} {
			for _, d := range mustDeliveries(t, s, ep.ID) {
				out[d.ID] = true
			}
		}
		return out
	}
	prune := func(step string, want int64, kept, gone []WebhookDelivery) {
		t.Helper()
		n, err := s.PruneWebhookDeliveries(ctx)
		if err != nil {
			t.Fatalf("%s: prune: %v", step, err)
		}
		if n != want {
			t.Errorf("%s: pruned %d; want %d", step, n, want)
		}
		have := present()
		for _, d := range kept {
			if !have[d.ID] {
				t.Errorf("%s: pruned the %s %s delivery created %s before", step, d.Status, d.EventType, clock.Now().Sub(d.CreatedAt))
			}
		}
		for _, d := range gone {
			if have[d.ID] {
				t.Errorf("%s: kept the %s %s delivery created %s before", step, d.Status, d.EventType, clock.Now().Sub(d.CreatedAt))
			}
		}
	}

	// Day 31: the day-0 ones are 31 days old, the day-2 ones 29.
	clock.Advance(start.Add(31 * 24 * time.Hour).Sub(clock.Now()))
	prune("day 31", 2, append([]WebhookDelivery{old[2]}, young...), old[:2])
	prune("day 31 again", 0, append([]WebhookDelivery{old[2]}, young...), nil)
	// 30 days to the second after day 2: still kept; a second later, gone.
	clock.Advance(young[0].CreatedAt.Add(30 * 24 * time.Hour).Sub(clock.Now()))
	prune("30 days after day 2", 0, young, nil)
	clock.Advance(time.Second)
	prune("30 days and a second after day 2", 2, []WebhookDelivery{old[2], young[2]}, young[:2])

	// Pending ones wait for their endpoint: enabled again, they go out,
	// and the next prune removes them.
	setEnabled(true)
	mustRunOnce(t, w)
	if d := one(off, EventTokenCreated); d.Status != DeliveryDelivered {
		t.Fatalf("after re-enabling: %s", d.Status)
	}
	prune("after sending the waiting ones", 2, nil, []WebhookDelivery{old[2], young[2]})
}

// The worker's loop prunes as it starts and then every hour.
func TestWebhookWorkerRunPrunes(t *testing.T) {
	clock := newTestClock()
	s := webhookTestStore(t, clock)
	recv := newHookReceiver(t, clock)
	ep, _ := mustEndpoint(t, s, recv.URL)
	mustService(t, s, "Airflow")
	mustRunOnce(t, s.NewWebhookWorker())
	if d := mustDeliveries(t, s, ep.ID); len(d) != 1 || d[0].Status != DeliveryDelivered {
		t.Fatalf("deliveries: %+v", d)
	}
	clock.Advance(DeliveryRetention + time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.NewWebhookWorker().Run(ctx, 10*time.Millisecond, func(err error) { t.Error(err) })
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(mustDeliveries(t, s, ep.ID)) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the worker did not prune within 10 s")
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
	cancel()
	<-done
}

// The email outbox keeps 30 days too: a sent or failed message goes once
// it is older, to the second; a pending one stays whatever its age; and the
// worker prunes as it starts.
func TestEmailPruneKeepsThirtyDays(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := emailTestStore(t, clock, newSMTPSink(t))
	add := func(status string, age time.Duration) int64 {
		t.Helper()
		at := clock.Now().Add(-age)
		var id int64
		if err := s.db.Raw(`INSERT INTO email_deliveries (event_type, recipients, subject, text_body, html_body, status, next_attempt_at, created_at)
			VALUES ('token.expired', 'ops@example.com', 's', 't', 'h', ?, ?, ?) RETURNING id`, status, at, at).Scan(&id).Error; err != nil {
			t.Fatal(err)
		}
		return id
	}
	// In id order, as the outbox fills: old ones first.
	oldSent := add(DeliveryDelivered, DeliveryRetention+time.Hour)
	oldFailed := add(DeliveryFailed, DeliveryRetention+time.Second)
	oldPending := add(DeliveryPending, DeliveryRetention+time.Hour)
	edge := add(DeliveryDelivered, DeliveryRetention)
	young := add(DeliveryFailed, time.Hour)
	present := func() map[int64]bool {
		t.Helper()
		var ids []int64
		if err := s.db.Raw(`SELECT id FROM email_deliveries`).Scan(&ids).Error; err != nil {
			t.Fatal(err)
		}
		out := map[int64]bool{}
		for _, id := range ids {
			out[id] = true
		}
		return out
	}
	n, err := s.PruneEmailDeliveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	have := present()
	if n != 2 || have[oldSent] || have[oldFailed] {
		t.Errorf("pruned %d; want the two old sent and failed messages (left: %v)", n, have)
	}
	for name, id := range map[string]int64{"pending": oldPending, "30 days old to the second": edge, "young": young} {
		if !have[id] {
			t.Errorf("pruned the %s message", name)
		}
	}

	clock.Advance(time.Second)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.NewEmailWorker().Run(runCtx, time.Hour, func(err error) { t.Error(err) })
	}()
	deadline := time.Now().Add(10 * time.Second)
	for present()[edge] {
		if time.Now().After(deadline) {
			t.Fatal("the email worker did not prune as it started")
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
	cancel()
	<-done
	if have := present(); !have[oldPending] || !have[young] {
		t.Errorf("the worker pruned a pending or young message: %v", have)
	}
}
