package web

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestExpirySweepIntervalFlag(t *testing.T) {
	parse := func(args []string, env map[string]string) (Config, error) {
		t.Helper()
		c := DefaultConfig()
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.RegisterFlags(fs)
		if err := fs.Parse(args); err != nil {
			return c, err
		}
		err := ApplyEnv(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		return c, err
	}
	c, err := parse(nil, nil)
	if err != nil || c.ExpirySweepInterval != time.Minute || c.Validate() != nil {
		t.Fatalf("default: %v, %v, %v", c.ExpirySweepInterval, err, c.Validate())
	}
	c, err = parse([]string{"--expiry-sweep-interval", "30s"}, nil)
	if err != nil || c.ExpirySweepInterval != 30*time.Second || c.Validate() != nil {
		t.Fatalf("flag: %v, %v", c.ExpirySweepInterval, err)
	}
	c, err = parse(nil, map[string]string{"WARDEN_EXPIRY_SWEEP_INTERVAL": "5m"})
	if err != nil || c.ExpirySweepInterval != 5*time.Minute {
		t.Fatalf("env: %v, %v", c.ExpirySweepInterval, err)
	}
	for _, bad := range []string{"0s", "-1m"} {
		c, err = parse([]string{"--expiry-sweep-interval=" + bad}, nil)
		if err != nil {
			t.Fatalf("%s: %v", bad, err)
		}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--expiry-sweep-interval must be positive") {
			t.Fatalf("%s: validate said %v", bad, err)
		}
	}
	if _, err := parse([]string{"--expiry-sweep-interval", "soon"}, nil); err == nil {
		t.Fatal("a non-duration parsed")
	}
}

func TestSMTPFlags(t *testing.T) {
	parse := func(args []string, env map[string]string) Config {
		t.Helper()
		c := DefaultConfig()
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.RegisterFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := ApplyEnv(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
			t.Fatal(err)
		}
		return c
	}
	// The environment twin is how the password is meant to arrive.
	c := parse([]string{"--base-url", "https://warden.example.com"}, map[string]string{
		"WARDEN_SMTP_URL": "smtps://mailer:hunter2hunter2@mail.example.com", "WARDEN_SMTP_FROM": "Warden <warden@example.com>",
	})
	if c.SMTPURL == "" || c.SMTPFrom != "Warden <warden@example.com>" || c.Validate() != nil {
		t.Fatalf("env: %q %q %v", c.SMTPURL, c.SMTPFrom, c.Validate())
	}
	if name := c.smtpName(); name != "smtps://mailer@mail.example.com:465" {
		t.Fatalf("logged as %q", name)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--smtp-url", "smtp://u:hunter2hunter2@mail.example.com", "--smtp-from", "warden@example.com"}, "--smtp-url needs --base-url"},
		{[]string{"--smtp-url", "smtp://u:hunter2hunter2@mail.example.com", "--base-url", "https://w.example.com"}, "--smtp-url needs --smtp-from"},
		{[]string{"--smtp-url", "imap://u:hunter2hunter2@mail.example.com", "--smtp-from", "w@example.com", "--base-url", "https://w.example.com"}, "--smtp-url: the SMTP URL must start with smtp://"},
		{[]string{"--smtp-url", "smtp://mail.example.com", "--smtp-from", "nobody", "--base-url", "https://w.example.com"}, "--smtp-from"},
		{[]string{"--smtp-from", "w@example.com"}, "--smtp-from needs --smtp-url"},
	} {
		err := parse(tc.args, nil).Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("%v: %v; want %q and never the password", tc.args, err, tc.want)
		}
	}
}
