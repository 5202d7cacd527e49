package redis

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/host/internal/storage/storagetest"
)

// The servers .ci/services.sh starts: a single server (a URL), a three-primary
// cluster (seed addresses) and a primary watched by one Sentinel.
const (
	envSingle         = "SMSPLUS_TEST_REDIS_URL"
	envCluster        = "SMSPLUS_TEST_REDIS_CLUSTER_ADDRS"
	envSentinel       = "SMSPLUS_TEST_REDIS_SENTINEL_ADDRS"
	envSentinelMaster = "SMSPLUS_TEST_REDIS_SENTINEL_MASTER"
)

func singleOptions(tb testing.TB) Options {
	tb.Helper()
	o, err := goredis.ParseURL(storagetest.ServerEnv(tb, envSingle))
	if err != nil {
		tb.Fatalf("%s: %v", envSingle, err)
	}
	return Options{Addrs: []string{o.Addr}, Username: o.Username, Password: o.Password, DB: o.DB, TLS: o.TLSConfig}
}

func clusterOptions(tb testing.TB) Options {
	tb.Helper()
	return Options{Addrs: strings.Split(storagetest.ServerEnv(tb, envCluster), ","), Cluster: true}
}

func sentinelOptions(tb testing.TB) Options {
	tb.Helper()
	addrs := strings.Split(storagetest.ServerEnv(tb, envSentinel), ",")
	return Options{Addrs: addrs, MasterName: storagetest.ServerEnv(tb, envSentinelMaster)}
}

// open opens a store with a prefix of its own and deletes its keys when the test ends.
func open(tb testing.TB, o Options) *Store {
	tb.Helper()
	if o.KeyPrefix == "" {
		o.KeyPrefix = "smsplus-test-" + rand.Text()[:10] + ":"
	}
	o.Log = slog.New(slog.DiscardHandler)
	s, err := Open(tb.Context(), o)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := deletePrefix(ctx, s.c, o.KeyPrefix); err != nil {
			tb.Errorf("delete test keys: %v", err)
		}
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// deletePrefix deletes every key under prefix, on every primary of a cluster.
func deletePrefix(ctx context.Context, c goredis.UniversalClient, prefix string) error {
	clean := func(ctx context.Context, c *goredis.Client) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, prefix+"*", 1000).Result()
			if err != nil {
				return err
			}
			// One UNLINK per key, pipelined: in a cluster a multi-key call must stay in one slot.
			if _, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
				for _, k := range keys {
					p.Unlink(ctx, k)
				}
				return nil
			}); err != nil {
				return err
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	switch c := c.(type) {
	case *goredis.ClusterClient:
		return c.ForEachMaster(ctx, clean)
	case *goredis.Client:
		return clean(ctx, c)
	}
	return fmt.Errorf("unexpected client %T", c)
}

// replicas opens more stores on the data of one (the same servers and key prefix).
func replicas(o Options) storagetest.Option {
	return storagetest.Replicas(func(t *testing.T, s storage.Store) storage.Store {
		o.KeyPrefix = s.(*Store).prefix
		return open(t, o)
	})
}

func TestConformance(t *testing.T) {
	t.Parallel()
	o := singleOptions(t)
	storagetest.Run(t, func(t *testing.T) storage.Store { return open(t, o) }, replicas(o))
}

func TestConformanceCluster(t *testing.T) {
	t.Parallel()
	o := clusterOptions(t)
	storagetest.Run(t, func(t *testing.T) storage.Store { return open(t, o) }, replicas(o))
}

func TestConformanceSentinel(t *testing.T) {
	t.Parallel()
	o := sentinelOptions(t)
	storagetest.Run(t, func(t *testing.T) storage.Store { return open(t, o) }, replicas(o))
}

// The documented layout: one string key per record, <prefix><ns>:{<key>}, with the
// record's TTL as the key's own expiry.
func TestKeyLayout(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := open(t, singleOptions(t))
	if err := s.Put(ctx, storage.Challenges, "cid/1", []byte("sealed"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Incr(ctx, storage.ChallengeFailures, "cid/1", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, storage.Users, "forever", []byte("u"), 0); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		key     string
		value   string
		ttlLow  time.Duration
		ttlHigh time.Duration
	}{
		{s.prefix + "challenge:{cid/1}", "sealed", 50 * time.Second, time.Minute},
		{s.prefix + "challenge_failures:{cid/1}", "1", 20 * time.Second, 30 * time.Second},
		{s.prefix + "user:{forever}", "u", -1, -1}, // PTTL -1: no expiry
	}
	for _, c := range checks {
		v, err := s.c.Get(ctx, c.key).Result()
		if err != nil || v != c.value {
			t.Errorf("GET %s = %q, %v; want %q", c.key, v, err, c.value)
		}
		ttl, err := s.c.PTTL(ctx, c.key).Result()
		if c.ttlLow < 0 {
			// go-redis reports PTTL -1 as a duration of -1 (not milliseconds).
			if err != nil || ttl != -1 {
				t.Errorf("PTTL %s = %v, %v; want no expiry", c.key, ttl, err)
			}
			continue
		}
		if err != nil || ttl < c.ttlLow || ttl > c.ttlHigh {
			t.Errorf("PTTL %s = %v, %v; want in [%v, %v]", c.key, ttl, err, c.ttlLow, c.ttlHigh)
		}
	}
	// An Incr late in the window must not move the expiry (PEXPIRE only on creation).
	if err := s.c.PExpire(ctx, s.prefix+"challenge_failures:{cid/1}", 5*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Incr(ctx, storage.ChallengeFailures, "cid/1", time.Hour); err != nil || n != 2 {
		t.Fatalf("Incr = %d, %v; want 2", n, err)
	}
	if ttl, err := s.c.PTTL(ctx, s.prefix+"challenge_failures:{cid/1}").Result(); err != nil || ttl > 5*time.Second {
		t.Errorf("PTTL after a second Incr = %v, %v; want the first window (≤ 5s) kept", ttl, err)
	}
}

// In a cluster, the records of one key in every namespace hash to one slot (asked
// of the cluster itself with CLUSTER KEYSLOT), while different keys spread out.
func TestClusterHashTags(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := open(t, clusterOptions(t))
	cc := s.c.(*goredis.ClusterClient)
	slot := func(k string) int64 {
		t.Helper()
		n, err := cc.ClusterKeySlot(ctx, k).Result()
		if err != nil {
			t.Fatalf("CLUSTER KEYSLOT: %v", err)
		}
		return n
	}
	namespaces := []storage.Namespace{
		storage.Users, storage.Challenges, storage.ChallengeFailures, storage.UserFailures,
		storage.Lockouts, storage.Tokens, storage.PendingResets, storage.Profiles,
	}
	slots := map[int64]bool{}
	for i := range 64 {
		key := fmt.Sprintf("cid-%d", i)
		if i%8 == 7 {
			key += "}{x" // braces inside a key: the tag still depends on the key only
		}
		want := slot(Key(s.prefix, namespaces[0], key))
		slots[want] = true
		for _, ns := range namespaces[1:] {
			if got := slot(Key(s.prefix, ns, key)); got != want {
				t.Errorf("slot of %s/%q = %d, of %s/%q = %d; want the same", namespaces[0], key, want, ns, key, got)
			}
		}
	}
	if len(slots) < 32 {
		t.Errorf("64 keys landed in %d slots: the hash tag does not spread keys", len(slots))
	}

	// Every namespace of one key works in one cluster; the three primaries all hold keys.
	for i := range 64 {
		key := fmt.Sprintf("k%d", i)
		if err := s.Put(ctx, storage.Challenges, key, []byte("c"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Incr(ctx, storage.ChallengeFailures, key, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	var holders atomic.Int32
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
		keys, _, err := c.Scan(ctx, 0, s.prefix+"*", 1000).Result()
		if len(keys) > 0 {
			holders.Add(1)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if holders.Load() < 2 {
		t.Errorf("keys on %d primaries, want them spread over several", holders.Load())
	}
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	refused := storagetest.ClosedAddr(t)
	silent := storagetest.SilentAddr(t)
	tests := map[string]Options{
		"connection refused":   {Addrs: []string{refused}},
		"server never answers": {Addrs: []string{silent}},
		"cluster refused":      {Addrs: []string{refused, refused}, Cluster: true},
	}
	for name, o := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o.DialTimeout = time.Second
			o.Log = slog.New(slog.DiscardHandler)
			start := time.Now()
			s, err := Open(t.Context(), o)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("Open gave up after %s, want about the 1s dial timeout", elapsed)
			}
			if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), o.Addrs[0]) {
				t.Errorf("Open = %v, want ErrUnavailable naming the address", err)
			}
		})
	}
}

func TestOpenDoesNotLeakPassword(t *testing.T) {
	t.Parallel()
	const secret = "hunter2-very-secret"
	_, err := Open(t.Context(), Options{Addrs: []string{storagetest.ClosedAddr(t)}, Password: secret, DialTimeout: 500 * time.Millisecond,
		Log: slog.New(slog.DiscardHandler)})
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("Open = %v; want an error without the password", err)
	}
}

// A store whose server goes silent, then away, answers every call with
// storage.ErrUnavailable within the caller's deadline.
func TestServerGoesAway(t *testing.T) {
	t.Parallel()
	o := singleOptions(t)
	direct := open(t, o) // deletes the test's keys at the end, when the proxy is gone
	proxy := storagetest.NewProxy(t, o.Addrs[0])
	o.Addrs = []string{proxy.Addr()}
	o.KeyPrefix = direct.prefix
	o.Log = slog.New(slog.DiscardHandler)
	s, err := Open(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Put(t.Context(), storage.Users, "u", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	proxy.Blackhole()
	storagetest.Unreachable(t, s, time.Second)
	proxy.Down()
	storagetest.Unreachable(t, s, time.Second)
}

func TestTTLRounding(t *testing.T) {
	t.Parallel()
	tests := map[time.Duration]time.Duration{
		0:                            0,
		time.Nanosecond:              time.Millisecond,
		time.Millisecond:             time.Millisecond,
		1500 * time.Microsecond:      2 * time.Millisecond,
		time.Second:                  time.Second,
		time.Duration(1<<63 - 1):     maxTTL,
		maxTTL + 1:                   maxTTL,
		15*time.Minute + time.Minute: 16 * time.Minute,
	}
	for in, want := range tests {
		if got := pxTTL(in); got != want {
			t.Errorf("pxTTL(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestKeyNeverCollides(t *testing.T) {
	t.Parallel()
	pairs := [][2]string{{"ab", "c:d"}, {"ab_c", "d"}, {"ab", "c}:{d"}, {"a", "b:{c}"}, {"a_b", "c"}}
	seen := map[string]int{}
	for i, p := range pairs {
		k := Key("p:", storage.Namespace(p[0]), p[1])
		if j, dup := seen[k]; dup {
			t.Errorf("%v and %v share the key %q", pairs[j], p, k)
		}
		seen[k] = i
	}
	if got := Key("smsplus:", storage.Users, "abc"); got != "smsplus:user:{abc}" {
		t.Errorf("Key = %q", got)
	}
}

func TestValuesRoundTripBinary(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := open(t, singleOptions(t))
	v := []byte{0, 1, 2, 0xff, '\r', '\n', '$', '*'}
	if err := s.Put(ctx, storage.Audit, "bin", v, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := s.Take(ctx, storage.Audit, "bin")
	if err != nil || !bytes.Equal(got, v) {
		t.Errorf("Take = %q, %v; want %q", got, err, v)
	}
}

func TestRecordIsNotACounter(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := open(t, singleOptions(t))
	if err := s.Put(ctx, storage.Users, "k", []byte("abc"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Incr(ctx, storage.Users, "k", 0); err == nil || errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Incr of a record = %v, want a data error that is not ErrUnavailable", err)
	}
	if _, err := s.Count(ctx, storage.Users, "k"); err == nil || errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Count of a record = %v, want a data error that is not ErrUnavailable", err)
	}
}

func BenchmarkStore(b *testing.B) {
	o := singleOptions(b)
	storagetest.Bench(b, func(tb testing.TB) storage.Store { return open(tb, o) })
}

func BenchmarkStoreCluster(b *testing.B) {
	o := clusterOptions(b)
	storagetest.Bench(b, func(tb testing.TB) storage.Store { return open(tb, o) })
}
