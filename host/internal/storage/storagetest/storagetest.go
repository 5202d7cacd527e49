// Package storagetest is the conformance suite every storage backend runs, so that
// embedded, Redis, MongoDB and Firestore behave the same way behind storage.Store.
//
// It uses real time only: server backends expire records on their own clock, which
// a fake clock cannot move. TTLs are short and the slow tests run in parallel, so the
// whole suite takes about three seconds against a local backend.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/storage"
)

const (
	// ttl is short enough to keep the suite fast and long enough that a record
	// written and read back at once is still live on a slow CI machine. (300 ms was
	// not: with the whole `make test` on 2 cores, a FerretDB write and read took
	// longer.)
	ttl = time.Second
	// pastTTL is how long to sleep for a ttl record to be certainly expired.
	pastTTL = ttl + 300*time.Millisecond

	workers = 64
)

// Option adjusts a Run.
type Option func(*runConfig)

type check struct {
	name string
	test func(t *testing.T, s storage.Store)
}

type runConfig struct {
	skip    map[string]string // check name -> reason
	replica func(t *testing.T, s storage.Store) storage.Store
}

// Skip skips one check of the suite, by its subtest name (e.g. "incr_concurrent"),
// with the reason printed in the test output. It is meant for a test server that
// lacks a guarantee the production server gives (FerretDB's concurrent $inc), never
// to hide a backend bug: the same check must pass against another server.
func Skip(name, reason string) Option {
	return func(c *runConfig) { c.skip[name] = reason }
}

// Replicas lets the suite race several SMS+ replicas on one backend: replica(t, s)
// opens another Store on the same data as s, with its own connections (it must
// register its own cleanup). Without it the replica checks skip: a backend that
// serves one process (embedded, memory) has no replicas.
func Replicas(replica func(t *testing.T, s storage.Store) storage.Store) Option {
	return func(c *runConfig) { c.replica = replica }
}

// Run runs the conformance suite against stores made by newStore. Each subtest gets
// a fresh, empty store; newStore must register its own cleanup (t.Cleanup) to close
// it. Subtests run in parallel, and Run returns when all of them have finished.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store, opts ...Option) {
	t.Helper()
	cfg := runConfig{skip: map[string]string{}}
	for _, o := range opts {
		o(&cfg)
	}
	tests := []check{
		{"put_get_delete", testPutGetDelete},
		{"get_missing", testGetMissing},
		{"namespaces_isolated", testNamespacesIsolated},
		{"namespaces_accepted", testNamespacesAccepted},
		{"put_replaces", testPutReplaces},
		{"binary_values", testBinaryValues},
		{"caller_owns_slices", testCallerOwnsSlices},
		{"keys", testKeys},
		{"create", testCreate},
		{"create_after_expiry", testCreateAfterExpiry},
		{"create_concurrent", testCreateConcurrent},
		{"expiry_invisible_at_once", testExpiry},
		{"take", testTake},
		{"take_concurrent", testTakeConcurrent},
		{"incr", testIncr},
		{"incr_concurrent", testIncrConcurrent},
		{"incr_reservations", testIncrReservations},
		{"incr_restart_concurrent", testIncrRestartConcurrent},
		{"incr_replicas", func(t *testing.T, s storage.Store) { testIncrReplicas(t, s, cfg.replica) }},
		{"take_replicas", func(t *testing.T, s storage.Store) { testTakeReplicas(t, s, cfg.replica) }},
		{"incr_fixed_window", testIncrFixedWindow},
		{"cancelled_context", testCancelledContext},
		{"invalid_arguments", testInvalidArguments},
		{"ping", testPing},
		{"batch_ops", testBatchOps},
		{"batch_stop", testBatchStop},
		{"batch_if_existed", testBatchIfExisted},
		{"batch_expiry", testBatchExpiry},
		{"batch_concurrent", testBatchConcurrent},
		{"batch_invalid", testBatchInvalid},
	}
	for name := range cfg.skip {
		if !slices.ContainsFunc(tests, func(c check) bool { return c.name == name }) {
			t.Fatalf("storagetest.Skip(%q): no such check", name)
		}
	}
	// The group makes Run wait for the parallel subtests, so a caller may defer.
	t.Run("conformance", func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if reason, ok := cfg.skip[tc.name]; ok {
					t.Skip(reason)
				}
				t.Parallel()
				tc.test(t, newStore(t))
			})
		}
	})
}

func testPutGetDelete(t *testing.T, s storage.Store) {
	ctx := t.Context()
	put(t, s, storage.Users, "alice", []byte("v1"), 0)
	wantValue(t, s, storage.Users, "alice", []byte("v1"))

	if err := s.Delete(ctx, storage.Users, "alice"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantMissing(t, s, storage.Users, "alice")

	if err := s.Delete(ctx, storage.Users, "alice"); err != nil {
		t.Errorf("Delete of a deleted key = %v, want nil", err)
	}
	if err := s.Delete(ctx, storage.Tokens, "never-written"); err != nil {
		t.Errorf("Delete in an unused namespace = %v, want nil", err)
	}
}

func testGetMissing(t *testing.T, s storage.Store) {
	wantMissing(t, s, storage.Profiles, "nobody") // namespace never used
	put(t, s, storage.Profiles, "somebody", []byte("x"), 0)
	wantMissing(t, s, storage.Profiles, "nobody") // namespace in use
	wantMissing(t, s, storage.Profiles, "somebod")
	wantMissing(t, s, storage.Profiles, "somebody2")
}

func testNamespacesIsolated(t *testing.T, s storage.Store) {
	ctx := t.Context()
	put(t, s, storage.Users, "k", []byte("user"), 0)
	put(t, s, storage.Tokens, "k", []byte("token"), 0)
	wantValue(t, s, storage.Users, "k", []byte("user"))
	wantValue(t, s, storage.Tokens, "k", []byte("token"))

	if err := s.Delete(ctx, storage.Users, "k"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantMissing(t, s, storage.Users, "k")
	wantValue(t, s, storage.Tokens, "k", []byte("token"))

	// Backends that join namespace and key into one string must not let these collide.
	pairs := []struct {
		ns  storage.Namespace
		key string
	}{
		{"ab", "c_d"}, {"ab_c", "d"}, {"ab", "_c_d"}, {"ab_", "c_d"}, {"ab", "c:d"}, {"ab", "c/d"},
	}
	for i, p := range pairs {
		put(t, s, p.ns, p.key, fmt.Appendf(nil, "%d", i), 0)
	}
	for i, p := range pairs {
		wantValue(t, s, p.ns, p.key, fmt.Appendf(nil, "%d", i))
	}

	for _, ns := range []storage.Namespace{storage.ChallengeFailures, storage.UserFailures} {
		if _, err := s.Incr(ctx, ns, "k", 0); err != nil {
			t.Fatalf("Incr %s: %v", ns, err)
		}
	}
	if _, err := s.Incr(ctx, storage.ChallengeFailures, "k", 0); err != nil {
		t.Fatalf("Incr: %v", err)
	}
	wantCount(t, s, storage.ChallengeFailures, "k", 2)
	wantCount(t, s, storage.UserFailures, "k", 1)
}

func testNamespacesAccepted(t *testing.T, s storage.Store) {
	// storage.go promises any [a-z][a-z0-9_]* up to 64 characters, not just today's names.
	namespaces := []storage.Namespace{
		storage.Users, storage.Challenges, storage.ChallengeFailures, storage.UserFailures,
		storage.Lockouts, storage.Tokens, storage.PendingResets, storage.Profiles, storage.Audit,
		"a", "a1", "a_", "z9_z9", storage.Namespace("n" + strings.Repeat("x", 63)),
	}
	for _, ns := range namespaces {
		put(t, s, ns, "k", []byte(ns), 0)
	}
	for _, ns := range namespaces {
		wantValue(t, s, ns, "k", []byte(ns))
	}
}

func testPutReplaces(t *testing.T, s storage.Store) {
	put(t, s, storage.Users, "k", []byte("first"), 0)
	put(t, s, storage.Users, "k", []byte("second"), 0)
	wantValue(t, s, storage.Users, "k", []byte("second"))

	// Put replaces the expiry too, in both directions.
	put(t, s, storage.Users, "was_short", []byte("a"), ttl)
	put(t, s, storage.Users, "was_short", []byte("b"), 0)
	put(t, s, storage.Users, "was_forever", []byte("c"), 0)
	put(t, s, storage.Users, "was_forever", []byte("d"), ttl)
	wantValue(t, s, storage.Users, "was_forever", []byte("d"))
	time.Sleep(pastTTL)
	wantValue(t, s, storage.Users, "was_short", []byte("b"))
	wantMissing(t, s, storage.Users, "was_forever")
}

func binaryValues() map[string][]byte {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := make([]byte, 64<<10)
	x := uint32(2463534242)
	for i := range big {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		big[i] = byte(x)
	}
	return map[string][]byte{
		"empty":        {},
		"nil":          nil,
		"zero":         {0},
		"zeros":        {0, 0, 0, 0},
		"inner_zero":   []byte("a\x00b"),
		"all_bytes":    all,
		"invalid_utf8": {0xff, 0xfe, 0xc3, 0x28},
		"newlines":     []byte("\r\n\n"),
		"big":          big,
	}
}

func testBinaryValues(t *testing.T, s storage.Store) {
	ctx := t.Context()
	for name, v := range binaryValues() {
		put(t, s, storage.Challenges, "put_"+name, v, 0)
		if err := s.Create(ctx, storage.Challenges, "create_"+name, v, time.Hour); err != nil {
			t.Fatalf("Create %s: %v", name, err)
		}
	}
	for name, v := range binaryValues() {
		wantValue(t, s, storage.Challenges, "put_"+name, v)
		got, err := s.Take(ctx, storage.Challenges, "create_"+name)
		if err != nil {
			t.Errorf("Take %s: %v", name, err)
		} else if !bytes.Equal(got, v) {
			t.Errorf("Take %s = %q (%d bytes), want %q (%d bytes)", name, clip(got), len(got), clip(v), len(v))
		}
	}
}

func testCallerOwnsSlices(t *testing.T, s storage.Store) {
	ctx := t.Context()
	in := []byte("original")
	put(t, s, storage.Users, "k", in, 0)
	copy(in, "XXXXXXXX")
	wantValue(t, s, storage.Users, "k", []byte("original"))

	got, err := s.Get(ctx, storage.Users, "k")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	copy(got, "YYYYYYYY")
	wantValue(t, s, storage.Users, "k", []byte("original"))
}

func testKeys(t *testing.T, s storage.Store) {
	// Keys are opaque strings: backends with restricted IDs (Firestore) must encode them.
	keys := []string{
		"a", "A", "with/slash", "/", "with space", "dot.", ".", "..", "__reserved__",
		"ünïcödé", "emoji 🔑", "tab\tkey", "+15551234567", "a:b", "a:b:",
		strings.Repeat("k", 512),
	}
	for i, k := range keys {
		put(t, s, storage.Tokens, k, fmt.Appendf(nil, "%d", i), 0)
	}
	for i, k := range keys {
		wantValue(t, s, storage.Tokens, k, fmt.Appendf(nil, "%d", i))
	}
}

func testCreate(t *testing.T, s storage.Store) {
	ctx := t.Context()
	if err := s.Create(ctx, storage.Challenges, "c", []byte("first"), 0); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := s.Create(ctx, storage.Challenges, "c", []byte("second"), 0); !errors.Is(err, storage.ErrExists) {
		t.Errorf("second Create = %v, want ErrExists", err)
	}
	wantValue(t, s, storage.Challenges, "c", []byte("first"))

	if err := s.Delete(ctx, storage.Challenges, "c"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := s.Create(ctx, storage.Challenges, "c", []byte("third"), 0); err != nil {
		t.Errorf("Create after Delete: %v", err)
	}
	wantValue(t, s, storage.Challenges, "c", []byte("third"))

	put(t, s, storage.Challenges, "p", []byte("put"), 0)
	if err := s.Create(ctx, storage.Challenges, "p", []byte("create"), 0); !errors.Is(err, storage.ErrExists) {
		t.Errorf("Create over a Put record = %v, want ErrExists", err)
	}
}

func testCreateAfterExpiry(t *testing.T, s storage.Store) {
	ctx := t.Context()
	if err := s.Create(ctx, storage.Challenges, "c", []byte("old"), ttl); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := s.Create(ctx, storage.Challenges, "c", []byte("early"), 0); !errors.Is(err, storage.ErrExists) {
		t.Errorf("Create before expiry = %v, want ErrExists", err)
	}
	time.Sleep(pastTTL)
	if err := s.Create(ctx, storage.Challenges, "c", []byte("new"), 0); err != nil {
		t.Fatalf("Create after expiry = %v, want nil", err)
	}
	// The new record has the new ttl (none), not the expired one's.
	wantValue(t, s, storage.Challenges, "c", []byte("new"))
}

func testCreateConcurrent(t *testing.T, s storage.Store) {
	errs := concurrently(workers, func(i int) error {
		return s.Create(t.Context(), storage.Tokens, "once", fmt.Appendf(nil, "%d", i), 0)
	})
	won, lost := -1, 0
	for i, err := range errs {
		switch {
		case err == nil && won < 0:
			won = i
		case err == nil:
			t.Errorf("Create by worker %d also succeeded after worker %d", i, won)
		case errors.Is(err, storage.ErrExists):
			lost++
		default:
			t.Errorf("Create by worker %d: %v", i, err)
		}
	}
	if won < 0 || lost != workers-1 {
		t.Fatalf("%d concurrent Create: winner %d, %d ErrExists; want one winner and %d ErrExists", workers, won, lost, workers-1)
	}
	wantValue(t, s, storage.Tokens, "once", fmt.Appendf(nil, "%d", won))
}

func testExpiry(t *testing.T, s storage.Store) {
	ctx := t.Context()
	put(t, s, storage.Challenges, "get", []byte("v"), ttl)
	put(t, s, storage.Challenges, "take", []byte("v"), ttl)
	if err := s.Create(ctx, storage.Challenges, "created", []byte("v"), ttl); err != nil {
		t.Fatalf("Create: %v", err)
	}
	put(t, s, storage.Challenges, "forever", []byte("v"), 0)
	put(t, s, storage.Challenges, "hour", []byte("v"), time.Hour)
	for range 2 {
		if _, err := s.Incr(ctx, storage.ChallengeFailures, "counter", ttl); err != nil {
			t.Fatalf("Incr: %v", err)
		}
	}
	// Live before the ttl, so that "absent" below is caused by expiry.
	wantValue(t, s, storage.Challenges, "get", []byte("v"))
	wantValue(t, s, storage.Challenges, "take", []byte("v"))
	wantValue(t, s, storage.Challenges, "created", []byte("v"))
	wantCount(t, s, storage.ChallengeFailures, "counter", 2)

	time.Sleep(pastTTL)

	wantMissing(t, s, storage.Challenges, "get")
	wantMissing(t, s, storage.Challenges, "created")
	if v, err := s.Take(ctx, storage.Challenges, "take"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Take of expired record = %q, %v; want ErrNotFound", v, err)
	}
	wantCount(t, s, storage.ChallengeFailures, "counter", 0)
	wantValue(t, s, storage.Challenges, "forever", []byte("v"))
	wantValue(t, s, storage.Challenges, "hour", []byte("v"))
	if n, err := s.Incr(ctx, storage.ChallengeFailures, "counter", ttl); err != nil || n != 1 {
		t.Errorf("Incr of expired counter = %d, %v; want 1", n, err)
	}
}

func testTake(t *testing.T, s storage.Store) {
	ctx := t.Context()
	put(t, s, storage.Tokens, "t", []byte("secret"), time.Hour)
	got, err := s.Take(ctx, storage.Tokens, "t")
	if err != nil || !bytes.Equal(got, []byte("secret")) {
		t.Fatalf("Take = %q, %v; want %q", got, err, "secret")
	}
	if got, err := s.Take(ctx, storage.Tokens, "t"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("second Take = %q, %v; want ErrNotFound", got, err)
	}
	wantMissing(t, s, storage.Tokens, "t")
	if got, err := s.Take(ctx, storage.PendingResets, "never"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Take in unused namespace = %q, %v; want ErrNotFound", got, err)
	}
}

func testTakeConcurrent(t *testing.T, s storage.Store) {
	for round := range 3 {
		key := fmt.Sprintf("t%d", round)
		put(t, s, storage.Tokens, key, []byte(key), 0)
		var (
			mu  sync.Mutex
			got [][]byte
		)
		errs := concurrently(workers, func(int) error {
			v, err := s.Take(t.Context(), storage.Tokens, key)
			if err == nil {
				mu.Lock()
				got = append(got, v)
				mu.Unlock()
			}
			return err
		})
		notFound := 0
		for _, err := range errs {
			switch {
			case err == nil:
			case errors.Is(err, storage.ErrNotFound):
				notFound++
			default:
				t.Errorf("Take: %v", err)
			}
		}
		if len(got) != 1 || notFound != workers-1 {
			t.Fatalf("round %d: %d concurrent Take: %d winners, %d ErrNotFound; want 1 and %d", round, workers, len(got), notFound, workers-1)
		}
		if !bytes.Equal(got[0], []byte(key)) {
			t.Errorf("round %d: winner got %q, want %q", round, got[0], key)
		}
	}
}

func testIncr(t *testing.T, s storage.Store) {
	ctx := t.Context()
	wantCount(t, s, storage.UserFailures, "u", 0) // namespace never used
	for want := int64(1); want <= 3; want++ {
		n, err := s.Incr(ctx, storage.UserFailures, "u", time.Hour)
		if err != nil || n != want {
			t.Fatalf("Incr = %d, %v; want %d", n, err, want)
		}
	}
	wantCount(t, s, storage.UserFailures, "u", 3)
	wantCount(t, s, storage.UserFailures, "other", 0) // namespace in use
	if n, err := s.Incr(ctx, storage.UserFailures, "other", 0); err != nil || n != 1 {
		t.Errorf("Incr of another key = %d, %v; want 1", n, err)
	}
	wantCount(t, s, storage.UserFailures, "u", 3)

	if err := s.Delete(ctx, storage.UserFailures, "u"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantCount(t, s, storage.UserFailures, "u", 0)
	if n, err := s.Incr(ctx, storage.UserFailures, "u", time.Hour); err != nil || n != 1 {
		t.Errorf("Incr after Delete = %d, %v; want 1", n, err)
	}
}

func testIncrConcurrent(t *testing.T, s storage.Store) {
	const per = 10
	var (
		mu   sync.Mutex
		seen = make(map[int64]int)
	)
	errs := concurrently(workers, func(int) error {
		for range per {
			n, err := s.Incr(t.Context(), storage.ChallengeFailures, "c", time.Hour)
			if err != nil {
				return err
			}
			mu.Lock()
			seen[n]++
			mu.Unlock()
		}
		return nil
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("Incr: %v", err)
		}
	}
	const total = workers * per
	for n := int64(1); n <= total; n++ {
		if seen[n] != 1 {
			t.Errorf("Incr returned %d %d times, want once", n, seen[n])
		}
	}
	if len(seen) != total {
		t.Errorf("Incr returned %d distinct values, want %d", len(seen), total)
	}
	wantCount(t, s, storage.ChallengeFailures, "c", total)
}

// testIncrReservations models the per-user lockout: every attempt first reserves
// its place with Incr and is scored only when the value it got is within the limit.
// However many attempts race, on one key or on several at once (a user's several
// links, several users), exactly limit of them per key may go ahead, and the values
// handed out are 1..n, each exactly once.
func testIncrReservations(t *testing.T, s storage.Store) {
	for _, r := range []struct{ keys, per int }{{1, workers}, {4, workers / 2}, {16, 8}} {
		reserve(t, []storage.Store{s}, r.keys, r.per)
	}
}

// testIncrReplicas is testIncrReservations with the attempts spread over several
// replicas of SMS+ sharing the backend, each with its own connections.
func testIncrReplicas(t *testing.T, s storage.Store, replica func(*testing.T, storage.Store) storage.Store) {
	if replica == nil {
		t.Skip("this backend serves one process: no replicas to race")
	}
	stores := []storage.Store{s, replica(t, s), replica(t, s), replica(t, s)}
	for _, r := range []struct{ keys, per int }{{1, workers}, {4, workers / 2}} {
		reserve(t, stores, r.keys, r.per)
	}
}

// reserve races keys x per Incr, spread over stores, and checks the lockout
// guarantee on each key.
func reserve(t *testing.T, stores []storage.Store, keys, per int) {
	t.Helper()
	const limit = 5
	var (
		mu  sync.Mutex
		got = make(map[string][]int64)
	)
	keyOf := func(i int) string { return fmt.Sprintf("user-%d-of-%d", i%keys, keys) }
	errs := concurrently(keys*per, func(i int) error {
		n, err := stores[i%len(stores)].Incr(t.Context(), storage.UserFailures, keyOf(i), 15*time.Minute)
		if err == nil {
			mu.Lock()
			got[keyOf(i)] = append(got[keyOf(i)], n)
			mu.Unlock()
		}
		return err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("%d keys: Incr: %v", keys, err)
		}
	}
	where := fmt.Sprintf("%d keys x %d concurrent reservations", keys, per)
	if len(stores) > 1 {
		where += fmt.Sprintf(" from %d replicas", len(stores))
	}
	for k := range keys {
		key := keyOf(k)
		values := got[key]
		slices.Sort(values)
		allowed := 0
		for _, n := range values {
			if n <= limit {
				allowed++
			}
		}
		if allowed != limit {
			t.Errorf("%s: key %s let %d attempts through, want exactly %d (values %v)", where, key, allowed, limit, values)
		}
		if !slices.Equal(values, seq(per)) {
			t.Errorf("%s: key %s handed out %v, want each of 1..%d once", where, key, values, per)
		}
		for _, s := range stores {
			wantCount(t, s, storage.UserFailures, key, int64(per))
		}
	}
}

// testTakeReplicas: a record taken from several replicas at once is handed out once.
func testTakeReplicas(t *testing.T, s storage.Store, replica func(*testing.T, storage.Store) storage.Store) {
	if replica == nil {
		t.Skip("this backend serves one process: no replicas to race")
	}
	stores := []storage.Store{s, replica(t, s), replica(t, s), replica(t, s)}
	for round := range 3 {
		key := fmt.Sprintf("t%d", round)
		put(t, s, storage.Tokens, key, []byte(key), 0)
		var won atomic.Int32
		errs := concurrently(workers, func(i int) error {
			_, err := stores[i%len(stores)].Take(t.Context(), storage.Tokens, key)
			if err == nil {
				won.Add(1)
			}
			return err
		})
		for _, err := range errs {
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Take: %v", err)
			}
		}
		if won.Load() != 1 {
			t.Fatalf("round %d: %d concurrent Take from %d replicas: %d winners, want 1", round, workers, len(stores), won.Load())
		}
	}
}

// testIncrRestartConcurrent races many increments on a counter whose window has
// just ended: exactly one of them starts the new window (gets 1), and the others
// count on in that window, each value once.
func testIncrRestartConcurrent(t *testing.T, s storage.Store) {
	ctx := t.Context()
	for range 3 {
		if _, err := s.Incr(ctx, storage.ChallengeFailures, "c", ttl); err != nil {
			t.Fatalf("Incr: %v", err)
		}
	}
	time.Sleep(pastTTL)
	var (
		mu     sync.Mutex
		values []int64
	)
	errs := concurrently(workers, func(int) error {
		n, err := s.Incr(t.Context(), storage.ChallengeFailures, "c", time.Hour)
		if err == nil {
			mu.Lock()
			values = append(values, n)
			mu.Unlock()
		}
		return err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("Incr: %v", err)
		}
	}
	slices.Sort(values)
	if !slices.Equal(values, seq(workers)) {
		t.Errorf("%d concurrent Incr on an expired counter handed out %v, want each of 1..%d once", workers, values, workers)
	}
	wantCount(t, s, storage.ChallengeFailures, "c", workers)
}

// seq returns 1..n.
func seq(n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = int64(i + 1)
	}
	return s
}

func testIncrFixedWindow(t *testing.T, s storage.Store) {
	const window = 2 * ttl
	ctx := t.Context()
	// The window starts when the store handles the first Incr, somewhere between
	// the call and its return. Each check is made only where the clock places the
	// call on one side of a window's end; on a machine too slow to place one, the
	// test tries again with a fresh key rather than judge a call it cannot place.
	for attempt := range 5 {
		key := fmt.Sprintf("u%d", attempt)
		if n, err := s.Incr(ctx, storage.UserFailures, key, window); err != nil || n != 1 {
			t.Fatalf("Incr = %d, %v; want 1", n, err)
		}
		firstDone := time.Now()
		time.Sleep(window * 2 / 3)
		secondStart := time.Now()
		n, err := s.Incr(ctx, storage.UserFailures, key, window)
		if err != nil {
			t.Fatalf("Incr: %v", err)
		}
		if time.Since(firstDone) >= window-ttl/10 {
			continue // it may have landed after the first window
		}
		if n != 2 {
			t.Fatalf("Incr late in the window = %d, want 2", n)
		}
		// Past the first window (it ended by firstDone+window, give or take the
		// store's millisecond rounding), but inside the one the second Incr would
		// have started had it pushed the expiry out.
		time.Sleep(time.Until(firstDone.Add(window + 20*time.Millisecond)))
		got, err := s.Count(ctx, storage.UserFailures, key)
		if err != nil {
			t.Fatalf("Count: %v", err)
		}
		if !time.Now().Before(secondStart.Add(window)) {
			continue // the second Incr's window could have ended too
		}
		if got != 0 {
			t.Fatalf("Count after the first window = %d, want 0: the late Incr pushed the expiry out", got)
		}
		if n, err := s.Incr(ctx, storage.UserFailures, key, window); err != nil || n != 1 {
			t.Fatalf("Incr in a new window = %d, %v; want 1", n, err)
		}
		return
	}
	t.Fatal("the store was too slow to place any call in the window in 5 tries")
}

func testCancelledContext(t *testing.T, s storage.Store) {
	live := t.Context()
	put(t, s, storage.Users, "kept", []byte("v"), 0)
	if _, err := s.Incr(live, storage.UserFailures, "kept", 0); err != nil {
		t.Fatalf("Incr: %v", err)
	}

	ctx, cancel := context.WithCancel(live)
	cancel()
	calls := map[string]func() error{
		"Create": func() error { return s.Create(ctx, storage.Users, "new", []byte("v"), 0) },
		"Put":    func() error { return s.Put(ctx, storage.Users, "new", []byte("v"), 0) },
		"Get":    func() error { _, err := s.Get(ctx, storage.Users, "kept"); return err },
		"Take":   func() error { _, err := s.Take(ctx, storage.Users, "kept"); return err },
		"Delete": func() error { return s.Delete(ctx, storage.Users, "kept") },
		"Incr":   func() error { _, err := s.Incr(ctx, storage.UserFailures, "kept", 0); return err },
		"Count":  func() error { _, err := s.Count(ctx, storage.UserFailures, "kept"); return err },
		"Ping":   func() error { return s.Ping(ctx) },
	}
	for name, call := range calls {
		start := time.Now()
		err := noPanic(t, name, call)
		if elapsed := time.Since(start); elapsed > time.Second {
			t.Errorf("%s with a cancelled context took %s", name, elapsed)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context = %v, want an error wrapping context.Canceled", name, err)
		}
	}
	// A call the caller had already abandoned must not have changed anything.
	wantMissing(t, s, storage.Users, "new")
	wantValue(t, s, storage.Users, "kept", []byte("v"))
	wantCount(t, s, storage.UserFailures, "kept", 1)
}

func testInvalidArguments(t *testing.T, s storage.Store) {
	ctx := t.Context()
	calls := func(ns storage.Namespace, key string) map[string]func() error {
		return map[string]func() error{
			"Create": func() error { return s.Create(ctx, ns, key, []byte("v"), 0) },
			"Put":    func() error { return s.Put(ctx, ns, key, []byte("v"), 0) },
			"Get":    func() error { _, err := s.Get(ctx, ns, key); return err },
			"Take":   func() error { _, err := s.Take(ctx, ns, key); return err },
			"Delete": func() error { return s.Delete(ctx, ns, key) },
			"Incr":   func() error { _, err := s.Incr(ctx, ns, key, 0); return err },
			"Count":  func() error { _, err := s.Count(ctx, ns, key); return err },
		}
	}
	badNamespaces := []storage.Namespace{
		"", "User", "1user", "_user", "user-name", "user name", "user:x", "user/x", "user.x", "usér", "user\x00",
	}
	for _, ns := range badNamespaces {
		for name, call := range calls(ns, "k") {
			err := noPanic(t, name, call)
			// A bad argument must not pass for a miss (or, for Delete, a success).
			if err == nil || errors.Is(err, storage.ErrNotFound) {
				t.Errorf("%s in namespace %q = %v, want an invalid-argument error", name, ns, err)
			}
		}
	}
	for name, call := range calls(storage.Users, "") {
		err := noPanic(t, name, call)
		if err == nil || errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s with an empty key = %v, want an invalid-argument error", name, err)
		}
	}
	wantMissing(t, s, storage.Users, "k")
}

func testPing(t *testing.T, s storage.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping = %v, want nil", err)
	}
}

// concurrently runs f(0..n-1) in n goroutines released together, so that they
// really contend, and returns their errors by index.
func concurrently(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// noPanic calls f and turns a panic into a test error, so that one bad backend
// method does not hide the results of the others.
func noPanic(t *testing.T, name string, f func() error) (err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s panicked: %v", name, r)
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}

func put(t *testing.T, s storage.Store, ns storage.Namespace, key string, v []byte, ttl time.Duration) {
	t.Helper()
	if err := s.Put(t.Context(), ns, key, v, ttl); err != nil {
		t.Fatalf("Put %s/%q: %v", ns, clip([]byte(key)), err)
	}
}

func wantValue(t *testing.T, s storage.Store, ns storage.Namespace, key string, want []byte) {
	t.Helper()
	got, err := s.Get(t.Context(), ns, key)
	if err != nil {
		t.Errorf("Get %s/%q: %v", ns, clip([]byte(key)), err)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Get %s/%q = %q (%d bytes), want %q (%d bytes)", ns, clip([]byte(key)), clip(got), len(got), clip(want), len(want))
	}
}

func wantMissing(t *testing.T, s storage.Store, ns storage.Namespace, key string) {
	t.Helper()
	if got, err := s.Get(t.Context(), ns, key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get %s/%q = %q, %v; want ErrNotFound", ns, clip([]byte(key)), clip(got), err)
	}
}

func wantCount(t *testing.T, s storage.Store, ns storage.Namespace, key string, want int64) {
	t.Helper()
	if got, err := s.Count(t.Context(), ns, key); err != nil || got != want {
		t.Errorf("Count %s/%q = %d, %v; want %d", ns, key, got, err, want)
	}
}

// clip keeps failure messages readable when a value is 64 KiB.
func clip(b []byte) []byte {
	if len(b) > 40 {
		return append(b[:40:40], "…"...)
	}
	return b
}
