package models

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
)

// TestGenReaderSeesEveryEarlierCommit: generation reads are shared between
// concurrent callers, but never one that began before the caller did. With
// another process committing events throughout, every read returns at least
// the newest id committed before the read was asked for.
func TestGenReaderSeesEveryEarlierCommit(t *testing.T) {
	sqliteOnly(t)
	ctx := context.Background()
	server, other := twoStores(t)
	var committed atomic.Int64
	done := make(chan struct{})
	var writer sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		defer close(done)
		for range 150 {
			if err := other.RecordEvent(ctx, System, "test.tick", OutcomeSuccess, "", "", 0, ""); err != nil {
				t.Error(err)
				return
			}
			var id int64
			if _, err := other.scanOne(ctx, []any{&id}, newestEventQuery); err != nil {
				t.Error(err)
				return
			}
			committed.Store(id)
		}
	}()
	var readers sync.WaitGroup
	var reads, shared atomic.Int64
	for range 8 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				before := committed.Load()
				got, err := server.genReader.newestEvent(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				reads.Add(1)
				if got < before {
					t.Errorf("read %d, but %d was committed before the read was asked for", got, before)
					return
				}
			}
		}()
	}
	writer.Wait()
	readers.Wait()
	shared.Store(reads.Load() - int64(server.genReader.tickets.Load()))
	t.Logf("%d reads, %d of them shared", reads.Load(), shared.Load())
	if reads.Load() == 0 {
		t.Fatal("no reads")
	}
}

// TestGenReaderAfterClose: a closed store's generation read fails cleanly
// rather than reopening a connection.
func TestGenReaderAfterClose(t *testing.T) {
	sqliteOnly(t)
	s := openTestStore(t)
	if _, err := s.generation(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.generation(context.Background()); err == nil {
		t.Fatal("generation read on a closed store succeeded")
	}
}
