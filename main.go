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
  warden admin reset-password --email E [--db FILE]
                                print a new one-time set-password link for a person
  warden users create-service --name N [--role R] [--team T]... [--description D]
                                create a service user from a shell (--role: member by default)
  warden teams create --name N [--description D]
                                create a team, for --team above
  warden teams list             list the teams with their active members
  warden tokens create --user USER_ID --name N [--expires-in-days D]
                                generate a token; it is printed once, on standard output
  warden backup --out FILE      write a consistent copy of the database while it runs
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
so it is also the way back in when every administrator is locked out. The account
is a break-glass account: when serve runs with --password-login=false and
--allow-break-glass, it may still sign in with its password, at /login?password=1.

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
		if len(args) > 0 && args[0] == "reset-password" {
			return adminResetPassword(args[1:], stdout, stderr)
		}
		fmt.Fprint(stderr, "usage: warden admin create|reset-password --help\n")
		return 2
	case "users":
		if len(args) > 0 && args[0] == "create-service" {
			return usersCreateService(args[1:], stdout, stderr)
		}
		fmt.Fprint(stderr, "usage: warden users create-service --name N [--role R] [--team T]...\n")
		return 2
	case "teams":
		if len(args) > 0 && args[0] == "create" {
			return teamsCreate(args[1:], stdout, stderr)
		}
		if len(args) > 0 && args[0] == "list" {
			return teamsList(args[1:], stdout, stderr)
		}
		fmt.Fprint(stderr, "usage: warden teams create --name N [--description D] | warden teams list\n")
		return 2
	case "tokens":
		if len(args) > 0 && args[0] == "create" {
			return tokensCreate(args[1:], stdout, stderr)
		}
		fmt.Fprint(stderr, "usage: warden tokens create --user USER_ID --name N [--expires-in-days D]\n")
		return 2
	case "backup":
		return backup(args, stdout, stderr)
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
	cfg.LoadSecrets(web.LookupEnv)
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
	store, err := cfg.OpenStore(ctx)
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
	store, err := cfg.OpenStore(ctx)
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

// cliActor is the audit actor of the command line.
var cliActor = models.Actor{Kind: models.ActorSystem, Label: "command line"}

// openForCLI parses a subcommand's flags (with --db) and opens the store.
func openForCLI(name, usage string, args []string, stderr io.Writer, define func(fs *flag.FlagSet)) (*models.Store, int, bool) {
	cfg := web.DefaultConfig()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cfg.RegisterDBFlag(fs)
	define(fs)
	fs.Usage = func() {
		_, _ = io.WriteString(stderr, usage+"\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return nil, code, false
	}
	store, err := cfg.OpenStore(context.Background())
	if err != nil {
		fmt.Fprintln(stderr, "warden:", err)
		return nil, 1, false
	}
	return store, 0, true
}

// reportStoreError prints a store error for a person at a terminal.
func reportStoreError(stderr io.Writer, err error) int {
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
	if msg := models.RuleMessage(err); msg != "" {
		fmt.Fprintln(stderr, "warden:", msg)
		return 1
	}
	fmt.Fprintln(stderr, "warden:", err)
	return 1
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func adminResetPassword(args []string, stdout, stderr io.Writer) int {
	var email, baseURL string
	store, code, ok := openForCLI("warden admin reset-password",
		"Usage: warden admin reset-password --email E [--base-url URL] [--db FILE]\n\nPrints a new one-time set-password link (72 hours) for a person; any earlier link stops working.",
		args, stderr, func(fs *flag.FlagSet) {
			fs.StringVar(&email, "email", "", "the person's email (required)")
			fs.StringVar(&baseURL, "base-url", "http://127.0.0.1:8080", "the console's public URL, for the printed link [$WARDEN_BASE_URL]")
		})
	if !ok {
		return code
	}
	defer store.Close()
	if email == "" {
		fmt.Fprintln(stderr, "warden: --email is required")
		return 2
	}
	ctx := context.Background()
	u, err := store.UserByHandle(ctx, email)
	if err != nil {
		return reportStoreError(stderr, err)
	}
	token, err := store.IssuePasswordLink(ctx, cliActor, u.ID)
	if err != nil {
		return reportStoreError(stderr, err)
	}
	fmt.Fprintf(stdout, "%s/set-password/%s\n", strings.TrimSuffix(baseURL, "/"), token)
	fmt.Fprintf(stderr, "One-time link for %s, valid for 72 hours. Send it to them yourself.\n", u.Handle())
	return 0
}

func usersCreateService(args []string, stdout, stderr io.Writer) int {
	var name, role, description string
	var teams multiFlag
	store, code, ok := openForCLI("warden users create-service",
		"Usage: warden users create-service --name N [--role admin|manager|member] [--team T]... [--description D] [--db FILE]\n\nCreates a service user and prints its user_id. Without --role it is a member, the least privilege.",
		args, stderr, func(fs *flag.FlagSet) {
			fs.StringVar(&name, "name", "", "display name; the user_id is derived from it (required)")
			fs.StringVar(&role, "role", "member", "admin, manager or member")
			fs.Var(&teams, "team", "a team name to join (repeatable); the team must exist (warden teams create)")
			fs.StringVar(&description, "description", "", "purpose of the service user")
		})
	if !ok {
		return code
	}
	defer store.Close()
	ctx := context.Background()
	var ids []int64
	for _, tn := range teams {
		t, err := store.TeamByName(ctx, tn)
		if err != nil {
			fmt.Fprintf(stderr, "warden: no team named %q (create it with: warden teams create --name %q)\n", tn, tn)
			return 1
		}
		ids = append(ids, t.ID)
	}
	u, err := store.CreateServiceUser(ctx, cliActor, models.NewServiceUser{Name: name, Role: models.Role(role), TeamIDs: ids, Description: description})
	if err != nil {
		return reportStoreError(stderr, err)
	}
	fmt.Fprintln(stdout, u.Handle())
	return 0
}

func tokensCreate(args []string, stdout, stderr io.Writer) int {
	var user, name string
	var days int
	store, code, ok := openForCLI("warden tokens create",
		"Usage: warden tokens create --user USER_ID --name N [--expires-in-days D] [--db FILE]\n\nGenerates a token for a service user and prints it once on standard output; Warden keeps only its hash.\nWithout --expires-in-days the token expires after the policy's default lifetime.",
		args, stderr, func(fs *flag.FlagSet) {
			fs.StringVar(&user, "user", "", "the service user's user_id (required)")
			fs.StringVar(&name, "name", "", "token name, unique for the user (required)")
			fs.IntVar(&days, "expires-in-days", 0, "lifetime in days (default: the expiry policy's default)")
		})
	if !ok {
		return code
	}
	defer store.Close()
	ctx := context.Background()
	u, err := store.UserByHandle(ctx, user)
	if err != nil {
		fmt.Fprintf(stderr, "warden: no user %q\n", user)
		return 1
	}
	if days == 0 {
		p, err := store.TokenPolicy(ctx)
		if err != nil {
			return reportStoreError(stderr, err)
		}
		days = p.DefaultDays
	}
	e := models.Expiry{Days: days}
	if days == 0 {
		e = models.Expiry{Never: true}
	}
	tok, secret, err := store.GenerateToken(ctx, cliActor, u.ID, models.NewToken{Name: name, Expiry: e})
	if err != nil {
		return reportStoreError(stderr, err)
	}
	fmt.Fprintln(stdout, secret)
	expiry := "never expires"
	if tok.ExpiresAt != nil {
		expiry = "expires " + tok.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	fmt.Fprintf(stderr, "Token %q for %s (%s). It is shown only now.\n", tok.Name, u.Handle(), expiry)
	return 0
}

func backup(args []string, stdout, stderr io.Writer) int {
	var out string
	store, code, ok := openForCLI("warden backup",
		"Usage: warden backup --out FILE [--db FILE]\n\nWrites a consistent copy of the database while the server keeps running (SQLite VACUUM INTO).\nRestore by stopping Warden and starting it with --db FILE.",
		args, stderr, func(fs *flag.FlagSet) {
			fs.StringVar(&out, "out", "", "the copy to write; must not exist (required)")
		})
	if !ok {
		return code
	}
	defer store.Close()
	if out == "" {
		fmt.Fprintln(stderr, "warden: --out is required")
		return 2
	}
	if _, err := os.Stat(out); err == nil {
		fmt.Fprintf(stderr, "warden: %s exists; choose a new file\n", out)
		return 1
	}
	if err := store.Backup(context.Background(), out); err != nil {
		fmt.Fprintln(stderr, "warden:", err)
		return 1
	}
	fmt.Fprintf(stdout, "Backup written to %s\n", out)
	return 0
}
