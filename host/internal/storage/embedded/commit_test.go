package embedded

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/smsplus/smsplus/host/internal/storage"
)

// holdCommit starts a write that blocks inside its transaction until release is
// closed, so that the writes made meanwhile queue up, and returns a function
// that waits until n writes are queued.
func holdCommit(t *testing.T, s *Store, release chan struct{}) (queued func(n int), done chan error) {
	t.Helper()
	started := make(chan struct{})
	done = make(chan error, 1)
	go func() {
		done <- s.write(func(tx *bolt.Tx) error {
			close(started)
			<-release
			b, err := tx.CreateBucketIfNotExists([]byte(storage.Audit))
			if err != nil {
				return err
			}
			return b.Put([]byte("held"), encode(0, []byte("v")))
		})
	}()
	<-started
	return func(n int) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			s.writer.mu.Lock()
			got := len(s.writer.pending)
			s.writer.mu.Unlock()
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d writes queued after 10 s, want %d", got, n)
			}
			time.Sleep(time.Millisecond)
		}
	}, done
}

// Writes that arrive during a commit share the next one, and each returns only
// after that commit.
func TestConcurrentWritesShareOneCommit(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "db"), Options{SweepInterval: -1})
	release := make(chan struct{})
	queued, held := holdCommit(t, s, release)

	const writers = 20
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			key := fmt.Sprintf("k%d", i)
			switch i % 3 {
			case 0:
				errs[i] = s.Put(t.Context(), storage.Users, key, []byte("v"), 0)
			case 1:
				_, errs[i] = s.Incr(t.Context(), storage.SMSRate, "shared", time.Hour)
			case 2:
				errs[i] = s.Create(t.Context(), storage.Challenges, key, []byte("v"), time.Hour)
			}
		})
	}
	queued(writers)
	before := s.Commits()
	close(release)
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatalf("held write: %v", err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	// The held write's commit, then one for all the queued writes.
	if got := s.Commits() - before; got != 2 {
		t.Errorf("%d queued writes took %d commits after the held one's start, want 2 (its own and one for the group)", writers, got)
	}
	n, err := s.Count(t.Context(), storage.SMSRate, "shared")
	if err != nil || n != writers/3+1 {
		t.Errorf("shared counter = %d, %v; want %d", n, err, writers/3+1)
	}
}

// A write that fails after writing rolls back alone: the rest of its group commits.
func TestFailedWriteRollsBackAlone(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "db"), Options{SweepInterval: -1})
	release := make(chan struct{})
	queued, held := holdCommit(t, s, release)

	boom := errors.New("boom")
	var wg sync.WaitGroup
	var failed, ok error
	wg.Go(func() {
		failed = s.write(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte(storage.Users))
			if err != nil {
				return err
			}
			if err := b.Put([]byte("half"), encode(0, []byte("v"))); err != nil {
				return err
			}
			return boom
		})
	})
	queued(1)
	wg.Go(func() { ok = s.Put(t.Context(), storage.Users, "whole", []byte("v"), 0) })
	queued(2)
	close(release)
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if !errors.Is(failed, boom) {
		t.Errorf("failed write = %v, want boom", failed)
	}
	if ok != nil {
		t.Errorf("write grouped with a failed one: %v", ok)
	}
	if _, err := s.Get(t.Context(), storage.Users, "half"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the failed write's record: %v, want ErrNotFound (rolled back)", err)
	}
	if _, err := s.Get(t.Context(), storage.Users, "whole"); err != nil {
		t.Errorf("the good write's record: %v", err)
	}
}

// A batch is one commit, and a batch that writes nothing commits nothing.
func TestBatchCommitsOnce(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "db"), Options{SweepInterval: -1})
	before := s.Commits()
	ops := []storage.Op{
		{Kind: storage.OpCreate, NS: storage.Deliveries, Key: "d", Value: []byte("claim"), TTL: time.Minute, Stop: true},
		{Kind: storage.OpIncr, NS: storage.SMSRate, Key: "p", TTL: time.Hour, Stop: true, Limit: 5},
		{Kind: storage.OpCreate, NS: storage.Users, Key: "u", Value: []byte("user")},
		{Kind: storage.OpGet, NS: storage.PendingResets, Key: "u"},
		{Kind: storage.OpCreate, NS: storage.Challenges, Key: "c", Value: []byte("challenge"), TTL: time.Minute},
	}
	if _, err := s.Batch(t.Context(), ops); err != nil {
		t.Fatal(err)
	}
	if got := s.Commits() - before; got != 1 {
		t.Errorf("a batch of %d ops took %d commits, want 1", len(ops), got)
	}
	res, err := s.Batch(t.Context(), ops) // refused at once by the claim
	if err != nil || !errors.Is(res[0].Err, storage.ErrExists) {
		t.Fatalf("second batch = %+v, %v", res, err)
	}
	if got := s.Commits() - before; got != 1 {
		t.Errorf("a batch that wrote nothing committed: %d commits in all, want 1", got)
	}
}

// A write function that panics fails its group, passes the panic to its own
// caller, and leaves the store working.
func TestPanickingWriteDoesNotHangTheStore(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "db"), Options{SweepInterval: -1})
	release := make(chan struct{})
	queued, held := holdCommit(t, s, release)

	var wg sync.WaitGroup
	var recovered any
	wg.Go(func() {
		defer func() { recovered = recover() }()
		_ = s.write(func(*bolt.Tx) error { panic("boom") })
	})
	queued(1)
	var grouped error
	wg.Go(func() { grouped = s.Put(t.Context(), storage.Users, "grouped", []byte("v"), 0) })
	queued(2)
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("writes hang after a write function panicked")
	}
	if recovered == nil {
		t.Error("the panic did not reach the panicking write's caller")
	}
	// The Put shared the panicking transaction; whichever way it went, it was
	// answered, and the store takes writes afterwards.
	t.Logf("write grouped with the panic: %v", grouped)
	if err := s.Put(t.Context(), storage.Users, "after", []byte("v"), 0); err != nil {
		t.Fatalf("Put after a panicking write: %v", err)
	}
}
