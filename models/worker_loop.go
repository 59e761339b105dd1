package models

import (
	"context"
	"time"
)

// outboxLoop is what a delivery worker's Run does until ctx ends: prune its
// log every pruneEvery, then a round; another round at once after a full
// batch, else after every or when wake fires. onError hears what a prune
// or a round could not do (nil: nothing hears it); the next round retries.
type outboxLoop struct {
	every   time.Duration
	wake    <-chan struct{}
	batch   int
	prune   func(context.Context) (int64, error)
	round   func(context.Context) (int, error)
	onError func(error)
}

func (l outboxLoop) run(ctx context.Context, now func() time.Time) {
	t := time.NewTicker(l.every)
	defer t.Stop()
	report := func(err error) {
		if err != nil && l.onError != nil && ctx.Err() == nil {
			l.onError(err)
		}
	}
	var pruned time.Time
	for {
		if at := now(); at.Sub(pruned) >= pruneEvery {
			pruned = at
			_, err := l.prune(ctx)
			report(err)
		}
		n, err := l.round(ctx)
		report(err)
		if err == nil && n == l.batch {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-l.wake:
		}
	}
}
