package challenge

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/host/internal/storage/embedded"
)

func newDeduper(t *testing.T, now func() time.Time) (*Deduper, storage.Store) {
	t.Helper()
	store, err := embedded.Open(filepath.Join(t.TempDir(), "d.db"), embedded.Options{Now: now, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return &Deduper{Store: store, Salt: "salt", TTL: 15 * time.Minute}, store
}

func TestDedupe(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	clock.Store(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	d, store := newDeduper(t, now)
	ctx := context.Background()
	ev := Event{Bridge: "auth0", Phone: "+14155550142", OTP: "048213"}

	// First delivery: the caller holds the claim.
	if prior, dup, err := d.Claim(ctx, ev, 0); err != nil || dup || prior != (Started{}) {
		t.Fatalf("first Claim = %+v, %v, %v", prior, dup, err)
	}
	first := Started{ChallengeID: "secret-cid", TransactionID: "sp_1", Enrolling: true}
	d.Settle(ctx, ev, first, nil)

	// A retry gets the first answer, without the challenge id.
	prior, dup, err := d.Claim(ctx, ev, 0)
	if err != nil || !dup || prior.TransactionID != "sp_1" || !prior.Enrolling || prior.ChallengeID != "" {
		t.Fatalf("retry Claim = %+v, %v, %v", prior, dup, err)
	}
	// Another code, phone or bridge is a new delivery.
	for _, other := range []Event{
		{Bridge: "auth0", Phone: ev.Phone, OTP: "048214"},
		{Bridge: "auth0", Phone: "+14155550143", OTP: ev.OTP},
		{Bridge: "okta", Phone: ev.Phone, OTP: ev.OTP},
	} {
		if _, dup, err := d.Claim(ctx, other, 0); err != nil || dup {
			t.Errorf("Claim(%+v) = dup %v, %v", other, dup, err)
		}
	}
	// The store holds neither the phone nor the code.
	if _, err := store.Get(ctx, Deliveries, ev.Phone+ev.OTP); !errors.Is(err, storage.ErrNotFound) {
		t.Error("delivery stored under a readable key")
	}
	// After the TTL the same code is a new delivery.
	clock.Add(int64(15*time.Minute + time.Second))
	if _, dup, err := d.Claim(ctx, ev, 0); err != nil || dup {
		t.Fatalf("Claim after TTL = dup %v, %v", dup, err)
	}
}

func TestDedupeFailureLetsRetryThrough(t *testing.T) {
	t.Parallel()
	d, _ := newDeduper(t, nil)
	ctx := context.Background()
	ev := Event{Bridge: "auth0", Phone: "+14155550142", OTP: "1234"}
	if _, dup, err := d.Claim(ctx, ev, 0); err != nil || dup {
		t.Fatal(dup, err)
	}
	d.Settle(ctx, ev, Started{}, ErrSMS)
	if _, dup, err := d.Claim(ctx, ev, 0); err != nil || dup {
		t.Fatalf("retry after a failed send = dup %v, %v; want a new attempt", dup, err)
	}
}

// TestDedupeConcurrent sends the same delivery from many hooks at once: exactly
// one does the work, the others get its answer.
func TestDedupeConcurrent(t *testing.T) {
	t.Parallel()
	d, _ := newDeduper(t, nil)
	ev := Event{Bridge: "okta", Phone: "+14155550142", OTP: "604913"}
	var owners, dups atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prior, dup, err := d.Claim(context.Background(), ev, time.Minute) // until the owner settles
			switch {
			case err != nil:
				t.Errorf("Claim: %v", err)
			case dup:
				if prior.TransactionID != "sp_x" {
					t.Errorf("dup answer %+v", prior)
				}
				dups.Add(1)
			default:
				owners.Add(1)
				time.Sleep(100 * time.Millisecond) // the send
				d.Settle(context.Background(), ev, Started{TransactionID: "sp_x"}, nil)
			}
		}()
	}
	wg.Wait()
	if owners.Load() != 1 || dups.Load() != 7 {
		t.Fatalf("owners %d, duplicates %d", owners.Load(), dups.Load())
	}
}

func TestDedupeInProgress(t *testing.T) {
	t.Parallel()
	d, _ := newDeduper(t, nil)
	ev := Event{Bridge: "okta", Phone: "+14155550142", OTP: "604913"}
	if _, _, err := d.Claim(context.Background(), ev, 0); err != nil {
		t.Fatal(err)
	}
	// Not waiting: in progress at once.
	if _, dup, err := d.Claim(context.Background(), ev, 0); !errors.Is(err, ErrInProgress) || dup {
		t.Fatalf("Claim while in progress = %v, %v", dup, err)
	}
	// Waiting longer than the hook has: the hook's end ends the wait (or this
	// test would wait an hour).
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, dup, err := d.Claim(ctx, ev, time.Hour); !errors.Is(err, ErrInProgress) || dup {
		t.Fatalf("Claim while in progress, hook over = %v, %v", dup, err)
	}
}

// replacingStore answers as the Mongo store does on FerretDB while another
// creator replaces an expired delivery record, or after that creator died
// between its claim and its insert (until the sweeper removes the expired
// record): Create says the key exists, Get finds no live record.
type replacingStore struct {
	storage.Store
	calls atomic.Int64
}

func (s *replacingStore) Create(ctx context.Context, ns storage.Namespace, key string, v []byte, ttl time.Duration) error {
	if ns != Deliveries {
		return s.Store.Create(ctx, ns, key, v, ttl)
	}
	s.calls.Add(1)
	return storage.ErrExists
}

func (s *replacingStore) Get(ctx context.Context, ns storage.Namespace, key string) ([]byte, error) {
	if ns != Deliveries {
		return s.Store.Get(ctx, ns, key)
	}
	s.calls.Add(1)
	return nil, storage.ErrNotFound
}

// A claim that keeps finding the key taken but no record behind it waits for
// it as for a delivery in progress: it polls, and gives up when the hook flow's
// wait is over, not when the hook's whole context ends.
func TestDedupeClaimReplacedRecordWaitsAsInProgress(t *testing.T) {
	t.Parallel()
	d, store := newDeduper(t, nil)
	rs := &replacingStore{Store: store}
	d.Store = rs
	ev := Event{Bridge: "okta", Phone: "+14155550142", OTP: "604913"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	const wait = 100 * time.Millisecond
	_, dup, err := d.Claim(ctx, ev, wait)
	if ctx.Err() != nil {
		t.Fatalf("Claim ran until the hook's context ended (%d store calls), not for its wait", rs.calls.Load())
	}
	if !errors.Is(err, ErrInProgress) || dup {
		t.Fatalf("Claim = %v, %v; want ErrInProgress", dup, err)
	}
	// Polling every claimPoll for wait: a few rounds of two calls, not a spin.
	if max := 2 * (int64(wait/claimPoll) + 2); rs.calls.Load() > max {
		t.Fatalf("Claim made %d store calls in its wait, want at most %d (a poll, not a spin)", rs.calls.Load(), max)
	}
}
