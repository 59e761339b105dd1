package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/warden-console/warden/models"
)

// TestTwoReplicasDeliverEachWebhookOnce runs two servers on one PostgreSQL
// database, each with its delivery worker, and every event must reach the
// real loopback receiver exactly once (by webhook-id), verified with the
// secret, and every delivery must end delivered: FOR UPDATE SKIP LOCKED
// gives each delivery to one worker. So that the two workers contend from
// their first round, a third server with --webhook-delivery=false queues
// 40 token changes before they start; 20 more are then made through the
// two, 10 each, while they deliver.
func TestTwoReplicasDeliverEachWebhookOnce(t *testing.T) {
	dbURL := startPostgres(t)
	cfg := DefaultConfig()
	cfg.DatabaseURL = dbURL
	cfg.DBPath = ""
	cfg.WebhookAllowHTTP, cfg.WebhookAllowPrivate = true, true
	cfg.WebhookPollInterval = 20 * time.Millisecond
	queueOnly := cfg
	queueOnly.WebhookDelivery = false
	q := startReplica(t, queueOnly)
	ctx := context.Background()

	st := q.srv.Store()
	if st.Dialect() != models.Postgres {
		t.Fatalf("store runs on %s", st.Dialect())
	}
	admin, err := st.CreateHumanAdmin(ctx, models.NewHuman{Name: "Ada Admin", Email: "ada@example.com", Password: testPassword, Confirm: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	as := models.AsUser(admin)

	var mu sync.Mutex
	arrived := map[string]int{}
	var badSig []string
	var secret string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		mu.Lock()
		defer mu.Unlock()
		id := r.Header.Get("webhook-id")
		arrived[id]++
		if err := models.VerifyWebhook(secret, r.Header, body, time.Now()); err != nil {
			badSig = append(badSig, id+": "+err.Error())
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	ep, sec, err := st.CreateWebhookEndpoint(ctx, as, models.WebhookEndpointInput{URL: recv.URL + "/hook", Events: []string{models.EventTokenCreated}, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	secret = sec
	mu.Unlock()

	// makeTokens makes n tokens through each of the replicas at once.
	users := map[*replica]int64{}
	makeTokens := func(n int, rs ...*replica) {
		t.Helper()
		var wg sync.WaitGroup
		for _, r := range rs {
			wg.Go(func() {
				for k := range n {
					if _, _, err := r.srv.Store().GenerateToken(ctx, as, users[r], models.NewToken{Name: fmt.Sprintf("t%d", k), Expiry: models.Expiry{Days: 30}}); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
	}
	newUser := func(r *replica, name string) {
		t.Helper()
		svc, err := st.CreateServiceUser(ctx, as, models.NewServiceUser{Name: name, Role: models.RoleMember})
		if err != nil {
			t.Fatal(err)
		}
		users[r] = svc.ID
	}
	newUser(q, "Queued")
	makeTokens(40, q)
	if ds, err := st.WebhookDeliveries(ctx, ep.ID, 1000); err != nil || len(ds) != 40 || ds[0].Status != models.DeliveryPending {
		t.Fatalf("queued: %d deliveries, %v", len(ds), err)
	}
	a := startReplica(t, cfg)
	b := startReplica(t, cfg)
	newUser(a, "Through A")
	newUser(b, "Through B")
	makeTokens(10, a, b)

	// Poll, with a deadline, until every delivery reads delivered.
	const want = 60
	deadline := time.Now().Add(30 * time.Second)
	var ds []models.WebhookDelivery
	for {
		if ds, err = st.WebhookDeliveries(ctx, ep.ID, 1000); err != nil {
			t.Fatal(err)
		}
		done := len(ds) == want
		for _, d := range ds {
			if d.Status != models.DeliveryDelivered {
				done = false
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: %d deliveries, not all delivered", len(ds))
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrived) != want {
		t.Errorf("%d distinct webhooks arrived; want %d", len(arrived), want)
	}
	for _, d := range ds {
		if n := arrived[d.MsgID]; n != 1 || d.Attempts != 1 {
			t.Errorf("%s arrived %d times after %d attempts; want once", d.MsgID, n, d.Attempts)
		}
	}
	for _, s := range badSig {
		t.Errorf("signature: %s", s)
	}
}
