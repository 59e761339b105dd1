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
