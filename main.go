// Command warden is the Warden console: a self-hosted admin console for
// service users, their API tokens and the audit log of every change.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/web"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `Warden — an admin console for service users, their API tokens and the audit log.

Usage:
  warden [serve] [flags]        run the console (the default command)
  warden admin create --email E --name N --password-stdin [--db FILE]
                                create a human administrator (first run or break-glass)
  warden audit verify [--db FILE]
                                check the audit log's hash chain; exit 1 if it is broken
  warden version                print the version
  warden help                   show this help

Every flag has an environment variable twin: --session-max-age is
WARDEN_SESSION_MAX_AGE. A flag on the command line wins over the variable.
Run "warden serve --help" or "warden admin create --help" for the flags.
`

const adminCreateUsage = `Usage: warden admin create --email E --name N --password-stdin [--db FILE]

Creates an active human administrator. Works whether or not administrators exist,
so it is also the way back in when every administrator is locked out.

  printf '%s\n' "$PASSWORD" | warden admin create --email ada@example.com --name Ada --password-stdin

Flags:
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		cmd, args = "help", nil
	} else if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, stderr)
	case "admin":
		if len(args) > 0 && args[0] == "create" {
			return adminCreate(args[1:], stdin, stdout, stderr)
		}
		fmt.Fprint(stderr, "usage: warden admin create --email E --name N --password-stdin\n")
		return 2
	case "audit":
		if len(args) > 0 && args[0] == "verify" {
			return auditVerify(args[1:], stdout, stderr)
		}
		fmt.Fprint(stderr, "usage: warden audit verify [--db FILE]\n")
		return 2
	case "version":
		fmt.Fprintln(stdout, "warden", versionString())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "warden: unknown command %q\n\n%s", cmd, usage)
	return 2
}

func versionString() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}

// parseFlags parses args into fs, then fills what the command line did not
// give from the environment. It returns 0 for --help and 2 for bad flags.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "warden: unexpected argument %q\n", fs.Arg(0))
		return 2, false
	}
	if err := web.ApplyEnv(fs, web.LookupEnv); err != nil {
		fmt.Fprintln(stderr, "warden:", err)
		return 2, false
	}
	return 0, true
}

func newLogger(cfg web.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(args []string, stderr io.Writer) int {
	cfg := web.DefaultConfig()
	fs := flag.NewFlagSet("warden serve", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: warden serve [flags]\n\nRuns the console. Flags (environment variable in brackets):\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "warden: invalid configuration:\n  %s\n", strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return 2
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := web.NewServer(ctx, cfg, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if err := srv.ListenAndServe(ctx); err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

func adminCreate(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg := web.DefaultConfig()
	fs := flag.NewFlagSet("warden admin create", flag.ContinueOnError)
	cfg.RegisterDBFlag(fs)
	email := fs.String("email", "", "email address to sign in with (required)")
	name := fs.String("name", "", "display name (required)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (required)")
	fs.Usage = func() {
		_, _ = io.WriteString(stderr, adminCreateUsage)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if *email == "" || *name == "" || !*fromStdin {
		fmt.Fprintln(stderr, "warden: --email, --name and --password-stdin are required (the password is never taken from a flag, where it would land in shell history)")
		return 2
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, models.MaxPasswordInputBytes+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintln(stderr, "warden: reading the password:", err)
		return 1
	}
	password := strings.TrimRight(line, "\r\n")

	ctx := context.Background()
	store, err := models.OpenSQLite(ctx, cfg.DBPath)
	if err != nil {
		fmt.Fprintln(stderr, "warden:", err)
		return 1
	}
	defer store.Close()
	u, err := store.CreateHumanAdmin(ctx, models.NewHuman{Name: *name, Email: *email, Password: password, Confirm: password})
	if fields := models.FieldErrors(err); fields != nil {
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(stderr, "warden: %s: %s\n", k, fields[k])
		}
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "warden:", err)
		return 1
	}
	fmt.Fprintf(stdout, "Created administrator %s <%s> (id %d). Sign in at /login.\n", u.Name, u.Handle(), u.ID)
	return 0
}

func auditVerify(args []string, stdout, stderr io.Writer) int {
	cfg := web.DefaultConfig()
	fs := flag.NewFlagSet("warden audit verify", flag.ContinueOnError)
	cfg.RegisterDBFlag(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: warden audit verify [--db FILE]\n\nRecomputes every audit event's hash and link, and names the first broken one.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	ctx := context.Background()
	store, err := models.OpenSQLite(ctx, cfg.DBPath)
	if err != nil {
		fmt.Fprintln(stderr, "warden:", err)
		return 1
	}
	defer store.Close()
	res, err := store.VerifyAudit(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "warden:", err)
		return 1
	}
	if !res.OK() {
		fmt.Fprintf(stdout, "BROKEN at event %d: %s (%d events checked)\n", res.BrokenID, res.Problem, res.Checked)
		return 1
	}
	fmt.Fprintf(stdout, "OK: %d events, hash chain intact\n", res.Checked)
	return 0
}
