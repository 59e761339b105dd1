package throttle

import (
	"math"
	"sync"
	"time"
)

// Buckets is a token bucket per key: Rate requests per second on average,
// bursts up to Burst. Like Limiter it lives in process memory.
type Buckets struct {
	Rate  float64
	Burst float64
	Now   func() time.Time

	mu sync.Mutex
	m  map[int64]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewBuckets returns buckets allowing rate requests per second per key.
func NewBuckets(rate float64, burst int) *Buckets {
	return &Buckets{Rate: rate, Burst: float64(burst), Now: time.Now, m: map[int64]*bucket{}}
}

// Allow takes one request from key's bucket; when it is empty it reports how
// long until the next request would be allowed.
func (b *Buckets) Allow(key int64) (bool, time.Duration) {
	if b == nil || b.Rate <= 0 {
		return true, 0
	}
	now := b.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	bk, ok := b.m[key]
	if !ok {
		if len(b.m) >= maxKeys {
			b.m = map[int64]*bucket{} // forget everyone rather than grow without bound
		}
		bk = &bucket{tokens: b.Burst, last: now}
		b.m[key] = bk
	}
	bk.tokens = math.Min(b.Burst, bk.tokens+now.Sub(bk.last).Seconds()*b.Rate)
	bk.last = now
	if bk.tokens >= 1 {
		bk.tokens--
		return true, 0
	}
	wait := time.Duration((1 - bk.tokens) / b.Rate * float64(time.Second))
	return false, wait
}
