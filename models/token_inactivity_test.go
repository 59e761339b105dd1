package models

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

const day = 24 * time.Hour

func mustInactivityDays(t *testing.T, s *Store, days int) {
	t.Helper()
	if err := s.SetInactivityDays(context.Background(), System, days); err != nil {
		t.Fatalf("set inactivity days %d: %v", days, err)
	}
}

// allowNever lets tokens be made without expiry, to age for years.
func allowNever(t *testing.T, s *Store) {
	t.Helper()
	if err := s.SetTokenPolicy(context.Background(), System, TokenPolicy{DefaultDays: 90, AllowNever: true}); err != nil {
		t.Fatal(err)
	}
}

func mustSweepInactive(t *testing.T, s *Store) InactivitySweep {
	t.Helper()
	n, err := s.SweepInactiveTokens(context.Background())
	if err != nil {
		t.Fatalf("inactivity sweep: %v", err)
	}
	return n
}

// inactivityEvents is an endpoint's token.inactive_warning and
// token.revoked deliveries, oldest first, as "type name" lines.
func inactivityEvents(t *testing.T, s *Store, endpointID int64) []WebhookPayload {
	t.Helper()
	var out []WebhookPayload
	ds := mustDeliveries(t, s, endpointID)
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].EventType != EventTokenInactiveWarning && ds[i].EventType != EventTokenRevoked {
			continue
		}
		var p WebhookPayload
		if err := json.Unmarshal([]byte(ds[i].Payload), &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func eventWords(ps []WebhookPayload) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Type+" "+p.Data.Token.Name)
	}
	return strings.Join(out, ", ")
}

func tokenState(t *testing.T, s *Store, id int64) TokenState {
	t.Helper()
	tok, err := s.TokenByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tok.State(s.Now())
}

// A never-used token counts from its creation, a used one from its last
// use; each is warned once 7 days before and revoked after N days, not
// before, by the system with reason "inactive", once however many sweeps
// run.
func TestInactivityWarnsThenRevokes(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := webhookTestStore(t, clock)
	all, _ := mustEndpoint(t, s, "https://all.example.com/")
	mustInactivityDays(t, s, 30)
	svc := mustService(t, s, "Airflow")
	never, secret := mustToken(t, s, svc.ID, "never", Expiry{Days: 365})
	used, _ := mustToken(t, s, svc.ID, "used", Expiry{Days: 365})
	clock.Advance(10 * day)
	s.RecordTokenUse(&TokenAuth{Token: used, User: svc}, "192.0.2.1", "cron")
	if _, err := s.FlushTokenUse(ctx); err != nil {
		t.Fatal(err)
	}
	startEvents := len(auEventsAfter(t, s, 0))

	step := func(name string, advance time.Duration, want InactivitySweep, wantEvents string) {
		t.Helper()
		clock.Advance(advance)
		if got := mustSweepInactive(t, s); got != want {
			t.Fatalf("%s: sweep did %+v; want %+v", name, got, want)
		}
		if got := mustSweepInactive(t, s); got != (InactivitySweep{}) {
			t.Fatalf("%s: a second sweep did %+v", name, got)
		}
		if got := eventWords(inactivityEvents(t, s, all.ID)); got != wantEvents {
			t.Fatalf("%s: events %q; want %q", name, got, wantEvents)
		}
	}
	// Day 10 now. The never-used token is warned at day 23, the used one
	// (idle since day 10) at day 33.
	step("day 23 less a minute", 13*day-time.Minute, InactivitySweep{}, "")
	step("day 23", time.Minute, InactivitySweep{Warned: 1}, "token.inactive_warning never")
	step("day 30 less a minute", 7*day-time.Minute, InactivitySweep{}, "token.inactive_warning never")
	if tokenState(t, s, never.ID) != TokenActive {
		t.Fatal("revoked before 30 days")
	}
	step("day 30", time.Minute, InactivitySweep{Revoked: 1}, "token.inactive_warning never, token.revoked never")
	step("day 33", 3*day, InactivitySweep{Warned: 1}, "token.inactive_warning never, token.revoked never, token.inactive_warning used")
	step("day 40", 7*day, InactivitySweep{Revoked: 1},
		"token.inactive_warning never, token.revoked never, token.inactive_warning used, token.revoked used")
	step("a year on", 365*day, InactivitySweep{}, // both revoked: nothing more
		"token.inactive_warning never, token.revoked never, token.inactive_warning used, token.revoked used")

	ps := inactivityEvents(t, s, all.ID)
	w := ps[0].Data
	if w.Inactivity == nil || w.Inactivity.Days != 30 || !w.Inactivity.NeverUsed ||
		w.Inactivity.RevokeAt != "2026-03-31T09:00:00Z" || w.Inactivity.InactiveSince != "2026-03-01T09:00:00Z" || w.Actor.Kind != ActorSystem {
		t.Fatalf("warning payload %+v %+v", w, w.Inactivity)
	}
	if u := ps[2].Data.Inactivity; u == nil || u.NeverUsed || u.InactiveSince != "2026-03-11T09:00:00Z" {
		t.Fatalf("used token's warning %+v", u)
	}
	if ps[1].Data.Reason != reasonInactive || ps[1].Data.Actor.Kind != ActorSystem {
		t.Fatalf("token.revoked payload %+v", ps[1].Data)
	}
	for _, d := range mustDeliveries(t, s, all.ID) {
		if strings.Contains(d.Payload, secret) {
			t.Fatal("a payload holds the secret")
		}
	}
	// Two revocations audited, by the system, with the reason and the
	// idle period; the warnings changed nothing and are not audited.
	evs := auEventsAfter(t, s, 0)[startEvents:]
	if len(evs) != 2 {
		t.Fatalf("%d audit events; want 2 revocations: %+v", len(evs), evs)
	}
	for i, e := range evs {
		want := []int64{never.ID, used.ID}[i]
		ch := e.ParsedChanges()
		if e.Action != "token.revoke" || e.ActorKind != ActorSystem || e.Reason != "inactive" || e.Outcome != OutcomeSuccess ||
			e.TargetID == nil || *e.TargetID != want || ch["state"].After != string(TokenRevoked) || ch["inactive_since"].After == nil {
			t.Fatalf("event %d: %+v", i, e)
		}
	}
}

// A use waiting in memory (not yet flushed) keeps a token due for
// revocation: the sweep writes it first, which starts a new idle period.
func TestInactivityPendingUseKeepsToken(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	mustInactivityDays(t, s, 30)
	svc := mustService(t, s, "Airflow")
	tok, _ := mustToken(t, s, svc.ID, "ci", Expiry{Days: 365})
	clock.Advance(23 * day)
	if got := mustSweepInactive(t, s); got.Warned != 1 {
		t.Fatalf("sweep at day 23: %+v", got)
	}
	clock.Advance(7*day + time.Hour)
	s.RecordTokenUse(&TokenAuth{Token: tok, User: svc}, "192.0.2.1", "cron") // not flushed
	if got := mustSweepInactive(t, s); got != (InactivitySweep{}) {
		t.Fatalf("sweep with a pending use: %+v", got)
	}
	if tokenState(t, s, tok.ID) != TokenActive {
		t.Fatal("a token in use was revoked")
	}
	fresh, err := s.TokenByID(ctx, tok.ID)
	if err != nil || fresh.LastUsedAt == nil || !fresh.LastUsedAt.Equal(clock.Now()) {
		t.Fatalf("the sweep did not write the pending use first: %+v, %v", fresh.LastUsedAt, err)
	}
	// The new idle period runs its own course: warned at 23 days, revoked
	// at 30.
	clock.Advance(23 * day)
	if got := mustSweepInactive(t, s); got.Warned != 1 || got.Revoked != 0 {
		t.Fatalf("sweep 23 days after the use: %+v", got)
	}
	clock.Advance(7 * day)
	if got := mustSweepInactive(t, s); got.Revoked != 1 {
		t.Fatalf("sweep 30 days after the use: %+v", got)
	}
}

// Off, the default, nothing happens however old the tokens are.
func TestInactivityOffDoesNothing(t *testing.T) {
	clock := newTestClock()
	s := webhookTestStore(t, clock)
	all, _ := mustEndpoint(t, s, "https://all.example.com/")
	allowNever(t, s)
	svc := mustService(t, s, "Airflow")
	tok, _ := mustToken(t, s, svc.ID, "ci", Expiry{Never: true})
	if days, err := s.InactivityDays(context.Background()); err != nil || days != 0 {
		t.Fatalf("default setting %d, %v; want off", days, err)
	}
	clock.Advance(400 * day)
	if got := mustSweepInactive(t, s); got != (InactivitySweep{}) {
		t.Fatalf("sweep while off: %+v", got)
	}
	if tokenState(t, s, tok.ID) != TokenActive || len(inactivityEvents(t, s, all.ID)) != 0 {
		t.Fatal("the sweep acted while off")
	}
	var n int64
	if err := s.db.Raw(`SELECT COUNT(*) FROM token_inactivity_notices`).Scan(&n).Error; err != nil || n != 0 {
		t.Fatalf("%d notices (%v)", n, err)
	}
	// Turned off again after a warning, it revokes nothing.
	mustInactivityDays(t, s, 30)
	if got := mustSweepInactive(t, s); got.Warned != 1 {
		t.Fatalf("sweep once on: %+v", got)
	}
	mustInactivityDays(t, s, 0)
	clock.Advance(30 * day)
	if got := mustSweepInactive(t, s); got != (InactivitySweep{}) || tokenState(t, s, tok.ID) != TokenActive {
		t.Fatalf("sweep after turning it off: %+v", got)
	}
}

// Turning the setting on (or shortening it) revokes nothing at once: a
// token already past it is warned and revoked 7 days later. A restored
// token gets a new warning before it is revoked again; a changed setting
// warns again with its own date; other tokens are left alone.
func TestInactivityGraceRestoreAndSkipped(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	allowNever(t, s)
	svc := mustService(t, s, "Airflow")
	old, _ := mustToken(t, s, svc.ID, "old", Expiry{Never: true})
	revoked, _ := mustToken(t, s, svc.ID, "revoked", Expiry{Never: true})
	if _, err := s.RevokeToken(ctx, System, revoked.ID); err != nil {
		t.Fatal(err)
	}
	rotated, _ := mustToken(t, s, svc.ID, "rotated", Expiry{Never: true})
	clock.Advance(100 * day)
	if _, _, err := s.RotateToken(ctx, System, rotated.ID, 7*day); err != nil {
		t.Fatal(err)
	}
	expired, _ := mustToken(t, s, svc.ID, "expired", Expiry{Days: 30})
	clock.Advance(31 * day)
	mustInactivityDays(t, s, 60)
	// old (131 days idle) and the rotation's replacement (31 days) are
	// working; only old is due, and it is warned, not revoked.
	if got := mustSweepInactive(t, s); got != (InactivitySweep{Warned: 1}) {
		t.Fatalf("first sweep: %+v", got)
	}
	when, err := s.InactivityRevocations(ctx, []*Token{old})
	if err != nil || !when[old.ID].Equal(clock.Now().Add(7*day)) {
		t.Fatalf("revocation date %v (%v); want 7 days on", when, err)
	}
	clock.Advance(7*day - time.Minute)
	if got := mustSweepInactive(t, s); got.Revoked != 0 {
		t.Fatalf("revoked before the 7 days' notice: %+v", got)
	}
	clock.Advance(time.Minute)
	if got := mustSweepInactive(t, s); got.Revoked != 1 || tokenState(t, s, old.ID) != TokenRevoked {
		t.Fatalf("sweep 7 days after the warning: %+v", got)
	}
	for _, id := range []int64{revoked.ID, rotated.ID, expired.ID} {
		var e []Event
		if err := s.db.Where("target_id = ? AND reason = ?", id, "inactive").Find(&e).Error; err != nil || len(e) != 0 {
			t.Fatalf("token %d: %d inactivity events (%v)", id, len(e), err)
		}
	}
	// Restored: warned again, revoked 7 days later, not at the next sweep.
	if _, err := s.RestoreToken(ctx, System, old.ID); err != nil {
		t.Fatal(err)
	}
	if got := mustSweepInactive(t, s); got != (InactivitySweep{Warned: 1}) {
		t.Fatalf("sweep after restore: %+v", got)
	}
	// Shortened to 30 days: old is warned again under the new setting,
	// and the rotation's replacement (38 days idle) for the first time,
	// both with 7 days' notice.
	mustInactivityDays(t, s, 30)
	if got := mustSweepInactive(t, s); got != (InactivitySweep{Warned: 2}) {
		t.Fatalf("sweep after shortening: %+v", got)
	}
	clock.Advance(7 * day)
	if got := mustSweepInactive(t, s); got.Revoked != 2 {
		t.Fatalf("sweep 7 days after restore: %+v", got)
	}
}

// The setting takes only its choices, and every change is audited with
// its before and after.
func TestInactivitySetting(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	for _, bad := range []int{-1, 1, 7, 45, 366} {
		err := s.SetInactivityDays(ctx, System, bad)
		if f := FieldErrors(err); f["inactive_days"] == "" {
			t.Fatalf("%d: %v; want a message on inactive_days", bad, err)
		}
	}
	start := len(auEventsAfter(t, s, 0))
	mustInactivityDays(t, s, 90)
	mustInactivityDays(t, s, 90) // no change: no event
	mustInactivityDays(t, s, 0)
	evs := auEventsAfter(t, s, 0)[start:]
	if len(evs) != 2 {
		t.Fatalf("%d events; want 2", len(evs))
	}
	for i, want := range [][2]float64{{0, 90}, {90, 0}} {
		c := evs[i].ParsedChanges()["token.revoke_inactive_days"]
		if evs[i].Action != "settings.update" || evs[i].TargetKind != "settings" || c.Before != want[0] || c.After != want[1] {
			t.Fatalf("event %d: %+v %+v", i, evs[i], c)
		}
	}
	if days, err := s.InactivityDays(ctx); err != nil || days != 0 {
		t.Fatalf("setting %d, %v", days, err)
	}
}

// The warning is an email to the owners too, once, saying when the token
// will be revoked.
func TestInactivityWarningEmail(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := emailTestStore(t, clock, newSMTPSink(t))
	mustInactivityDays(t, s, 90)
	svc, err := s.CreateServiceUser(ctx, System, NewServiceUser{Name: "Billing bot", Role: RoleMember, NotifyEmails: []string{"ops@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	_, secret := mustToken(t, s, svc.ID, "ci-deploy", Expiry{Days: 365})
	clock.Advance(83 * day)
	mustSweepInactive(t, s)
	mustSweepInactive(t, s)
	var mails []EmailDelivery
	if err := s.db.Where("event_type = ?", EventTokenInactiveWarning).Find(&mails).Error; err != nil {
		t.Fatal(err)
	}
	if len(mails) != 1 {
		t.Fatalf("%d emails; want 1", len(mails))
	}
	m := mails[0]
	if m.Recipients != "ops@example.com" || m.Subject != "Token ci-deploy of Billing bot will be revoked for inactivity in 7 days" ||
		!strings.Contains(m.TextBody, "has never been used since it was generated at 2026-03-01 09:00 UTC") ||
		!strings.Contains(m.TextBody, "unused for 90 days, so it will be revoked in 7 days, at 2026-05-30 09:00 UTC") ||
		!strings.Contains(m.HTMLBody, "will be revoked in <strong>7 days</strong>") ||
		strings.Contains(m.TextBody+m.HTMLBody, secret) {
		t.Fatalf("email %q to %q:\n%s", m.Subject, m.Recipients, m.TextBody)
	}
}

// Two replicas, two sweepers each, sweeping at once: each token is warned
// once and revoked once, with one audit event each.
func TestInactivitySweepReplicas(t *testing.T) {
	for round := range raceRounds() {
		inactivityReplicasRound(t, round)
	}
}

func inactivityReplicasRound(t *testing.T, round int) {
	t.Helper()
	clock := newTestClock()
	cfg := WebhookConfig{Key: testWebhookKey(t), AllowHTTP: true, AllowPrivate: true}
	a, b := twoStores(t, WithClock(clock.Now), WithWebhooks(cfg))
	defer a.Close()
	defer b.Close()
	ep, _ := mustEndpoint(t, a, "https://hooks.example.com/", EventTokenInactiveWarning, EventTokenRevoked)
	mustInactivityDays(t, b, 30)
	allowNever(t, a)
	svc := mustService(t, a, "Airflow")
	const tokens = 6
	for i := range tokens {
		mustToken(t, b, svc.ID, "t"+string(rune('a'+i)), Expiry{Never: true})
	}
	sweepAll := func() InactivitySweep {
		var wg sync.WaitGroup
		var mu sync.Mutex
		start := make(chan struct{})
		var total InactivitySweep
		for _, s := range []*Store{a, b, a, b} {
			wg.Go(func() {
				<-start
				n, err := s.SweepInactiveTokens(context.Background())
				if err != nil {
					t.Errorf("round %d: %v", round, err)
				}
				mu.Lock()
				total.Warned += n.Warned
				total.Revoked += n.Revoked
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		return total
	}
	clock.Advance(23 * day)
	if got := sweepAll(); got != (InactivitySweep{Warned: tokens}) {
		t.Fatalf("round %d: sweeps at day 23 did %+v", round, got)
	}
	clock.Advance(7 * day)
	if got := sweepAll(); got != (InactivitySweep{Revoked: tokens}) {
		t.Fatalf("round %d: sweeps at day 30 did %+v", round, got)
	}
	if got := sweepAll(); got != (InactivitySweep{}) {
		t.Fatalf("round %d: sweeps with nothing due did %+v", round, got)
	}
	seen := map[string]int{}
	for _, p := range inactivityEvents(t, a, ep.ID) {
		seen[p.Type+" "+p.Data.Token.Name]++
	}
	if len(seen) != 2*tokens {
		t.Fatalf("round %d: %d distinct events; want %d", round, len(seen), 2*tokens)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("round %d: %s queued %d times", round, k, n)
		}
	}
	var revocations int64
	if err := a.db.Model(&Event{}).Where("action = ? AND reason = ?", "token.revoke", "inactive").Count(&revocations).Error; err != nil || revocations != tokens {
		t.Fatalf("round %d: %d revocation events (%v); want %d", round, revocations, err, tokens)
	}
}

// The overview counts the tokens to be revoked within 7 days; the count
// follows the clock (a token enters the window by itself) and the setting
// (a change moves data_revision), though both are kept between writes.
func TestInactivityOverviewCount(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	svc := mustService(t, s, "Airflow")
	mustToken(t, s, svc.ID, "ci", Expiry{Days: 365})
	mustToken(t, s, svc.ID, "short", Expiry{Days: 25}) // expires first: never counted
	soon := func(step string, wantDays int, want int64) {
		t.Helper()
		o, err := s.TokenOverview(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if o.InactiveDays != wantDays || o.InactiveSoon != want {
			t.Fatalf("%s: setting %d, %d to be revoked; want %d, %d", step, o.InactiveDays, o.InactiveSoon, wantDays, want)
		}
	}
	soon("off", 0, 0)
	mustInactivityDays(t, s, 30)
	soon("on", 30, 0)
	clock.Advance(23*day - time.Minute)
	soon("a minute before the window", 30, 0)
	clock.Advance(time.Minute)
	soon("in the window", 30, 1)
	mustInactivityDays(t, s, 60)
	soon("lengthened", 60, 0)
	mustInactivityDays(t, s, 30)
	mustSweepInactive(t, s)
	clock.Advance(7 * day)
	mustSweepInactive(t, s)
	soon("revoked", 30, 0)
}

// A use on one replica of a token idle for over a day is written at once,
// so another replica's sweep, which cannot see the first one's buffer,
// does not revoke a token that is being used again.
func TestInactivityUseOnAnotherReplica(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	a, b := twoStores(t, WithClock(clock.Now))
	defer a.Close()
	defer b.Close()
	mustInactivityDays(t, a, 30)
	svc := mustService(t, a, "Airflow")
	tok, secret := mustToken(t, a, svc.ID, "ci", Expiry{Days: 365})
	clock.Advance(23 * day)
	if got := mustSweepInactive(t, b); got.Warned != 1 {
		t.Fatalf("warning: %+v", got)
	}
	clock.Advance(7*day + time.Hour)
	auth, err := a.AuthenticateToken(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	a.RecordTokenUse(auth, "192.0.2.1", "cron")
	a.waitUseWrites()
	if got := mustSweepInactive(t, b); got != (InactivitySweep{}) || tokenState(t, b, tok.ID) != TokenActive {
		t.Fatalf("the other replica's sweep did %+v", got)
	}
	// A token used within the day stays buffered: the request path does
	// not write for it.
	clock.Advance(time.Hour)
	if auth, err = a.AuthenticateToken(ctx, secret); err != nil {
		t.Fatal(err)
	}
	a.RecordTokenUse(auth, "192.0.2.1", "cron")
	a.waitUseWrites()
	fresh, err := b.TokenByID(ctx, tok.ID)
	if err != nil || fresh.LastUsedAt == nil || !fresh.LastUsedAt.Equal(clock.Now().Add(-time.Hour)) {
		t.Fatalf("stored last use %v (%v); want the first use only", fresh.LastUsedAt, err)
	}
}

// A token that expires before its inactivity revocation is neither warned
// nor shown with a revocation date: it stops by itself.
func TestInactivityExpiringFirst(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, WithClock(clock.Now))
	mustInactivityDays(t, s, 30)
	svc := mustService(t, s, "Airflow")
	short, _ := mustToken(t, s, svc.ID, "short", Expiry{Days: 25})
	long, _ := mustToken(t, s, svc.ID, "long", Expiry{Days: 31})
	when, err := s.InactivityRevocations(ctx, []*Token{short, long})
	if _, ok := when[short.ID]; ok || err != nil || !when[long.ID].Equal(clock.Now().Add(30*day)) {
		t.Fatalf("revocation dates %v (%v); want only long's, in 30 days", when, err)
	}
	clock.Advance(23 * day)
	if got := mustSweepInactive(t, s); got != (InactivitySweep{Warned: 1}) {
		t.Fatalf("sweep: %+v; want long warned only", got)
	}
}
