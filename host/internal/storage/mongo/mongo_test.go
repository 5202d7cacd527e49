package mongo

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/logbuf"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"

	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/host/internal/storage/storagetest"
)

// envURL names the server .ci/services.sh starts (FerretDB) or any MongoDB.
const envURL = "SMSPLUS_TEST_MONGO_URL"

// updateModeReason is printed where the suite's concurrent-counter checks are
// skipped for CountersUpdate on FerretDB.
const updateModeReason = "CountersUpdate trusts the server to apply $inc atomically, which MongoDB does and " +
	"FerretDB v1 does not (FerretDB#3040): against FerretDB only the sequential checks prove this mode; " +
	"the default mode there (CountersClaim) runs them all"

// open opens a store on a database of its own, dropped when the test ends.
func open(tb testing.TB, o Options) *Store {
	tb.Helper()
	if o.URI == "" {
		o.URI = storagetest.ServerEnv(tb, envURL)
	}
	if o.Database == "" {
		o.Database = "smsplus_test_" + strings.ToLower(rand.Text()[:12])
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s, err := Open(tb.Context(), o)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.coll.Database().Drop(ctx); err != nil {
			tb.Errorf("drop test database: %v", err)
		}
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// ferretDB reports whether the test server is FerretDB (buildInfo says so).
func ferretDB(t testing.TB, s *Store) bool {
	t.Helper()
	var info bson.M
	if err := s.client.Database("admin").RunCommand(t.Context(), bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		t.Fatalf("buildInfo: %v", err)
	}
	_, ok := info["ferretdbVersion"]
	return ok
}

// The whole suite, concurrent counters included, in the mode Open picks for the
// server: on FerretDB, claims.
func TestConformance(t *testing.T) {
	t.Parallel()
	storagetest.Run(t, func(t *testing.T) storage.Store { return open(t, Options{}) }, replicas(Options{}))
}

// replicas opens more stores on the database of one, as other SMS+ replicas would.
func replicas(o Options) storagetest.Option {
	return storagetest.Replicas(func(t *testing.T, s storage.Store) storage.Store {
		o.URI = storagetest.ServerEnv(t, envURL)
		o.Database = s.(*Store).coll.Database().Name()
		o.Log = slog.New(slog.DiscardHandler)
		r, err := Open(t.Context(), o)
		if err != nil {
			t.Fatalf("Open a replica: %v", err)
		}
		t.Cleanup(func() { r.Close() }) // before the first store's cleanup drops the database
		return r
	})
}

// The mode MongoDB gets (a plain $inc per increment), forced. On FerretDB its
// concurrent-counter checks are skipped: they need the server's atomic $inc.
func TestConformanceUpdateMode(t *testing.T) {
	t.Parallel()
	var opts []storagetest.Option
	if ferretDB(t, open(t, Options{})) {
		for _, name := range []string{"incr_concurrent", "incr_reservations", "incr_restart_concurrent", "incr_replicas", "batch_concurrent"} {
			opts = append(opts, storagetest.Skip(name, updateModeReason))
		}
	}
	opts = append(opts, replicas(Options{Counters: CountersUpdate}))
	storagetest.Run(t, func(t *testing.T) storage.Store { return open(t, Options{Counters: CountersUpdate}) }, opts...)
}

// Open claims increments exactly where the server's updates are not atomic.
func TestCounterModeDetected(t *testing.T) {
	t.Parallel()
	s := open(t, Options{})
	if got, want := s.Claims(), ferretDB(t, s); got != want {
		t.Errorf("Claims() = %v on a server where ferretDB = %v", got, want)
	}
	if !open(t, Options{Counters: CountersClaim}).Claims() || open(t, Options{Counters: CountersUpdate}).Claims() {
		t.Error("Options.Counters does not force the mode")
	}
}

// The concurrent checks that do not need $inc hold on FerretDB too, because Create
// and Take rely only on the unique _id and on deleteOne's exact count. This repeats
// them at a larger scale than the suite, since they are the ones a weaker Take
// (findOneAndDelete) fails on FerretDB.
func TestTakeAndCreateExactlyOnce(t *testing.T) {
	t.Parallel()
	s := open(t, Options{})
	ctx := t.Context()
	for round := range 10 {
		key := "r" + string(rune('a'+round))
		if err := s.Put(ctx, storage.Tokens, key, []byte(key), time.Minute); err != nil {
			t.Fatal(err)
		}
		var takes, creates sync.WaitGroup
		var mu sync.Mutex
		won, created := 0, 0
		for range 32 {
			takes.Go(func() {
				if _, err := s.Take(ctx, storage.Tokens, key); err == nil {
					mu.Lock()
					won++
					mu.Unlock()
				} else if !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("Take: %v", err)
				}
			})
			creates.Go(func() {
				if err := s.Create(ctx, storage.Challenges, key, []byte("c"), time.Minute); err == nil {
					mu.Lock()
					created++
					mu.Unlock()
				} else if !errors.Is(err, storage.ErrExists) {
					t.Errorf("Create: %v", err)
				}
			})
		}
		takes.Wait()
		creates.Wait()
		if won != 1 || created != 1 {
			t.Fatalf("round %d: %d Take winners and %d Create winners, want 1 and 1", round, won, created)
		}
	}
}

// Where the server refuses the TTL index (FerretDB), Open warns and the sweeper
// deletes expired documents; where it accepts it (MongoDB), the index is there.
func TestTTLIndexOrSweeper(t *testing.T) {
	t.Parallel()
	var logs logbuf.Buffer
	s := open(t, Options{
		SweepInterval: 50 * time.Millisecond,
		Log:           slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	ctx := t.Context()

	if !ferretDB(t, s) {
		if !s.TTLIndex() {
			t.Fatalf("MongoDB refused the TTL index; log:\n%s", logs.String())
		}
		cur, err := s.coll.Indexes().List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var indexes []bson.M
		if err := cur.All(ctx, &indexes); err != nil {
			t.Fatal(err)
		}
		for _, ix := range indexes {
			if ix["name"] == TTLIndex {
				if v, ok := ix["expireAfterSeconds"].(int32); !ok || v != 0 {
					t.Errorf("TTL index expireAfterSeconds = %v, want 0", ix["expireAfterSeconds"])
				}
				return
			}
		}
		t.Fatalf("no index %s among %v", TTLIndex, indexes)
	}

	if s.TTLIndex() {
		t.Fatal("FerretDB accepted a TTL index: update this test and docs/storage.md")
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "refused the TTL index") {
		t.Errorf("no warning about the TTL index in the log:\n%s", logs.String())
	}
	for i := range 20 {
		if err := s.Put(ctx, storage.Audit, "short"+string(rune('a'+i)), []byte("v"), 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, storage.Audit, "forever", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Incr(ctx, storage.UserFailures, "hour", time.Hour); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := s.coll.CountDocuments(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d documents left after 5 s, want 2 (the sweeper deletes only expired ones)", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := s.Get(ctx, storage.Audit, "forever"); err != nil {
		t.Errorf("Get of a record without expiry after sweeps: %v", err)
	}
}

// A server without a TTL index (FerretDB v1) reads the whole collection for
// each sweep, users included, so a sweep costs more as the store grows: the
// next sweep must wait at least sweepSpacing times as long as the last one
// took, whatever the interval, so that the sweeper's share of the server stays
// bounded. The command monitor's times bracket each sweep's delete inside the
// loop's own measurement, so the check holds exactly, with no margin.
func TestSweeperWaitsInProportionToItsSweeps(t *testing.T) {
	t.Parallel()
	var sweeps sweepLog
	s := open(t, Options{SweepInterval: time.Millisecond, monitor: sweeps.monitor()})
	if s.TTLIndex() {
		if s.stop != nil {
			t.Fatal("a sweeper runs beside the TTL index")
		}
		return
	}
	// Enough documents that a sweep has work; each sweep spaces the next by 20
	// times its own duration, so a larger store only makes the test slower.
	fill(t, s, 100)
	const want = 3
	deadline := time.Now().Add(time.Minute)
	for len(sweeps.done()) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d sweeps in a minute, want %d: %v", len(sweeps.done()), want, sweeps.done())
		}
		time.Sleep(10 * time.Millisecond)
	}
	done := sweeps.done()
	for i := 1; i < len(done); i++ {
		took := done[i-1].end.Sub(done[i-1].start)
		if gap := done[i].start.Sub(done[i-1].end); gap < sweepSpacing*took {
			t.Errorf("sweep %d started %v after sweep %d, which took %v: want at least %d times that", i, gap, i-1, took, sweepSpacing)
		}
	}
}

// sweepLog records when each sweep's delete (a DeleteMany: limit 0) started and
// ended, as the driver saw it.
type sweepLog struct {
	mu      sync.Mutex
	started map[int64]time.Time
	sweeps  []sweepSpan
}

type sweepSpan struct{ start, end time.Time }

func (l *sweepLog) monitor() *event.CommandMonitor {
	ended := func(id int64) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if start, ok := l.started[id]; ok {
			l.sweeps = append(l.sweeps, sweepSpan{start, time.Now()})
			delete(l.started, id)
		}
	}
	return &event.CommandMonitor{
		Started: func(_ context.Context, e *event.CommandStartedEvent) {
			if e.CommandName != "delete" || !deletesMany(e.Command) {
				return
			}
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.started == nil {
				l.started = map[int64]time.Time{}
			}
			l.started[e.RequestID] = time.Now()
		},
		Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) { ended(e.RequestID) },
		Failed:    func(_ context.Context, e *event.CommandFailedEvent) { ended(e.RequestID) },
	}
}

// deletesMany reports whether a delete command holds a statement with limit 0.
func deletesMany(cmd bson.Raw) bool {
	stmts, ok := cmd.Lookup("deletes").ArrayOK()
	if !ok {
		return false
	}
	vals, _ := stmts.Values()
	for _, v := range vals {
		stmt, ok := v.DocumentOK()
		if !ok {
			continue
		}
		if limit, ok := stmt.Lookup("limit").AsInt64OK(); ok && limit == 0 {
			return true
		}
	}
	return false
}

func (l *sweepLog) done() []sweepSpan {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.sweeps)
}

// The documented layout: one collection, _id "<ns>:<key>", binary v, date expires_at.
func TestLayout(t *testing.T) {
	t.Parallel()
	s := open(t, Options{})
	ctx := t.Context()
	before := time.Now()
	if err := s.Put(ctx, storage.Challenges, "c/1", []byte{0, 1, 2}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Incr(ctx, storage.ChallengeFailures, "c/1", 0); err != nil {
		t.Fatal(err)
	}
	var rec struct {
		ID  string        `bson:"_id"`
		NS  string        `bson:"ns"`
		V   bson.Binary   `bson:"v"`
		Exp bson.DateTime `bson:"expires_at"`
	}
	if err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: "challenge:c/1"}}).Decode(&rec); err != nil {
		t.Fatalf("find challenge:c/1: %v", err)
	}
	exp := rec.Exp.Time()
	if rec.NS != "challenge" || !bytes.Equal(rec.V.Data, []byte{0, 1, 2}) ||
		exp.Before(before.Add(time.Minute)) || exp.After(time.Now().Add(time.Minute+time.Millisecond)) {
		t.Errorf("record = %+v (expires %v), want ns challenge, v 000102, expires a minute after the Put", rec, exp)
	}
	var ctr bson.M
	if err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: "challenge_failures:c/1"}}).Decode(&ctr); err != nil {
		t.Fatalf("find challenge_failures:c/1: %v", err)
	}
	epoch, _ := ctr["e"].(string)
	if ctr["n"] != int64(1) || ctr["ns"] != "challenge_failures" || epoch == "" {
		t.Errorf("counter = %v, want n 1, ns challenge_failures and an epoch e", ctr)
	}
	w, err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: "challenge_failures:c/1"}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	g, _ := w.Lookup("w_"+epoch, "g").AsInt64OK()
	b, _ := w.Lookup("w_"+epoch, "b").AsInt64OK()
	if _, err := w.LookupErr("w_"+epoch, "x"); g != 0 || b != 1 || err == nil {
		t.Errorf("counter window w_%s = %v, want {g: 0, b: 1} without an end", epoch, w.Lookup("w_"+epoch))
	}
	if _, ok := ctr["expires_at"]; ok {
		t.Errorf("counter without ttl has expires_at: %v", ctr)
	}

	// A counter with a window: its end x, and expires_at a grace later.
	if _, err := s.Incr(ctx, storage.UserFailures, "u", time.Minute); err != nil {
		t.Fatal(err)
	}
	var win struct {
		E   string        `bson:"e"`
		Exp bson.DateTime `bson:"expires_at"`
	}
	raw, err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: "user_failures:u"}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	if err := bson.Unmarshal(raw, &win); err != nil {
		t.Fatal(err)
	}
	x := raw.Lookup("w_"+win.E, "x").Time()
	if x.Before(before.Add(time.Minute)) || x.After(time.Now().Add(time.Minute+time.Millisecond)) ||
		win.Exp.Time().Sub(x) != counterGrace {
		t.Errorf("window ends %v and expires_at is %v; want a minute after the Incr, and %v later", x, win.Exp.Time(), counterGrace)
	}
	// Claims exist in claim mode only, next to the counter, with the same grace.
	n, err := s.coll.CountDocuments(ctx, bson.D{{Key: "_id", Value: claimID("user_failures:u", storage.UserFailures, win.E, 2)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Incr(ctx, storage.UserFailures, "u", time.Minute); err != nil {
		t.Fatal(err)
	}
	var claim bson.M
	err = s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: "user_failures#" + win.E + ".2:u"}}).Decode(&claim)
	switch {
	case n != 0:
		t.Errorf("a claim on increment 2 existed before it")
	case s.Claims() && err != nil:
		t.Errorf("claim mode: no claim user_failures#%s.2:u: %v", win.E, err)
	case s.Claims() && claim["expires_at"].(bson.DateTime) != win.Exp:
		t.Errorf("claim = %v, want expires_at %v (the counter's)", claim, win.Exp)
	case !s.Claims() && err == nil:
		t.Errorf("update mode wrote a claim: %v", claim)
	}
}

// A counter written before epochs and windows existed ({ns, n, expires_at}) counts
// on, and restarts, as it did.
func TestLegacyCounter(t *testing.T) {
	t.Parallel()
	s := open(t, Options{})
	ctx := t.Context()
	docs := []any{
		bson.D{{Key: "_id", Value: "user_failures:live"}, {Key: "ns", Value: "user_failures"}, {Key: "n", Value: int64(3)},
			{Key: "expires_at", Value: bson.NewDateTimeFromTime(time.Now().Add(time.Hour))}},
		bson.D{{Key: "_id", Value: "user_failures:ended"}, {Key: "ns", Value: "user_failures"}, {Key: "n", Value: int64(3)},
			{Key: "expires_at", Value: bson.NewDateTimeFromTime(time.Now().Add(-time.Second))}},
		bson.D{{Key: "_id", Value: "user_failures:forever"}, {Key: "ns", Value: "user_failures"}, {Key: "n", Value: int64(7)}},
	}
	if _, err := s.coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string][]int64{"live": {3, 4, 5}, "ended": {0, 1, 2}, "forever": {7, 8, 9}} {
		if n, err := s.Count(ctx, storage.UserFailures, key); err != nil || n != want[0] {
			t.Errorf("Count %s = %d, %v; want %d", key, n, err, want[0])
		}
		for _, w := range want[1:] {
			if n, err := s.Incr(ctx, storage.UserFailures, key, time.Hour); err != nil || n != w {
				t.Errorf("Incr %s = %d, %v; want %d", key, n, err, w)
			}
		}
	}
}

// Delete resets a counter for good: the next Incr starts a new epoch at 1, and
// the old epoch's helper documents, still there until reclaimed, change nothing.
func TestCounterDeleteStartsNewEpoch(t *testing.T) {
	t.Parallel()
	for _, mode := range []CounterMode{CountersClaim, CountersUpdate} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			s := open(t, Options{Counters: mode})
			ctx := t.Context()
			epoch := func() string {
				t.Helper()
				var c struct {
					E string `bson:"e"`
				}
				if err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: "user_failures:u"}}).Decode(&c); err != nil {
					t.Fatal(err)
				}
				return c.E
			}
			for want := int64(1); want <= 3; want++ {
				if n, err := s.Incr(ctx, storage.UserFailures, "u", time.Hour); err != nil || n != want {
					t.Fatalf("Incr = %d, %v; want %d", n, err, want)
				}
			}
			first := epoch()
			if err := s.Delete(ctx, storage.UserFailures, "u"); err != nil {
				t.Fatal(err)
			}
			for want := int64(1); want <= 3; want++ {
				if n, err := s.Incr(ctx, storage.UserFailures, "u", time.Hour); err != nil || n != want {
					t.Fatalf("Incr after Delete = %d, %v; want %d", n, err, want)
				}
			}
			if second := epoch(); second == first {
				t.Errorf("epoch %q kept across Delete", first)
			}
			// A late window update from the old epoch leaves the new one alone.
			late := bson.D{{Key: "$set", Value: bson.D{{Key: windowField(first), Value: window{g: 9, b: 100}.fields()}}}}
			if _, err := s.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "user_failures:u"}}, late); err != nil {
				t.Fatal(err)
			}
			if n, err := s.Incr(ctx, storage.UserFailures, "u", time.Hour); err != nil || n != 4 {
				t.Errorf("Incr after a late write from the old epoch = %d, %v; want 4", n, err)
			}
		})
	}
}

func TestDocID(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"abc":             "user:abc",
		"with/slash":      "user:with/slash",
		"100%":            "user:100%25",
		"%25":             "user:%2525",
		"ünï":             "user:ünï",
		"a\x00b":          "user:a%00b",
		"\xff\xfe":        "user:%FF%FE",
		"ok\xc3":          "user:ok%C3", // a cut multi-byte sequence
		"emoji 🔑":         "user:emoji 🔑",
		"tab\tkey":        "user:tab\tkey",
		string([]byte{0}): "user:%00",
	}
	for key, want := range tests {
		if got := DocID(storage.Users, key); got != want {
			t.Errorf("DocID(%q) = %q, want %q", key, got, want)
		}
	}
	// Escaping is one-to-one on tricky pairs.
	pairs := [][2]string{{"%FF", "\xff"}, {"%", "%25"}, {"a:b", "a%3Ab"}}
	for _, p := range pairs {
		if DocID(storage.Users, p[0]) == DocID(storage.Users, p[1]) {
			t.Errorf("keys %q and %q share an _id", p[0], p[1])
		}
	}
	if DocID("ab", "c:d") == DocID("ab_c", "d") || DocID("a", "b:c") == DocID("a_b", "c") {
		t.Error("namespace and key collide")
	}
}

func TestInvalidUTF8KeysRoundTrip(t *testing.T) {
	t.Parallel()
	s := open(t, Options{})
	ctx := t.Context()
	keys := []string{"\xff", "%FF", "a\x00", "a%00"}
	for i, k := range keys {
		if err := s.Put(ctx, storage.Tokens, k, []byte{byte(i)}, 0); err != nil {
			t.Fatalf("Put %q: %v", k, err)
		}
	}
	for i, k := range keys {
		if v, err := s.Get(ctx, storage.Tokens, k); err != nil || !bytes.Equal(v, []byte{byte(i)}) {
			t.Errorf("Get %q = %v, %v; want %d", k, v, err, i)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"mongodb://127.0.0.1:27017/":                                     "mongodb://127.0.0.1:27017",
		"mongodb://user:s3cret@db1:27017,db2:27017/smsplus?replicaSet=x": "mongodb://***@db1:27017,db2:27017",
		"mongodb+srv://u:p%40ss@cluster0.example.net/?authSource=admin":  "mongodb+srv://***@cluster0.example.net",
		"mongodb://u:p@ss@host":                                          "mongodb://***@host",
		"not a uri":                                                      "(MONGO_URI without a scheme)",
	}
	for in, want := range tests {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-pw"
	tests := map[string]string{
		"connection refused":   "mongodb://smsplus:" + secret + "@" + storagetest.ClosedAddr(t) + "/?directConnection=true",
		"server never answers": "mongodb://smsplus:" + secret + "@" + storagetest.SilentAddr(t) + "/?directConnection=true&connectTimeoutMS=500",
	}
	for name, uri := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			s, err := Open(t.Context(), Options{URI: uri, StartupTimeout: time.Second, Log: slog.New(slog.DiscardHandler)})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("Open gave up after %s, want about the 1 s start-up timeout", elapsed)
			}
			if !errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("Open = %v, want ErrUnavailable", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("Open error shows the password: %v", err)
			}
		})
	}
}

func TestOpenInvalidURIHidesPassword(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-pw"
	for _, uri := range []string{
		"mongodb://u:" + secret + "@host:notaport/",
		"mongodb://u:" + secret + "@host/?unknownOption=" + secret + "&w=banana",
		"http://u:" + secret + "@host/",
	} {
		_, err := Open(t.Context(), Options{URI: uri, StartupTimeout: time.Second, Log: slog.New(slog.DiscardHandler)})
		if err == nil {
			t.Errorf("Open(%s) succeeded", Redact(uri))
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Open error shows the password: %v", err)
		}
	}
}

// A store whose server goes silent, then away, answers every call with
// storage.ErrUnavailable within the caller's deadline.
func TestServerGoesAway(t *testing.T) {
	t.Parallel()
	target := strings.TrimSuffix(strings.TrimPrefix(storagetest.ServerEnv(t, envURL), "mongodb://"), "/")
	if strings.ContainsAny(target, "@,/?") {
		t.Skipf("%s is not a plain mongodb://host:port/ URL; the proxy test needs one", envURL)
	}
	direct := open(t, Options{}) // drops the test database at the end, when the proxy is gone
	proxy := storagetest.NewProxy(t, target)
	s, err := Open(t.Context(), Options{
		URI:      "mongodb://" + proxy.Addr() + "/?directConnection=true",
		Database: direct.coll.Database().Name(),
		Log:      slog.New(slog.DiscardHandler),
	})
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

// A call without a deadline still ends, after CallTimeout, when the server hangs.
func TestCallTimeoutWithoutDeadline(t *testing.T) {
	t.Parallel()
	target := strings.TrimSuffix(strings.TrimPrefix(storagetest.ServerEnv(t, envURL), "mongodb://"), "/")
	if strings.ContainsAny(target, "@,/?") {
		t.Skipf("%s is not a plain mongodb://host:port/ URL; the proxy test needs one", envURL)
	}
	proxy := storagetest.NewProxy(t, target)
	s, err := Open(t.Context(), Options{
		URI:         "mongodb://" + proxy.Addr() + "/?directConnection=true",
		Database:    "smsplus_test_unused",
		CallTimeout: 500 * time.Millisecond,
		Log:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	proxy.Blackhole()
	start := time.Now()
	_, err = s.Get(context.Background(), storage.Users, "u")
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Get without a deadline returned after %s, want about 500ms", elapsed)
	}
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Get = %v, want ErrUnavailable", err)
	}
}

func BenchmarkStore(b *testing.B) {
	storagetest.Bench(b, func(tb testing.TB) storage.Store { return open(tb, Options{}) })
}

// BenchmarkIncr: Incr in the mode Open picks (claim on FerretDB) and in update mode
// (what MongoDB gets; on FerretDB its figures show the cost of the claims, though
// it is not exact there under concurrency).
func BenchmarkIncr(b *testing.B) {
	for _, mode := range []CounterMode{CountersAuto, CountersUpdate} {
		b.Run(mode.String(), func(b *testing.B) {
			storagetest.BenchIncr(b, func(tb testing.TB) storage.Store { return open(tb, Options{Counters: mode}) })
		})
	}
}

// A creator that won the claim on an expired record and stopped before its
// insert (a crash, or its context ending between the two commands) leaves the
// key answering ErrExists with nothing live behind it: the mongo store's
// documented gap on FerretDB. It lasts until the expired record is swept (the
// next sweep: a minute by default, or sweepSpacing times the last sweep's
// duration), not until the claim expires.
func TestStoppedCreatorBlocksKeyUntilSweep(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	clock.Store(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	s := open(t, Options{Counters: CountersClaim, SweepInterval: -1, Now: now})
	ctx := t.Context()
	if err := s.Create(ctx, storage.Deliveries, "k", []byte("old"), time.Second); err != nil {
		t.Fatal(err)
	}
	clock.Add(int64(2 * time.Second))
	id := DocID(storage.Deliveries, "k")
	d, err := s.find(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// The stopped creator's claim on the expired version.
	if won, err := s.insertHelper(ctx, versionClaimID("create", id, storage.Deliveries, d.w), bson.D{}, bson.NewDateTimeFromTime(now())); err != nil || !won {
		t.Fatalf("claim: %v, %v", won, err)
	}
	if err := s.Create(ctx, storage.Deliveries, "k", []byte("new"), time.Minute); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("Create behind a stopped creator = %v, want ErrExists (the gap this test bounds)", err)
	}
	if _, err := s.Get(ctx, storage.Deliveries, "k"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get = %v, want ErrNotFound: nothing live is there", err)
	}
	if _, err := s.sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, storage.Deliveries, "k", []byte("new"), time.Minute); err != nil {
		t.Fatalf("Create after one sweep = %v, want it created", err)
	}
}
