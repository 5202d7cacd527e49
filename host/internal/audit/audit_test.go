package audit

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/host/internal/storage/embedded"
)

// recordingStore wraps a real store and remembers the audit writes.
type recordingStore struct {
	storage.Store
	mu   sync.Mutex
	puts [][]Entry
}

func (r *recordingStore) Put(ctx context.Context, ns storage.Namespace, key string, v []byte, ttl time.Duration) error {
	if ns == storage.Audit {
		var batch []Entry
		if err := json.Unmarshal(v, &batch); err != nil {
			return err
		}
		if ttl != TTL {
			return context.DeadlineExceeded // any error: the test checks the count
		}
		r.mu.Lock()
		r.puts = append(r.puts, batch)
		r.mu.Unlock()
	}
	return r.Store.Put(ctx, ns, key, v, ttl)
}

func (r *recordingStore) entries() (batches, entries int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.puts {
		entries += len(b)
	}
	return len(r.puts), entries
}

func newStore(t *testing.T) *recordingStore {
	st, err := embedded.Open(filepath.Join(t.TempDir(), "db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &recordingStore{Store: st}
}

func TestBatchesAndFlushesOnClose(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	l := New(st, Options{FlushEvery: time.Hour, MaxBatch: 10})
	for i := range 25 {
		l.Record("challenge_created", "u", map[string]any{"i": i})
	}
	l.Close()
	batches, entries := st.entries()
	if entries != 25 || batches != 3 {
		t.Fatalf("wrote %d entries in %d batches, want 25 in 3", entries, batches)
	}
	l.Record("late", "u", nil) // after Close: dropped, no panic
}

func TestFlushesOnTimer(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	l := New(st, Options{FlushEvery: 20 * time.Millisecond})
	defer l.Close()
	l.Record("otp_revealed", "u", nil)
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, n := st.entries(); n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("entry not written by the timer")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// blockedStore never finishes a write, like a store that is down.
type blockedStore struct {
	storage.Store
	release chan struct{}
}

func (b *blockedStore) Put(ctx context.Context, _ storage.Namespace, _ string, _ []byte, _ time.Duration) error {
	<-b.release
	return nil
}

func TestFullBufferDropsInsteadOfBlocking(t *testing.T) {
	t.Parallel()
	b := &blockedStore{release: make(chan struct{})}
	l := New(b, Options{FlushEvery: time.Millisecond, MaxBatch: 1, Buffer: 4})
	// The store holds every write until release: a Record that waited for room
	// in the buffer would never return.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			l.Record("x", "u", nil)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Record blocks while the store is stuck")
	}
	if l.Dropped() < 90 {
		t.Fatalf("dropped %d of 100 with a buffer of 4", l.Dropped())
	}
	close(b.release)
	l.Close()
}
