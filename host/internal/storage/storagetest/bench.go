package storagetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/storage"
)

// Bench measures the store calls on SMS+'s hot paths, each with one client and with
// 32 concurrent clients:
//
//   - hook/user_create and hook/challenge_create: the writes of an IAM hook
//     (Create of a user record and of a challenge with its TTL);
//   - hook/batch and hook/calls: a new user's whole hook, as one batch and the
//     answer's Put, and as one call per operation (as before batches);
//   - verify/incr and verify/take: the verify path (a per-challenge failure counter
//     and the consume-once read of the challenge).
//
// Besides ns/op it reports ops/s (all clients together) and the p50 and p99 latency
// of one call in microseconds. newStore is called once; keys never repeat, so runs
// with a growing b.N share the store.
func Bench(b *testing.B, newStore func(tb testing.TB) storage.Store) {
	s := newStore(b)
	run := rand.Uint64()
	var seq atomic.Uint64
	key := func(kind string) string { return fmt.Sprintf("%s-%x-%d", kind, run, seq.Add(1)) }
	user := make([]byte, 256)
	challenge := make([]byte, 512)

	for _, clients := range []int{1, 32} {
		b.Run(fmt.Sprintf("hook/user_create/clients=%d", clients), func(b *testing.B) {
			measure(b, clients, nil, func(ctx context.Context, _ int) error {
				return s.Create(ctx, storage.Users, key("u"), user, 0)
			})
		})
		b.Run(fmt.Sprintf("hook/challenge_create/clients=%d", clients), func(b *testing.B) {
			measure(b, clients, nil, func(ctx context.Context, _ int) error {
				return s.Create(ctx, storage.Challenges, key("c"), challenge, 15*time.Minute)
			})
		})
		// A whole hook's store work, for a new user: its batch (claim, the three
		// hourly caps, the user, the pending reset, the challenge; the global cap
		// is one hot counter), then the delivery's answer. calls is the same work
		// as one call per op, as a hook made it before batches.
		hook := func(ctx context.Context, batch bool) error {
			u, c := key("hu"), key("hc")
			ops := []storage.Op{
				{Kind: storage.OpCreate, NS: storage.Deliveries, Key: "d" + u, Value: []byte("{}"), TTL: 30 * time.Second, Stop: true},
				{Kind: storage.OpIncr, NS: storage.SMSRate, Key: u, TTL: time.Hour, Stop: true, Limit: 1 << 40},
				{Kind: storage.OpIncr, NS: storage.SMSRangeRate, Key: "r" + u, TTL: time.Hour, Stop: true, Limit: 1 << 40},
				{Kind: storage.OpIncr, NS: storage.SMSGlobalRate, Key: fmt.Sprintf("all-%x", run), TTL: time.Hour, Stop: true, Limit: 1 << 40},
				{Kind: storage.OpCreate, NS: storage.Users, Key: u, Value: user},
				{Kind: storage.OpGet, NS: storage.PendingResets, Key: u},
				{Kind: storage.OpCreate, NS: storage.Challenges, Key: c, Value: challenge, TTL: 15 * time.Minute},
			}
			var err error
			if batch {
				_, err = storage.Run(ctx, s, ops)
			} else {
				_, err = storage.Sequential(ctx, s, ops)
			}
			if err != nil {
				return err
			}
			return s.Put(ctx, storage.Deliveries, "d"+u, []byte(`{"done":true}`), 15*time.Minute)
		}
		for _, mode := range []string{"batch", "calls"} {
			b.Run(fmt.Sprintf("hook/%s/clients=%d", mode, clients), func(b *testing.B) {
				measure(b, clients, nil, func(ctx context.Context, _ int) error { return hook(ctx, mode == "batch") })
			})
		}
		b.Run(fmt.Sprintf("verify/incr/clients=%d", clients), func(b *testing.B) {
			// A few attempts per challenge, as on the verify path: 1024 live counters.
			base := key("f")
			measure(b, clients, nil, func(ctx context.Context, i int) error {
				_, err := s.Incr(ctx, storage.ChallengeFailures, fmt.Sprintf("%s-%d", base, i%1024), 16*time.Minute)
				return err
			})
		})
		b.Run(fmt.Sprintf("verify/take/clients=%d", clients), func(b *testing.B) {
			base := key("t")
			prep := func(ctx context.Context, i int) error {
				return s.Put(ctx, storage.Challenges, fmt.Sprintf("%s-%d", base, i), challenge, 15*time.Minute)
			}
			measure(b, clients, prep, func(ctx context.Context, i int) error {
				_, err := s.Take(ctx, storage.Challenges, fmt.Sprintf("%s-%d", base, i))
				return err
			})
		})
	}
}

// BenchIncr measures Incr alone, on the counters SMS+ has: a new counter each time
// (a first failure, a new phone's text counter), live counters that few callers
// share (1 and 32 clients over 1024 counters), and one hot counter that 32 clients
// increment at once (a global budget).
func BenchIncr(b *testing.B, newStore func(tb testing.TB) storage.Store) {
	s := newStore(b)
	run := rand.Uint64()
	var seq atomic.Uint64
	incr := func(ctx context.Context, key string) error {
		_, err := s.Incr(ctx, storage.UserFailures, key, time.Hour)
		return err
	}
	b.Run("new", func(b *testing.B) {
		measure(b, 1, nil, func(ctx context.Context, _ int) error {
			return incr(ctx, fmt.Sprintf("new-%x-%d", run, seq.Add(1)))
		})
	})
	for _, clients := range []int{1, 32} {
		b.Run(fmt.Sprintf("live/clients=%d", clients), func(b *testing.B) {
			base := fmt.Sprintf("live-%x-%d", run, seq.Add(1))
			measure(b, clients, func(ctx context.Context, i int) error {
				if i >= 1024 {
					return nil
				}
				return incr(ctx, fmt.Sprintf("%s-%d", base, i))
			}, func(ctx context.Context, i int) error {
				return incr(ctx, fmt.Sprintf("%s-%d", base, i%1024))
			})
		})
	}
	b.Run("hot/clients=32", func(b *testing.B) {
		key := fmt.Sprintf("hot-%x-%d", run, seq.Add(1))
		measure(b, 32, nil, func(ctx context.Context, _ int) error { return incr(ctx, key) })
	})
}

// measure runs op b.N times from clients goroutines, after running prep (untimed)
// for every i, and reports throughput and latency percentiles.
func measure(b *testing.B, clients int, prep, op func(ctx context.Context, i int) error) {
	ctx := b.Context()
	if prep != nil {
		b.StopTimer()
		spread(b, b.N, 32, func(i int) error { return prep(ctx, i) })
		b.StartTimer()
	}
	lat := make([][]time.Duration, clients)
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				if err := op(ctx, int(i)); err != nil {
					b.Errorf("call %d: %v", i, err)
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()

	all := slices.Concat(lat...)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p int) float64 {
		i := (len(all)*p+99)/100 - 1
		return float64(all[max(i, 0)]) / float64(time.Microsecond)
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "ops/s")
	b.ReportMetric(pct(50), "p50-µs")
	b.ReportMetric(pct(99), "p99-µs")
}

// spread runs f(0..n-1) on workers goroutines and fails b on the first error.
func spread(b *testing.B, n, workers int, f func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if err := f(int(i)); err != nil {
					b.Errorf("prepare %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}
