package web

import (
	"context"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/warden-console/warden/models"
)

// TestReadmeAPIExamples runs the shell blocks of the README's "Automating
// with the API" section, in order, in one shell, against a real server.
func TestReadmeAPIExamples(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing; .ci/run installs it", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Automating with the API")
	if !ok {
		t.Fatal("README has no API section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1)
	if len(blocks) < 4 {
		t.Fatalf("found %d shell blocks in the API section", len(blocks))
	}
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for i, b := range blocks {
		script.WriteString("echo '--- block " + string(rune('1'+i)) + "'\n" + b[1] + "\n")
	}

	h := newHarness(t)
	ctx := context.Background()
	human := h.admin("ada@example.com")
	bot, err := h.srv.Store().CreateServiceUser(ctx, models.AsUser(human), models.NewServiceUser{Name: "Provisioner", Role: models.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := h.srv.Store().GenerateToken(ctx, models.AsUser(human), bot.ID, models.NewToken{Name: "ci", Expiry: models.Expiry{Days: 90}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(sctx, ln) }()
	defer func() { cancel(); <-done }()

	cmd := exec.Command("bash", "-c", script.String())
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "WARDEN=http://"+ln.Addr().String(), "TOKEN="+token)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README examples failed: %v\n%s", err, out)
	}
	for _, want := range []string{"created user ", "nightly_etl@service\tetl-prod\t", "deactivated", `{"active":false}`, "\nintrospect orders:read\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("README examples output lacks %q:\n%s", want, out)
		}
	}
}
