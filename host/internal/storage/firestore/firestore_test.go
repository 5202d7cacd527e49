package firestore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/api/option"

	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/host/internal/storage/storagetest"
)

// envEmulator is Google's Firestore emulator (host:port) that .ci/services.sh starts.
const envEmulator = "SMSPLUS_TEST_FIRESTORE_EMULATOR"

// open opens a store in a project of its own, whose documents are deleted when
// the test ends (the emulator keeps projects apart).
func open(tb testing.TB, o Options) *Store {
	tb.Helper()
	emulator := storagetest.ServerEnv(tb, envEmulator) // o.EmulatorHost may be a proxy to it
	if o.EmulatorHost == "" {
		o.EmulatorHost = emulator
	}
	if o.ProjectID == "" {
		o.ProjectID = "smsplus-test-" + strings.ToLower(rand.Text()[:12])
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s, err := Open(tb.Context(), o)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
		// The emulator's documented reset: delete every document of the project.
		req, _ := http.NewRequest(http.MethodDelete,
			"http://"+emulator+"/emulator/v1/projects/"+o.ProjectID+"/databases/(default)/documents", nil)
		if resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req); err != nil {
			tb.Errorf("reset emulator project: %v", err)
		} else {
			resp.Body.Close()
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	host := storagetest.ServerEnv(t, envEmulator)
	storagetest.Run(t, func(t *testing.T) storage.Store { return open(t, Options{EmulatorHost: host}) },
		storagetest.Replicas(func(t *testing.T, s storage.Store) storage.Store {
			// Another client on the same project: dbPath is projects/<p>/databases/<d>.
			project := strings.Split(s.(*Store).dbPath, "/")[1]
			return open(t, Options{EmulatorHost: host, ProjectID: project})
		}))
}

// Concurrent increments of an expired counter restart its window exactly once:
// one caller gets 1, the others 2..N, and the new window is the restarter's.
func TestIncrRestartContended(t *testing.T) {
	t.Parallel()
	s := open(t, Options{})
	ctx := t.Context()
	for range 3 {
		if _, err := s.Incr(ctx, storage.UserFailures, "hot", 200*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	const writers = 32
	var (
		mu   sync.Mutex
		seen = map[int64]int{}
		wg   sync.WaitGroup
	)
	for range writers {
		wg.Go(func() {
			n, err := s.Incr(ctx, storage.UserFailures, "hot", time.Hour)
			if err != nil {
				t.Errorf("Incr: %v", err)
				return
			}
			mu.Lock()
			seen[n]++
			mu.Unlock()
		})
	}
	wg.Wait()
	for n := int64(1); n <= writers; n++ {
		if seen[n] != 1 {
			t.Errorf("Incr returned %d %d times, want once", n, seen[n])
		}
	}
	if n, err := s.Count(ctx, storage.UserFailures, "hot"); err != nil || n != writers {
		t.Errorf("Count = %d, %v; want %d", n, err, writers)
	}
	snap, err := s.coll.Doc(DocID(storage.UserFailures, "hot")).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := snap.Data()[ExpiryField].(time.Time)
	us, _ := snap.Data()[fieldWindow].(int64)
	if time.Until(exp) < 59*time.Minute || us != exp.UnixMicro() {
		t.Errorf("restarted window ends %v (%s %d), want an hour from now, the same instant in both fields", exp, fieldWindow, us)
	}
}

func TestDocID(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("/", 500) // 1,500 bytes escaped, plus the prefix: too long
	tests := map[string]string{
		"abc":          "token:abc",
		"with/slash":   "token:with%2Fslash",
		"/":            "token:%2F",
		".":            "token:.",
		"..":           "token:..",
		"__reserved__": "token:__reserved__",
		"100%":         "token:100%25",
		"~x":           "token:%7Ex",
		"ünïcödé":      "token:ünïcödé",
		"emoji 🔑":      "token:emoji 🔑",
		"tab\tkey":     "token:tab%09key",
		"nul\x00":      "token:nul%00",
		"del\x7f":      "token:del%7F",
		"\xff\xfe":     "token:%FF%FE",
		"+15551234567": "token:+15551234567",
		"a:b:":         "token:a:b:",
		long:           "token:~" + "hashed",
	}
	for key, want := range tests {
		got := DocID(storage.Tokens, key)
		if key == long {
			if !strings.HasPrefix(got, "token:~") || len(got) != len("token:~")+43 {
				t.Errorf("DocID(500 slashes) = %q, want token:~ and a 43-character hash", got)
			}
			continue
		}
		if got != want {
			t.Errorf("DocID(%q) = %q, want %q", key, got, want)
		}
	}
	for key := range tests {
		id := DocID(storage.Tokens, key)
		if strings.Contains(id, "/") || id == "." || id == ".." || !utf8.ValidString(id) || len(id) > maxIDBytes ||
			strings.HasPrefix(id, "__") && strings.HasSuffix(id, "__") {
			t.Errorf("DocID(%q) = %q is not a valid Firestore document id", key, id)
		}
	}
	// One-to-one on tricky pairs, namespaces included.
	pairs := [][2]string{{"%2F", "/"}, {"%", "%25"}, {"~", "%7E"}, {"\xff", "%FF"}}
	for _, p := range pairs {
		if DocID(storage.Tokens, p[0]) == DocID(storage.Tokens, p[1]) {
			t.Errorf("keys %q and %q share a document id", p[0], p[1])
		}
	}
	if DocID("ab", "c:d") == DocID("ab_c", "d") || DocID("a", "b:c") == DocID("a_b", "c") {
		t.Error("namespace and key collide")
	}
	if DocID(storage.Tokens, strings.Repeat("/", 500)) == DocID(storage.Tokens, strings.Repeat("/", 499)+"%") {
		t.Error("two long keys share a hashed id")
	}
}

// Keys that are not valid document ids as they stand round-trip through the
// emulator, each to its own document, under the documented id.
func TestKeysBecomeValidIDs(t *testing.T) {
	t.Parallel()
	s := open(t, Options{})
	ctx := t.Context()
	keys := []string{"/", "a/b", ".", "..", "__x__", "\xff", "%2F", strings.Repeat("/", 500), strings.Repeat("é", 256)}
	for i, k := range keys {
		if err := s.Put(ctx, storage.Tokens, k, []byte{byte(i)}, 0); err != nil {
			t.Fatalf("Put %q: %v", k, err)
		}
	}
	for i, k := range keys {
		if v, err := s.Get(ctx, storage.Tokens, k); err != nil || !bytes.Equal(v, []byte{byte(i)}) {
			t.Errorf("Get %q = %v, %v; want [%d]", k, v, err, i)
		}
		snap, err := s.coll.Doc(DocID(storage.Tokens, k)).Get(ctx)
		if err != nil || !snap.Exists() {
			t.Errorf("document %s/%s for key %q: %v", DefaultCollection, DocID(storage.Tokens, k), k, err)
		}
	}
}

// The documented layout: smsplus/<ns>:<key> with ns, v (bytes) and expires_at
// (a timestamp, for a TTL policy); counters carry n.
func TestLayout(t *testing.T) {
	t.Parallel()
	s := open(t, Options{})
	ctx := t.Context()
	before := time.Now()
	if err := s.Put(ctx, storage.Challenges, "c1", []byte{0, 1}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Incr(ctx, storage.ChallengeFailures, "c1", 0); err != nil {
		t.Fatal(err)
	}
	snap, err := s.client.Doc(DefaultCollection + "/challenge:c1").Get(ctx)
	if err != nil {
		t.Fatalf("get smsplus/challenge:c1: %v", err)
	}
	data := snap.Data()
	exp, _ := data[ExpiryField].(time.Time)
	if data["ns"] != "challenge" || !bytes.Equal(data["v"].([]byte), []byte{0, 1}) ||
		exp.Before(before.Add(time.Minute)) || exp.After(time.Now().Add(time.Minute+time.Millisecond)) {
		t.Errorf("record = %v, want ns challenge, v 0001, expires_at a minute after the Put", data)
	}
	snap, err = s.client.Doc(DefaultCollection + "/challenge_failures:c1").Get(ctx)
	if err != nil {
		t.Fatalf("get smsplus/challenge_failures:c1: %v", err)
	}
	data = snap.Data()
	if data["n"] != int64(1) || data["ns"] != "challenge_failures" {
		t.Errorf("counter = %v, want n 1 and ns challenge_failures", data)
	}
	if _, ok := data[ExpiryField]; ok {
		t.Errorf("counter without ttl has %s: %v", ExpiryField, data)
	}
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"connection refused":   storagetest.ClosedAddr(t),
		"server never answers": storagetest.SilentAddr(t),
	}
	for name, host := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			s, err := Open(t.Context(), Options{ProjectID: "p", EmulatorHost: host, StartupTimeout: time.Second,
				Log: slog.New(slog.DiscardHandler)})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("Open gave up after %s, want about the 1 s start-up timeout", elapsed)
			}
			if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), host) {
				t.Errorf("Open = %v, want ErrUnavailable naming the emulator", err)
			}
		})
	}
}

// A store whose server goes silent, then away, answers every call with
// storage.ErrUnavailable within the caller's deadline.
func TestServerGoesAway(t *testing.T) {
	t.Parallel()
	proxy := storagetest.NewProxy(t, storagetest.ServerEnv(t, envEmulator))
	s := open(t, Options{EmulatorHost: proxy.Addr()})
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
	proxy := storagetest.NewProxy(t, storagetest.ServerEnv(t, envEmulator))
	s := open(t, Options{EmulatorHost: proxy.Addr(), CallTimeout: 500 * time.Millisecond})
	proxy.Blackhole()
	start := time.Now()
	_, err := s.Get(context.Background(), storage.Users, "u")
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Get without a deadline returned after %s, want about 500ms", elapsed)
	}
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Get = %v, want ErrUnavailable", err)
	}
}

func TestCredentialsType(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		json string
		want option.CredentialsType
		ok   bool
	}{
		"service account": {`{"type":"service_account","project_id":"p"}`, option.ServiceAccount, true},
		"authorized user": {`{"type":"authorized_user"}`, option.AuthorizedUser, true},
		"external":        {`{"type":"external_account"}`, option.ExternalAccount, true},
		"no type":         {`{"project_id":"p"}`, "", false},
		"unknown type":    {`{"type":"api_key"}`, "", false},
		"not json":        {`/etc/key.json`, "", false},
	}
	for name, tc := range tests {
		got, err := credentialsType([]byte(tc.json))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%s: credentialsType = %q, %v; want %q, ok %v", name, got, err, tc.want, tc.ok)
		}
	}
}

func TestExpiryRoundsUp(t *testing.T) {
	t.Parallel()
	now := time.Unix(100, 1) // 1 ns past a second
	got, ok := expiry(now, time.Second)
	if !ok || !got.Equal(time.Unix(101, 1000)) {
		t.Errorf("expiry = %v, %v; want 101 s + 1 µs", got, ok)
	}
	if _, ok := expiry(now, 0); ok {
		t.Error("ttl 0 has an expiry")
	}
	if got, _ := expiry(now, time.Duration(1<<63-1)); !got.After(now.Add(99 * 365 * 24 * time.Hour)) {
		t.Errorf("huge ttl expires at %v, want about a century later", got)
	}
}

func BenchmarkStore(b *testing.B) {
	storagetest.Bench(b, func(tb testing.TB) storage.Store { return open(tb, Options{}) })
}
