package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-console/warden/models"
)

// TestCrashKeepsPendingWebhooks builds the real binary and runs it with
// --webhook-delivery=false, so it only queues: N service users created
// through the API leave N pending deliveries to a real loopback receiver.
// The process is killed with SIGKILL right after the last creation is
// acknowledged, restarted on the same file with delivery on, and every
// event must then arrive, signed with the secret the API returned, and read
// delivered in the API's delivery log.
func TestCrashKeepsPendingWebhooks(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "warden")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "warden.db")
	if code, _, errOut := runCLI(t, "", "users", "create-service", "--db", db, "--name", "Crasher", "--role", "admin"); code != 0 {
		t.Fatal(errOut)
	}
	_, out, _ := runCLI(t, "", "tokens", "create", "--db", db, "--user", "crasher@service", "--name", "hooks", "--expires-in-days", "30")
	token := strings.TrimSpace(out)

	recv := newCrashReceiver(t)
	start := func(delivery bool) *exec.Cmd {
		t.Helper()
		cmd := exec.Command(bin, "serve", "--db", db, "--addr", "127.0.0.1:0", "--api-rate-limit", "0",
			"--webhook-allow-http", "--webhook-allow-private", "--webhook-poll-interval", "50ms",
			"--webhook-delivery="+strconv.FormatBool(delivery))
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		urlRe := regexp.MustCompile(`msg="warden listening" url=(\S+)`)
		found := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				if m := urlRe.FindStringSubmatch(sc.Text()); m != nil {
					found <- m[1]
				}
			}
		}()
		select {
		case base := <-found:
			recv.base = base
			return cmd
		case <-time.After(30 * time.Second):
			t.Fatal("the server did not start")
		}
		return nil
	}
	api := func(method, path, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, recv.base+"/api/v1"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	// The first process only queues.
	cmd := start(false)
	status, body := api("POST", "/webhooks", `{"url":"`+recv.URL+`/hook","events":["service_user.created"],"enabled":true}`)
	if status != http.StatusCreated {
		t.Fatalf("create webhook: %d %s", status, body)
	}
	var ep struct {
		ID     int64
		Secret string
	}
	if err := json.Unmarshal(body, &ep); err != nil || !strings.HasPrefix(ep.Secret, "whsec_") {
		t.Fatalf("create webhook: %s (%v)", body, err)
	}
	const n = 12
	names := map[string]bool{}
	for i := range n {
		name := fmt.Sprintf("Queued %02d", i)
		if status, body := api("POST", "/users", `{"name":"`+name+`","role":"member"}`); status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", name, status, body)
		}
		names[name] = true
	}
	last := fmt.Sprintf("Queued %02d", n-1) // acknowledged just before the kill
	if got := recv.count(); got != 0 {
		t.Fatalf("a process with --webhook-delivery=false sent %d webhooks", got)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown, no flush
		t.Fatal(err)
	}
	_ = cmd.Wait()

	// The second sends what the first queued.
	start(true)
	deadline := time.Now().Add(30 * time.Second)
	for recv.count() < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	got := recv.all()
	seen := map[string]int{}
	for _, h := range got {
		seen[h.header.Get("webhook-id")]++
		if err := models.VerifyWebhook(ep.Secret, h.header, h.body, time.Now()); err != nil {
			t.Errorf("webhook %s does not verify: %v", h.header.Get("webhook-id"), err)
		}
		var p models.WebhookPayload
		if err := json.Unmarshal(h.body, &p); err != nil || p.Type != models.EventServiceUserCreated || p.Data.ServiceUser == nil {
			t.Errorf("payload %s (%v)", h.body, err)
			continue
		}
		if _, ok := names[p.Data.ServiceUser.Name]; !ok {
			t.Errorf("an event about %q", p.Data.ServiceUser.Name)
		}
		delete(names, p.Data.ServiceUser.Name)
	}
	if names[last] {
		t.Errorf("the change acknowledged just before the kill (%s) sent nothing after the restart", last)
	}
	if len(names) != 0 {
		t.Errorf("%d events lost in the crash: %v", len(names), names)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("%s arrived %d times", id, k)
		}
	}

	// The delivery log says delivered: the outcome is written once the
	// receiver has answered, so poll for it too.
	var log struct {
		Items []struct {
			WebhookID string `json:"webhook_id"`
			Status    string
			Attempts  int
		}
	}
	for {
		status, body := api("GET", "/webhooks/"+strconv.FormatInt(ep.ID, 10)+"/deliveries?limit=100", "")
		if status != http.StatusOK {
			t.Fatalf("delivery log: %d %s", status, body)
		}
		if err := json.Unmarshal(body, &log); err != nil {
			t.Fatal(err)
		}
		pending := 0
		for _, d := range log.Items {
			if d.Status != models.DeliveryDelivered {
				pending++
			}
		}
		if len(log.Items) == n && pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery log after the restart: %d deliveries, %d not delivered: %s", len(log.Items), pending, body)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	for _, d := range log.Items {
		if seen[d.WebhookID] != 1 || d.Attempts != 1 {
			t.Errorf("delivery %s: received %d times, %d attempts", d.WebhookID, seen[d.WebhookID], d.Attempts)
		}
	}
}

// crashReceiver is a real loopback webhook receiver that keeps what it got.
type crashReceiver struct {
	*httptest.Server
	base string // the Warden server's URL, for the API calls
	mu   sync.Mutex
	got  []receivedWebhook
}

type receivedWebhook struct {
	header http.Header
	body   []byte
}

func newCrashReceiver(t *testing.T) *crashReceiver {
	r := &crashReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var b bytes.Buffer
		_, _ = io.Copy(&b, io.LimitReader(req.Body, 1<<20))
		r.mu.Lock()
		r.got = append(r.got, receivedWebhook{header: req.Header.Clone(), body: b.Bytes()})
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *crashReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *crashReceiver) all() []receivedWebhook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedWebhook(nil), r.got...)
}
