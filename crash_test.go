package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-console/warden/models"
)

// TestCrashDuringWrites builds the real binary, drives a burst of API writes
// at it, kills it with SIGKILL mid-burst and restarts it on the same file.
// Every write that was acknowledged must be there with its audit event, the
// database must pass integrity_check, the audit chain must verify and the
// invariants must hold.
func TestCrashDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "warden")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "warden.db")
	pw := "violet kettle on a windy ridge"
	if code, _, errOut := runCLI(t, pw, "admin", "create", "--db", db, "--email", "ada@example.com", "--name", "Ada", "--password-stdin"); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := runCLI(t, "", "users", "create-service", "--db", db, "--name", "Crasher", "--role", "admin"); code != 0 {
		t.Fatal(errOut)
	}
	_, out, _ := runCLI(t, "", "tokens", "create", "--db", db, "--user", "crasher@service", "--name", "burst", "--expires-in-days", "30")
	token := strings.TrimSpace(out)

	start := func() (*exec.Cmd, string) {
		cmd := exec.Command(bin, "serve", "--db", db, "--addr", "127.0.0.1:0", "--api-rate-limit", "0")
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
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
			return cmd, base
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("the server did not start")
		}
		return nil, ""
	}
	cmd, base := start()

	// Burst: 8 writers create teams; each 201 is an acknowledged write.
	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	// reached closes when enough writes are acknowledged to kill mid-burst.
	reached := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("crash %d-%d", w, i)
				req, _ := http.NewRequest("POST", base+"/api/v1/teams", strings.NewReader(`{"name":"`+name+`"}`))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					mu.Lock()
					acked[name] = true
					n := len(acked)
					mu.Unlock()
					if n >= 150 {
						once.Do(func() { close(reached) })
					}
				}
			}
		}(w)
	}
	// Kill once a good number of writes are acknowledged, mid-burst.
	select {
	case <-reached:
	case <-time.After(30 * time.Second):
		t.Log("fewer than 150 writes acknowledged in 30 s; killing anyway")
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown, no flush
		t.Fatal(err)
	}
	_ = cmd.Wait()
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(acked) < 10 {
		t.Fatalf("only %d writes acknowledged before the kill", len(acked))
	}

	// Restart: the server must come up on the same file.
	cmd, base = start()
	resp, err := http.Get(base + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz after restart: %v %v", err, resp)
	}
	resp.Body.Close()
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()

	ctx := context.Background()
	store, err := models.OpenSQLite(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if v, err := store.Pragma(ctx, "integrity_check"); err != nil || v != "ok" {
		t.Fatalf("integrity_check = %q, %v", v, err)
	}
	if res, err := store.VerifyAudit(ctx); err != nil || !res.OK() {
		t.Fatalf("audit chain after the crash: %+v, %v", res, err)
	}
	teams, err := store.Teams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]int64{}
	for _, tm := range teams {
		if strings.HasPrefix(tm.Name, "crash ") {
			present[tm.Name] = tm.ID
		}
	}
	for name := range acked {
		if _, ok := present[name]; !ok {
			t.Errorf("acknowledged team %q is missing after the crash", name)
		}
	}
	for name, id := range present {
		page, err := store.ListAudit(ctx, models.AuditQuery{TargetKind: "team", TargetID: id, Actions: []string{"team.create"}})
		if err != nil || len(page.Events) != 1 {
			t.Errorf("team %q has %d creation events, want 1 (%v)", name, len(page.Events), err)
		}
	}
	if u, err := store.UserByHandle(ctx, "ada@example.com"); err != nil || !u.IsConsoleAdmin() {
		t.Error("the administrator is gone")
	}
	t.Logf("%d writes acknowledged, %d present after SIGKILL and restart", len(acked), len(present))
}
