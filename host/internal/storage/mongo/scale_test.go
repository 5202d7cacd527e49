package mongo

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/smsplus/smsplus/host/internal/storage"
)

// fill inserts n user records (and as many expired ones, as a store that has run
// a while holds) straight through the driver.
func fill(t *testing.T, s *Store, n int) {
	t.Helper()
	const chunk = 1000
	for start := 0; start < n; start += chunk {
		docs := make([]any, 0, 2*chunk)
		for i := start; i < min(n, start+chunk); i++ {
			docs = append(docs, s.record(DocID(storage.Users, fmt.Sprintf("user-%06d", i)), storage.Users, make([]byte, 120), 0))
			old := s.record(DocID(storage.Challenges, fmt.Sprintf("old-%06d", i)), storage.Challenges, make([]byte, 200), time.Hour)
			docs = append(docs, append(old[:len(old)-1], bson.E{Key: fieldExpiry, Value: bson.NewDateTimeFromTime(time.Now().Add(-time.Hour))}))
		}
		if _, err := s.coll.InsertMany(t.Context(), docs); err != nil {
			t.Fatalf("fill: %v", err)
		}
	}
}

// hookOps are the store operations of a hook and of the verify that follows,
// for the i-th user: every call SMS+ makes on its request paths, including the
// ones that meet an existing or expired record.
func hookOps(ctx context.Context, s *Store, i int) error {
	user := fmt.Sprintf("scale-user-%d", i)
	cid := fmt.Sprintf("scale-challenge-%d", i)
	ops := []storage.Op{
		{Kind: storage.OpCreate, NS: storage.Deliveries, Key: "d-" + user, Value: []byte("{}"), TTL: time.Minute, Stop: true},
		{Kind: storage.OpIncr, NS: storage.SMSRate, Key: user, TTL: time.Hour, Stop: true, Limit: 100},
		{Kind: storage.OpIncr, NS: storage.SMSRangeRate, Key: "r-" + user[:len(user)-1], TTL: time.Hour, Stop: true, Limit: 1000},
		{Kind: storage.OpIncr, NS: storage.SMSGlobalRate, Key: "all", TTL: time.Hour, Stop: true, Limit: 1 << 40},
		{Kind: storage.OpCreate, NS: storage.Challenges, Key: cid, Value: make([]byte, 200), TTL: time.Minute},
		{Kind: storage.OpCreate, NS: storage.Users, Key: user, Value: make([]byte, 120)},
		{Kind: storage.OpGet, NS: storage.PendingResets, Key: user, IfExisted: true},
	}
	if _, err := s.Batch(ctx, ops); err != nil {
		return err
	}
	if err := s.Put(ctx, storage.Deliveries, "d-"+user, []byte(`{"done":true}`), time.Minute); err != nil {
		return err
	}
	// A returning user's next hook meets its records, with a new challenge (one
	// ordered insert that stops at the user).
	next := append([]storage.Op{{Kind: storage.OpCreate, NS: storage.Challenges, Key: cid + "-next", Value: make([]byte, 200), TTL: time.Minute}}, ops[5:7]...)
	if _, err := s.Batch(ctx, next); err != nil {
		return err
	}
	// Verify: a failure counter, the take of the challenge, a token.
	if _, err := s.Incr(ctx, storage.ChallengeFailures, cid, time.Minute); err != nil {
		return err
	}
	if _, err := s.Take(ctx, storage.Challenges, cid); err != nil {
		return err
	}
	if err := s.Create(ctx, storage.Tokens, "t-"+cid, []byte("t"), time.Minute); err != nil {
		return err
	}
	if _, err := s.Take(ctx, storage.Tokens, "t-"+cid); err != nil {
		return err
	}
	// Create over an expired record (a repeated delivery after its record's
	// TTL): the filled store holds many.
	if err := s.Create(ctx, storage.Challenges, fmt.Sprintf("old-%06d", i), []byte("again"), time.Minute); err != nil {
		return err
	}
	_, err := s.Count(ctx, storage.ChallengeFailures, cid)
	return err
}

// Every operation of a hook is served by the _id index, on FerretDB v1 as on
// MongoDB: a store holding 20,000 users (and 20,000 expired challenges) answers a
// hook's operations about as fast as an empty one. A filter with anything
// besides _id makes FerretDB v1 read and decode the whole collection, which the
// ratio shows long before a production store's size would.
func TestHookCostDoesNotGrowWithTheStore(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a store with 40,000 documents")
	}
	t.Parallel()
	const users, rounds = 20000, 15
	empty, full := open(t, Options{}), open(t, Options{})
	// The expired records in the filled store are named old-%06d; the empty
	// store gets the same calls on keys it lacks.
	fill(t, full, users)
	ctx := t.Context()
	var onEmpty, onFull []time.Duration
	for i := range rounds {
		for _, c := range []struct {
			s   *Store
			out *[]time.Duration
		}{{empty, &onEmpty}, {full, &onFull}} {
			start := time.Now()
			if err := hookOps(ctx, c.s, i); err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
			*c.out = append(*c.out, time.Since(start))
		}
	}
	median := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	e, f := median(onEmpty), median(onFull)
	t.Logf("a hook's and a verify's operations: median %v on an empty store, %v with %d users", e, f, users)
	if f > 3*e {
		t.Errorf("with %d users the operations take %.1fx as long as on an empty store (%v vs %v), want under 3x: some filter is not served by the _id index",
			users, float64(f)/float64(e), f, e)
	}
}
