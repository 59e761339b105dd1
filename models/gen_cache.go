package models

import (
	"context"
	"sync"
)

// genCached keeps one value derived from the database for as long as the
// generation it was read at holds (see Store.generation): every audited
// write, by this process or another, moves the generation and so makes the
// next get read the value again.
type genCached[T any] struct {
	mu    sync.Mutex
	gen   generation
	valid bool
	val   T
}

// get returns the kept value, or calls load and keeps its answer when the
// generation moved. The generation is read before load runs: a write that
// commits meanwhile moves it past the one the value is kept under, so the
// next call loads again rather than keeping a stale value.
//
// The value is shared by every caller: load must return something nobody
// modifies afterwards.
func (c *genCached[T]) get(ctx context.Context, s *Store, load func(context.Context) (T, error)) (T, error) {
	gen, err := s.generation(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	return c.getAt(ctx, gen, load)
}

// getAt is get at a generation the caller has just read, for a caller that
// needs several cached values and reads the generation once.
func (c *genCached[T]) getAt(ctx context.Context, gen generation, load func(context.Context) (T, error)) (T, error) {
	c.mu.Lock()
	if c.valid && c.gen == gen {
		v := c.val
		c.mu.Unlock()
		return v, nil
	}
	c.mu.Unlock()
	v, err := load(ctx)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	c.val, c.gen, c.valid = v, gen, true
	c.mu.Unlock()
	return v, nil
}

// genMap keeps values by key for as long as the generation they were read
// at holds: the first keep at a newer generation drops every older entry.
// Past max entries it starts over, which only costs the reads it would have
// saved.
type genMap[K comparable, V any] struct {
	mu  sync.Mutex
	gen generation
	m   map[K]V
}

// get returns the value kept under k at gen.
func (c *genMap[K, V]) get(gen generation, k K) (V, bool) {
	c.mu.Lock()
	v, ok := c.m[k]
	ok = ok && c.gen == gen
	c.mu.Unlock()
	return v, ok
}

// keep stores v, read at gen, under k; a value read at an older generation
// than the kept ones is not kept.
func (c *genMap[K, V]) keep(gen generation, k K, v V, max int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || c.gen != gen {
		if c.m != nil && gen.before(c.gen) {
			return
		}
		c.m, c.gen = make(map[K]V), gen
	}
	if len(c.m) >= max {
		clear(c.m)
	}
	c.m[k] = v
}

// before reports whether g was read before h: both counters only grow.
func (g generation) before(h generation) bool {
	return g.local < h.local || g.events < h.events
}
