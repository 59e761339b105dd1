package main

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/web"
)

func TestTeamsCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "warden.db")
	code, out, errOut := runCLI(t, "", "teams", "create", "--db", db, "--name", "  Data Platform ", "--description", "Pipelines\nand the warehouse")
	if code != 0 || out != "Data Platform\n" || !strings.Contains(errOut, `Created team "Data Platform"`) {
		t.Fatalf("teams create: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "", "teams", "create", "--db", db, "--name", "data platform"); code != 1 || !strings.Contains(errOut, "name: A team with this name already exists.") {
		t.Fatalf("duplicate team: %d %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "", "teams", "create", "--db", db); code != 1 || !strings.Contains(errOut, "name: Enter a team name.") {
		t.Fatalf("team without a name: %d %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "", "teams", "frobnicate"); code != 2 || !strings.Contains(errOut, "warden teams list") {
		t.Fatalf("unknown teams command: %d %q", code, errOut)
	}
	// The team the create-service --team flag needs can now be made from a shell.
	code, out, errOut = runCLI(t, "", "users", "create-service", "--db", db, "--name", "Nightly ETL", "--team", "data platform")
	if code != 0 || strings.TrimSpace(out) != "nightly_etl@service" {
		t.Fatalf("create-service into the new team: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "teams", "list", "--db", db)
	if code != 0 {
		t.Fatalf("teams list: %d %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("teams list printed %q", out)
	}
	for i, want := range [][]string{{"1", "Public", "1"}, {"2", "Data", "Platform", "1", `Pipelines\nand`, "the", "warehouse"}} {
		if got := strings.Fields(lines[i+1]); !slicesHasPrefix(got, want) {
			t.Errorf("teams list row %d = %q, want it to start with %q", i+1, got, want)
		}
	}

	store, err := models.OpenSQLite(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	page, err := store.ListAudit(context.Background(), models.AuditQuery{Actions: []string{"team.create"}})
	if err != nil || len(page.Events) != 1 || page.Events[0].ActorLabel != "command line" || page.Events[0].ActorKind != models.ActorSystem {
		t.Fatalf("team creation audited as %+v (%v)", page.Events, err)
	}
}

func slicesHasPrefix(got, want []string) bool {
	if len(got) < len(want) {
		return false
	}
	for i := range want {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// TestCreateServiceRoleDefaultsToMember: what the README and the usage say
// about --role is what the command does.
func TestCreateServiceRoleDefaultsToMember(t *testing.T) {
	db := filepath.Join(t.TempDir(), "warden.db")
	if code, _, errOut := runCLI(t, "", "users", "create-service", "--db", db, "--name", "Reporter"); code != 0 {
		t.Fatalf("create-service without --role: %d %q", code, errOut)
	}
	store, err := models.OpenSQLite(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	u, err := store.UserByHandle(context.Background(), "reporter@service")
	if err != nil || u.Role != models.RoleMember {
		t.Fatalf("reporter@service: %+v, %v; want a member", u, err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "defaults to `member`") {
		t.Error("the README does not say that --role defaults to member")
	}
	if !strings.Contains(usage, "--role: member by default") {
		t.Error("the usage does not say that --role defaults to member")
	}
}

// TestReadmeListsEveryCommand: each command of the usage has its row in
// the README's table of commands.
func TestReadmeListsEveryCommand(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^  warden ([a-z-]+)(?: ([a-z-]+))?`).FindAllStringSubmatch(usage, -1) {
		cmd := strings.TrimSpace("warden " + m[1] + " " + m[2])
		if !strings.Contains(string(readme), "| `"+cmd) {
			t.Errorf("the README's commands table lacks %q", cmd)
		}
	}
}

// TestSignInPageBeforeSetup: before the first administrator exists, the
// sign-in page says where the setup link is, and the command it shows
// creates an administrator as printed.
func TestSignInPageBeforeSetup(t *testing.T) {
	db := filepath.Join(t.TempDir(), "warden.db")
	cfg := web.DefaultConfig()
	cfg.DBPath = db
	srv, err := web.NewServer(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	body := func() string {
		t.Helper()
		resp, err := srv.App().Test(httptest.NewRequest("GET", "/login", nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	page := body()
	if !strings.Contains(page, "No administrator yet") || !strings.Contains(page, "server printed in its log") || !strings.Contains(page, "setup_url=") {
		t.Fatalf("the sign-in page does not say where the setup link is:\n%s", page)
	}
	m := regexp.MustCompile(`<code>printf [^|]*\| (warden admin create [^<]*)</code>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the sign-in page shows no admin create command:\n%s", page)
	}
	args := shellWords(t, html.UnescapeString(m[1]))[1:]
	srv.Close()
	pw := "violet kettle on a windy ridge"
	if code, out, errOut := runCLI(t, pw+"\n", append(args, "--db", db)...); code != 0 || !strings.Contains(out, "Created administrator") {
		t.Fatalf("the command shown, %q, fails: %d %q %q", m[1], code, out, errOut)
	}

	srv, err = web.NewServer(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if page := body(); strings.Contains(page, "No administrator yet") || strings.Contains(page, "warden admin create") {
		t.Error("the setup hint is still shown once an administrator exists")
	}
}

// shellWords splits a command line shown to people: words, and double-
// quoted strings.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	for _, m := range regexp.MustCompile(`"([^"]*)"|(\S+)`).FindAllStringSubmatch(s, -1) {
		if m[2] != "" {
			out = append(out, m[2])
		} else {
			out = append(out, m[1])
		}
	}
	return out
}
