package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/storage"
)

// The Batch checks go through storage.Run, so they hold for a backend with its
// own Batch and for one that runs the ops one by one.

func runBatch(t *testing.T, s storage.Store, ops ...storage.Op) []storage.Result {
	t.Helper()
	res, err := storage.Run(t.Context(), s, ops)
	if err != nil {
		t.Fatalf("Batch: %v", err)
	}
	if len(res) != len(ops) {
		t.Fatalf("Batch of %d ops returned %d results", len(ops), len(res))
	}
	return res
}

func testBatchOps(t *testing.T, s storage.Store) {
	put(t, s, storage.Users, "known", []byte("stored"), 0)
	if _, err := s.Incr(t.Context(), storage.SMSRate, "c", time.Hour); err != nil {
		t.Fatalf("Incr: %v", err)
	}
	res := runBatch(t, s,
		storage.Op{Kind: storage.OpGet, NS: storage.Users, Key: "known"},
		storage.Op{Kind: storage.OpGet, NS: storage.Users, Key: "missing"},
		storage.Op{Kind: storage.OpCreate, NS: storage.Users, Key: "known", Value: []byte("other")},
		storage.Op{Kind: storage.OpCreate, NS: storage.Challenges, Key: "new", Value: []byte("made"), TTL: time.Hour},
		storage.Op{Kind: storage.OpIncr, NS: storage.SMSRate, Key: "c", TTL: time.Hour},
		storage.Op{Kind: storage.OpIncr, NS: storage.SMSRate, Key: "fresh", TTL: time.Hour},
		// A later op sees what an earlier one of the same batch wrote.
		storage.Op{Kind: storage.OpGet, NS: storage.Challenges, Key: "new"},
		storage.Op{Kind: storage.OpIncr, NS: storage.SMSRate, Key: "fresh", TTL: time.Hour},
	)
	for i, r := range res {
		if !r.Ran {
			t.Errorf("op %d did not run", i)
		}
	}
	if r := res[0]; r.Err != nil || !bytes.Equal(r.Value, []byte("stored")) {
		t.Errorf("get of a record = %q, %v; want %q", r.Value, r.Err, "stored")
	}
	if r := res[1]; !errors.Is(r.Err, storage.ErrNotFound) {
		t.Errorf("get of a missing record: err %v, want ErrNotFound", r.Err)
	}
	if r := res[2]; !errors.Is(r.Err, storage.ErrExists) || !bytes.Equal(r.Value, []byte("stored")) {
		t.Errorf("create over a record = %q, %v; want the stored value and ErrExists", r.Value, r.Err)
	}
	if r := res[3]; r.Err != nil {
		t.Errorf("create of a new record: %v", r.Err)
	}
	if r := res[4]; r.Err != nil || r.N != 2 {
		t.Errorf("incr of a counter at 1 = %d, %v; want 2", r.N, r.Err)
	}
	if r := res[5]; r.Err != nil || r.N != 1 {
		t.Errorf("incr of a new counter = %d, %v; want 1", r.N, r.Err)
	}
	if r := res[6]; r.Err != nil || !bytes.Equal(r.Value, []byte("made")) {
		t.Errorf("get of the record the batch created = %q, %v", r.Value, r.Err)
	}
	if r := res[7]; r.N != 2 {
		t.Errorf("second incr of the new counter = %d, want 2", r.N)
	}
	wantValue(t, s, storage.Users, "known", []byte("stored"))
	wantValue(t, s, storage.Challenges, "new", []byte("made"))
	wantCount(t, s, storage.SMSRate, "c", 2)
	wantCount(t, s, storage.SMSRate, "fresh", 2)
}

// testBatchStop: a refused Stop op ends the batch, and nothing after it happens.
func testBatchStop(t *testing.T, s storage.Store) {
	put(t, s, storage.Deliveries, "claimed", []byte("first"), time.Hour)
	after := []storage.Op{
		{Kind: storage.OpIncr, NS: storage.SMSGlobalRate, Key: "all", TTL: time.Hour},
		{Kind: storage.OpCreate, NS: storage.Challenges, Key: "c", Value: []byte("v"), TTL: time.Hour},
	}
	res := runBatch(t, s, append([]storage.Op{
		{Kind: storage.OpCreate, NS: storage.Deliveries, Key: "claimed", Value: []byte("second"), TTL: time.Hour, Stop: true},
	}, after...)...)
	if r := res[0]; !r.Ran || !errors.Is(r.Err, storage.ErrExists) || !bytes.Equal(r.Value, []byte("first")) {
		t.Errorf("stop create over a record = %+v; want ErrExists with the first value", r)
	}
	if res[1].Ran || res[2].Ran {
		t.Errorf("ops after a refused stop op ran: %+v", res[1:])
	}
	wantCount(t, s, storage.SMSGlobalRate, "all", 0)
	wantMissing(t, s, storage.Challenges, "c")

	// A Stop Incr is refused only above its limit (and still counts, as Incr does).
	incr := storage.Op{Kind: storage.OpIncr, NS: storage.SMSRate, Key: "p", TTL: time.Hour, Stop: true, Limit: 2}
	for want := int64(1); want <= 3; want++ {
		res := runBatch(t, s, append([]storage.Op{incr}, after...)...)
		if res[0].N != want {
			t.Fatalf("incr %d = %d", want, res[0].N)
		}
		if ran := res[1].Ran; ran != (want <= 2) {
			t.Errorf("incr at %d with limit 2: the next op ran = %t, want %t", want, ran, want <= 2)
		}
	}
	wantCount(t, s, storage.SMSRate, "p", 3)
	wantCount(t, s, storage.SMSGlobalRate, "all", 2)

	// A Stop op that is not refused lets the batch go on.
	res = runBatch(t, s,
		storage.Op{Kind: storage.OpCreate, NS: storage.Deliveries, Key: "free", Value: []byte("v"), TTL: time.Hour, Stop: true},
		storage.Op{Kind: storage.OpGet, NS: storage.Deliveries, Key: "free"},
	)
	if res[0].Err != nil || !res[1].Ran || !bytes.Equal(res[1].Value, []byte("v")) {
		t.Errorf("batch after a successful stop create = %+v", res)
	}
}

// testBatchIfExisted: an IfExisted op runs only when the create before it found
// a record, and the batch goes on either way.
func testBatchIfExisted(t *testing.T, s storage.Store) {
	put(t, s, storage.Users, "old", []byte("stored"), 0)
	put(t, s, storage.PendingResets, "old", []byte("due"), time.Hour)
	put(t, s, storage.PendingResets, "new", []byte("stale"), time.Hour)
	for _, c := range []struct {
		user    string
		existed bool
	}{{"old", true}, {"new", false}} {
		res := runBatch(t, s,
			storage.Op{Kind: storage.OpCreate, NS: storage.Users, Key: c.user, Value: []byte("fresh")},
			storage.Op{Kind: storage.OpGet, NS: storage.PendingResets, Key: c.user, IfExisted: true},
			storage.Op{Kind: storage.OpCreate, NS: storage.Challenges, Key: "ch-" + c.user, Value: []byte("c"), TTL: time.Hour},
			storage.Op{Kind: storage.OpIncr, NS: storage.UserFailures, Key: c.user, IfExisted: true},
			storage.Op{Kind: storage.OpGet, NS: storage.Challenges, Key: "ch-" + c.user},
		)
		if got := errors.Is(res[0].Err, storage.ErrExists); got != c.existed {
			t.Fatalf("create of user %s: err %v", c.user, res[0].Err)
		}
		if res[1].Ran != c.existed {
			t.Errorf("user %s (existed %t): the if-existed get ran = %t", c.user, c.existed, res[1].Ran)
		}
		if c.existed && !bytes.Equal(res[1].Value, []byte("due")) {
			t.Errorf("if-existed get after a found record = %q, %v; want %q", res[1].Value, res[1].Err, "due")
		}
		if !c.existed && (res[1].Value != nil || res[1].Err != nil) {
			t.Errorf("skipped get = %+v, want a zero result", res[1])
		}
		// The batch goes on after a skipped op: the create after it runs, and an
		// if-existed op after that create (new) is skipped too.
		if !res[2].Ran || res[2].Err != nil || res[3].Ran || !res[4].Ran || !bytes.Equal(res[4].Value, []byte("c")) {
			t.Errorf("user %s: ops after the if-existed get = %+v", c.user, res[2:])
		}
		wantCount(t, s, storage.UserFailures, c.user, 0)
	}
	wantValue(t, s, storage.Users, "new", []byte("fresh"))
	wantValue(t, s, storage.Users, "old", []byte("stored"))
}

func testBatchExpiry(t *testing.T, s storage.Store) {
	put(t, s, storage.Challenges, "old", []byte("old"), ttl)
	if _, err := s.Incr(t.Context(), storage.SMSRate, "w", ttl); err != nil {
		t.Fatalf("Incr: %v", err)
	}
	time.Sleep(pastTTL)
	res := runBatch(t, s,
		storage.Op{Kind: storage.OpGet, NS: storage.Challenges, Key: "old"},
		storage.Op{Kind: storage.OpCreate, NS: storage.Challenges, Key: "old", Value: []byte("new"), Stop: true},
		storage.Op{Kind: storage.OpIncr, NS: storage.SMSRate, Key: "w", TTL: time.Hour},
	)
	if !errors.Is(res[0].Err, storage.ErrNotFound) {
		t.Errorf("get of an expired record: err %v, want ErrNotFound", res[0].Err)
	}
	if res[1].Err != nil {
		t.Errorf("create over an expired record: %v", res[1].Err)
	}
	if res[2].N != 1 {
		t.Errorf("incr of an expired counter = %d, want 1", res[2].N)
	}
	wantValue(t, s, storage.Challenges, "old", []byte("new"))
}

// testBatchConcurrent: batches keep each op's atomicity under contention: of
// concurrent stop creates exactly one wins, and only the winner's batch goes on.
func testBatchConcurrent(t *testing.T, s storage.Store) {
	var (
		mu   sync.Mutex
		seen = map[int64]int{}
	)
	errs := concurrently(workers, func(i int) error {
		res, err := storage.Run(t.Context(), s, []storage.Op{
			{Kind: storage.OpCreate, NS: storage.Tokens, Key: "once", Value: fmt.Appendf(nil, "%d", i), Stop: true},
			{Kind: storage.OpIncr, NS: storage.UserFailures, Key: "winners"},
			{Kind: storage.OpIncr, NS: storage.UserFailures, Key: "all"}, // never reached by losers
		})
		if err != nil {
			return err
		}
		if res[0].Err == nil {
			mu.Lock()
			seen[res[1].N]++
			mu.Unlock()
		} else if res[1].Ran {
			return fmt.Errorf("worker %d lost the create and went on", i)
		}
		return nil
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", i, err)
		}
	}
	if len(seen) != 1 || seen[1] != 1 {
		t.Errorf("winners' counts %v, want one winner that counted 1", seen)
	}
	wantCount(t, s, storage.UserFailures, "winners", 1)

	seen = map[int64]int{}
	errs = concurrently(workers, func(int) error {
		res, err := storage.Run(t.Context(), s, []storage.Op{{Kind: storage.OpIncr, NS: storage.SMSGlobalRate, Key: "all", TTL: time.Hour}})
		if err == nil {
			mu.Lock()
			seen[res[0].N]++
			mu.Unlock()
		}
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("incr worker %d: %v", i, err)
		}
	}
	for n := int64(1); n <= workers; n++ {
		if seen[n] != 1 {
			t.Errorf("value %d handed out %d times by concurrent batch incrs, want once", n, seen[n])
		}
	}
}

// testBatchInvalid: a batch with a bad op is refused before anything runs.
func testBatchInvalid(t *testing.T, s storage.Store) {
	good := storage.Op{Kind: storage.OpCreate, NS: storage.Users, Key: "k", Value: []byte("v")}
	bad := map[string]storage.Op{
		"namespace": {Kind: storage.OpGet, NS: "User", Key: "k"},
		"empty key": {Kind: storage.OpGet, NS: storage.Users},
		"long key":  {Kind: storage.OpGet, NS: storage.Users, Key: string(make([]byte, storage.MaxKeyLen+1))},
		"kind":      {NS: storage.Users, Key: "k"},
		"ttl":       {Kind: storage.OpIncr, NS: storage.Users, Key: "n", TTL: -time.Second},
		"limit":     {Kind: storage.OpIncr, NS: storage.Users, Key: "n", Limit: -1},
	}
	for name, op := range bad {
		var err error
		noPanic(t, name, func() error {
			_, err = storage.Run(t.Context(), s, []storage.Op{good, op})
			return err
		})
		if err == nil {
			t.Errorf("batch with a bad %s = nil error", name)
		}
	}
	// IfExisted names the op before it, which must be a create.
	for name, ops := range map[string][]storage.Op{
		"if-existed first":        {{Kind: storage.OpGet, NS: storage.Users, Key: "k", IfExisted: true}},
		"if-existed after a get":  {good, {Kind: storage.OpGet, NS: storage.Users, Key: "k"}, {Kind: storage.OpGet, NS: storage.Users, Key: "k", IfExisted: true}},
		"if-existed after a incr": {good, {Kind: storage.OpIncr, NS: storage.SMSRate, Key: "n"}, {Kind: storage.OpGet, NS: storage.Users, Key: "k", IfExisted: true}},
	} {
		var err error
		noPanic(t, name, func() error {
			_, err = storage.Run(t.Context(), s, ops)
			return err
		})
		if err == nil {
			t.Errorf("batch with an %s = nil error", name)
		}
	}
	wantMissing(t, s, storage.Users, "k")
	wantCount(t, s, storage.SMSRate, "n", 0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := storage.Run(ctx, s, []storage.Op{good}); !errors.Is(err, context.Canceled) {
		t.Errorf("batch with a cancelled context = %v, want context.Canceled", err)
	}
	wantMissing(t, s, storage.Users, "k")
}
