package throttle

import (
	"context"
	"fmt"
	"testing"
	"time"
)

var ctx = context.Background()

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(3, 10*time.Minute)
	l.Now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if b, _ := l.Blocked(ctx, "k"); b {
			t.Fatalf("blocked after %d failures", i)
		}
		l.Fail(ctx, "k")
	}
	b, wait := l.Blocked(ctx, "k")
	if !b || wait != 10*time.Minute {
		t.Fatalf("after 3 failures Blocked = %v, %v; want true, 10m", b, wait)
	}
	if b, _ := l.Blocked(ctx, "other"); b {
		t.Fatal("one key's failures blocked another key")
	}
	now = now.Add(10 * time.Minute)
	if b, _ := l.Blocked(ctx, "k"); b {
		t.Fatal("still blocked after the window")
	}
	l.Fail(ctx, "k")
	l.Fail(ctx, "k")
	l.Reset(ctx, "k")
	l.Fail(ctx, "k")
	l.Fail(ctx, "k")
	if b, _ := l.Blocked(ctx, "k"); b {
		t.Fatal("Reset did not clear the count")
	}
}

func TestLimiterMemoryBounded(t *testing.T) {
	l := New(1, time.Hour)
	for i := 0; i < maxKeys+10; i++ {
		l.Fail(ctx, fmt.Sprint(i))
	}
	if n := len(l.entries); n > maxKeys {
		t.Fatalf("%d keys kept; want at most %d", n, maxKeys)
	}
}

func TestBuckets(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := NewBuckets(2, 4)
	b.Now = func() time.Time { return now }
	for i := 0; i < 4; i++ {
		if ok, _ := b.Allow(1); !ok {
			t.Fatalf("burst request %d refused", i)
		}
	}
	ok, wait := b.Allow(1)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("after the burst: %v, %v; want refused for 500ms", ok, wait)
	}
	if ok, _ := b.Allow(2); !ok {
		t.Fatal("another key was limited")
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := b.Allow(1); !ok {
		t.Fatal("not refilled after 500ms at 2/s")
	}
	var off *Buckets
	if ok, _ := off.Allow(1); !ok {
		t.Fatal("a nil limiter must allow")
	}
}
