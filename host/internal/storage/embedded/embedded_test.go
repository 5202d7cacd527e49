package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/host/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return open(t, filepath.Join(t.TempDir(), "smsplus.db"), Options{})
	})
}

// fakeClock is safe for the sweeper goroutine to read while the test advances it.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func open(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// rawLen counts the records in ns as stored, expired or not.
func rawLen(t *testing.T, s *Store, ns storage.Namespace) int {
	t.Helper()
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(ns)); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	if err != nil {
		t.Fatalf("rawLen: %v", err)
	}
	return n
}

func TestOpenCreatesPrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "smsplus.db")
	open(t, path, Options{SweepInterval: -1})

	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("Stat: %v", err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s mode = %v, want %v", p, got, want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a bolt file ", 1024)), 0o600); err != nil {
		t.Fatal(err)
	}
	notADir := filepath.Join(dir, "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		path        string
		unavailable bool
	}{
		"empty path":       {path: ""},
		"not a bolt file":  {path: garbage, unavailable: true},
		"parent is a file": {path: filepath.Join(notADir, "smsplus.db"), unavailable: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := Open(tc.path, Options{OpenTimeout: 100 * time.Millisecond})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if got := errors.Is(err, storage.ErrUnavailable); got != tc.unavailable {
				t.Errorf("Open = %v; errors.Is(ErrUnavailable) = %v, want %v", err, got, tc.unavailable)
			}
		})
	}
}

func TestReopenKeepsData(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "smsplus.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, storage.Users, "alice", []byte("enrolled"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, storage.Tokens, "tok", []byte("t"), time.Hour); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.Incr(ctx, storage.UserFailures, "alice", time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t, path, Options{})
	for ns, key := range map[storage.Namespace]string{storage.Users: "alice", storage.Tokens: "tok"} {
		if _, err := s.Get(ctx, ns, key); err != nil {
			t.Errorf("Get %s after reopen: %v", ns, err)
		}
	}
	if n, err := s.Count(ctx, storage.UserFailures, "alice"); err != nil || n != 3 {
		t.Errorf("Count after reopen = %d, %v; want 3", n, err)
	}
}

func TestFakeClockExpiry(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := newFakeClock()
	s := open(t, filepath.Join(t.TempDir(), "smsplus.db"), Options{Now: clock.Now, SweepInterval: -1})

	if err := s.Put(ctx, storage.Challenges, "c", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Incr(ctx, storage.UserFailures, "u", time.Minute); err != nil || n != 1 {
		t.Fatalf("Incr = %d, %v", n, err)
	}
	clock.Advance(59 * time.Second)
	if _, err := s.Get(ctx, storage.Challenges, "c"); err != nil {
		t.Errorf("Get before expiry: %v", err)
	}
	if n, err := s.Incr(ctx, storage.UserFailures, "u", time.Minute); err != nil || n != 2 {
		t.Errorf("Incr in window = %d, %v; want 2", n, err)
	}
	if err := s.Create(ctx, storage.Challenges, "c", []byte("w"), 0); !errors.Is(err, storage.ErrExists) {
		t.Errorf("Create over live record = %v, want ErrExists", err)
	}

	clock.Advance(time.Second) // exactly at the expiry: gone
	if _, err := s.Get(ctx, storage.Challenges, "c"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get at expiry = %v, want ErrNotFound", err)
	}
	if _, err := s.Take(ctx, storage.Challenges, "c"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Take at expiry = %v, want ErrNotFound", err)
	}
	if n, err := s.Count(ctx, storage.UserFailures, "u"); err != nil || n != 0 {
		t.Errorf("Count at expiry = %d, %v; want 0", n, err)
	}
	// Without a sweeper the expired records are still in the file, yet invisible.
	if n := rawLen(t, s, storage.Challenges); n != 1 {
		t.Errorf("stored challenges = %d, want 1", n)
	}
	if err := s.Create(ctx, storage.Challenges, "c", []byte("w"), 0); err != nil {
		t.Errorf("Create over expired record: %v", err)
	}
	if n, err := s.Incr(ctx, storage.UserFailures, "u", time.Minute); err != nil || n != 1 {
		t.Errorf("Incr after window = %d, %v; want 1", n, err)
	}
}

func TestSweep(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := newFakeClock()
	s := open(t, filepath.Join(t.TempDir(), "smsplus.db"), Options{Now: clock.Now, SweepInterval: -1})

	// More records than one batch, interleaved so that every batch has both kinds.
	// They are loaded in one transaction: a Put each would spend seconds in fsync.
	const n = 3*sweepScan + 7
	err := s.db.Update(func(tx *bolt.Tx) error {
		records, err := tx.CreateBucketIfNotExists([]byte(storage.Challenges))
		if err != nil {
			return err
		}
		counters, err := tx.CreateBucketIfNotExists([]byte(storage.ChallengeFailures))
		if err != nil {
			return err
		}
		for i := range n {
			ttl := []time.Duration{0, time.Hour, time.Minute}[i%3]
			key := fmt.Appendf(nil, "k%05d", i)
			if err := records.Put(key, encode(expiry(clock.Now(), ttl), []byte("v"))); err != nil {
				return err
			}
			if err := counters.Put(key, encodeCounter(expiry(clock.Now(), ttl), 1)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	expired := n / 3 // i%3 == 2

	if got, err := s.sweep(nil); err != nil || got != 0 {
		t.Fatalf("sweep before expiry = %d, %v; want 0", got, err)
	}
	clock.Advance(2 * time.Minute)
	if got, err := s.sweep(nil); err != nil || got != 2*expired {
		t.Fatalf("sweep = %d, %v; want %d", got, err, 2*expired)
	}
	for _, ns := range []storage.Namespace{storage.Challenges, storage.ChallengeFailures} {
		if got := rawLen(t, s, ns); got != n-expired {
			t.Errorf("stored %s = %d, want %d", ns, got, n-expired)
		}
	}
	if _, err := s.Get(ctx, storage.Challenges, "k00000"); err != nil {
		t.Errorf("Get of a record without expiry after sweep: %v", err)
	}
	if _, err := s.Get(ctx, storage.Challenges, "k00001"); err != nil {
		t.Errorf("Get of a live record after sweep: %v", err)
	}
	if n, err := s.Count(ctx, storage.ChallengeFailures, "k00001"); err != nil || n != 1 {
		t.Errorf("Count of a live counter after sweep = %d, %v; want 1", n, err)
	}
}

func TestSweeperRunsInBackground(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := newFakeClock()
	s := open(t, filepath.Join(t.TempDir(), "smsplus.db"), Options{Now: clock.Now, SweepInterval: 10 * time.Millisecond})
	for i := range 100 {
		ttl := time.Minute
		if i == 0 {
			ttl = 0
		}
		if err := s.Put(ctx, storage.Audit, fmt.Sprint(i), []byte("v"), ttl); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Hour)
	deadline := time.Now().Add(5 * time.Second)
	for rawLen(t, s, storage.Audit) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("stored audit entries = %d after 5s, want 1", rawLen(t, s, storage.Audit))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFileInUse(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "smsplus.db")
	first := open(t, path, Options{})

	// flock locks belong to the open file description, so a second Open in the
	// same process contends exactly as another process would.
	const timeout = 300 * time.Millisecond
	start := time.Now()
	s, err := Open(path, Options{OpenTimeout: timeout})
	elapsed := time.Since(start)
	if err == nil {
		s.Close()
		t.Fatal("second Open succeeded, want an in-use error")
	}
	if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second Open = %v, want ErrUnavailable saying the file is in use", err)
	}
	if elapsed < timeout/2 || elapsed > timeout+time.Second {
		t.Errorf("second Open gave up after %s, want about %s", elapsed, timeout)
	}
	if err := first.Ping(t.Context()); err != nil {
		t.Errorf("first store after a failed second Open: %v", err)
	}
}

func TestClosed(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := Open(filepath.Join(t.TempDir(), "smsplus.db"), Options{SweepInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	calls := map[string]func() error{
		"Create": func() error { return s.Create(ctx, storage.Users, "k", nil, 0) },
		"Put":    func() error { return s.Put(ctx, storage.Users, "k", nil, 0) },
		"Get":    func() error { _, err := s.Get(ctx, storage.Users, "k"); return err },
		"Take":   func() error { _, err := s.Take(ctx, storage.Users, "k"); return err },
		"Delete": func() error { return s.Delete(ctx, storage.Users, "k") },
		"Incr":   func() error { _, err := s.Incr(ctx, storage.Users, "k", 0); return err },
		"Count":  func() error { _, err := s.Count(ctx, storage.Users, "k"); return err },
		"Ping":   func() error { return s.Ping(ctx) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "closed") {
			t.Errorf("%s after Close = %v, want ErrUnavailable saying the store is closed", name, err)
		}
	}
}

// Close while calls are in flight: they either complete or fail, never panic or race.
func TestCloseUnderLoad(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := Open(filepath.Join(t.TempDir(), "smsplus.db"), Options{SweepInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var failures atomic.Int64
	for i := range 8 {
		wg.Go(func() {
			for j := 0; ; j++ {
				key := fmt.Sprintf("%d-%d", i, j)
				err := s.Put(ctx, storage.Tokens, key, []byte("v"), time.Nanosecond)
				if err == nil {
					_, err = s.Incr(ctx, storage.UserFailures, key, 0)
				}
				if err != nil {
					if !errors.Is(err, storage.ErrUnavailable) {
						t.Errorf("call during Close = %v, want ErrUnavailable", err)
					}
					failures.Add(1)
					return
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wg.Wait()
	if failures.Load() != 8 {
		t.Errorf("%d workers saw the close, want 8", failures.Load())
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	namespaces := map[storage.Namespace]bool{
		"a":                  true,
		"user":               true,
		"challenge_failures": true,
		"a_1_":               true,
		storage.Namespace(strings.Repeat("a", 64)): true,
		storage.Namespace(strings.Repeat("a", 65)): false,
		"":     false,
		"User": false,
		"1a":   false,
		"_a":   false,
		"a-b":  false,
		"a b":  false,
		"é":    false,
	}
	for ns, want := range namespaces {
		if got := ns.Valid(); got != want {
			t.Errorf("Namespace(%q).Valid() = %v, want %v", ns, got, want)
		}
	}

	s := open(t, filepath.Join(t.TempDir(), "smsplus.db"), Options{SweepInterval: -1})
	ctx := t.Context()
	if err := s.Put(ctx, storage.Users, strings.Repeat("k", storage.MaxKeyLen+1), nil, 0); err == nil || !strings.Contains(err.Error(), "invalid key") {
		t.Errorf("Put with a %d-byte key = %v, want an invalid key error", storage.MaxKeyLen+1, err)
	}
	if err := s.Put(ctx, storage.Users, "k", nil, -time.Second); err == nil || !strings.Contains(err.Error(), "invalid ttl") {
		t.Errorf("Put with a negative ttl = %v, want an invalid ttl error", err)
	}
	// A counter and a record are told apart by length; a mix-up is reported, not misread.
	if err := s.Put(ctx, storage.Users, "k", []byte("abc"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Incr(ctx, storage.Users, "k", 0); err == nil || errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Incr of a non-counter record = %v, want a not-a-counter error", err)
	}
}

func TestHugeTTLDoesNotWrap(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "smsplus.db"), Options{SweepInterval: -1})
	if err := s.Put(ctx, storage.Users, "k", []byte("v"), time.Duration(1<<63-1)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, storage.Users, "k"); err != nil {
		t.Errorf("Get of a record with a huge ttl: %v", err)
	}
}

// Values must be copied out of bbolt's memory map: growing the file remaps it, and
// a slice still pointing into the old mapping would then fault or change.
func TestValuesOutliveTheMapping(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "smsplus.db"), Options{SweepInterval: -1})
	want := bytes.Repeat([]byte("0123456789abcdef"), 4096) // big enough for its own pages
	for _, key := range []string{"get", "take"} {
		if err := s.Put(ctx, storage.Users, key, want, 0); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Get(ctx, storage.Users, "get")
	if err != nil {
		t.Fatal(err)
	}
	taken, err := s.Take(ctx, storage.Users, "take")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, storage.Audit, "grow", make([]byte, 8<<20), 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) || !bytes.Equal(taken, want) {
		t.Error("a value read before the file grew has changed")
	}
}
