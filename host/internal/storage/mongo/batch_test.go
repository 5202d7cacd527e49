package mongo

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"

	"github.com/smsplus/smsplus/host/internal/storage"
)

// commandLog records the names of the commands a store sends.
type commandLog struct {
	mu    sync.Mutex
	names []string
}

func (l *commandLog) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		switch e.CommandName {
		case "hello", "isMaster", "ismaster", "ping", "buildInfo", "buildinfo", "createIndexes", "listIndexes", "endSessions":
			return // the connection's and Open's own
		}
		l.mu.Lock()
		l.names = append(l.names, e.CommandName)
		l.mu.Unlock()
	}}
}

// take returns the commands sent since the last take.
func (l *commandLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.names
	l.names = nil
	return n
}

// A hook's batch (with the caps off: claim, challenge, user, the user's pending
// reset) costs one command for a new user, and three for a returning one: the
// creates go as one ordered insert, the reset is read only for a user that
// existed. Each command is work for the server on every hook (FerretDB spends
// about a millisecond of CPU on each), so the count is what this checks.
func TestBatchCommands(t *testing.T) {
	var log commandLog
	s := open(t, Options{monitor: log.monitor()})
	ctx := t.Context()
	hook := func(claim, cid, user string) []storage.Op {
		return []storage.Op{
			{Kind: storage.OpCreate, NS: storage.Deliveries, Key: claim, Value: []byte("claim"), TTL: time.Minute, Stop: true},
			{Kind: storage.OpCreate, NS: storage.Challenges, Key: cid, Value: []byte("challenge " + cid), TTL: time.Minute},
			{Kind: storage.OpCreate, NS: storage.Users, Key: user, Value: []byte("user " + cid)},
			{Kind: storage.OpGet, NS: storage.PendingResets, Key: user, IfExisted: true},
		}
	}
	batch := func(name string, ops []storage.Op, want []string) []storage.Result {
		t.Helper()
		log.take()
		res, err := s.Batch(ctx, ops)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := log.take(); !slices.Equal(got, want) {
			t.Errorf("%s: commands %v, want %v", name, got, want)
		}
		return res
	}

	res := batch("new user", hook("d1", "c1", "u"), []string{"insert"})
	if !res[0].Ran || res[0].Err != nil || !res[1].Ran || res[1].Err != nil || !res[2].Ran || res[2].Err != nil || res[3].Ran {
		t.Errorf("new user: results %+v", res)
	}
	wantStored(t, s, storage.Challenges, "c1", "challenge c1")
	wantStored(t, s, storage.Users, "u", "user c1")

	if err := s.Put(ctx, storage.PendingResets, "u", []byte("due"), time.Hour); err != nil {
		t.Fatal(err)
	}
	res = batch("returning user", hook("d2", "c2", "u"), []string{"insert", "find", "find"})
	if !errors.Is(res[2].Err, storage.ErrExists) || !bytes.Equal(res[2].Value, []byte("user c1")) {
		t.Errorf("returning user: user result %+v, want ErrExists with the stored user", res[2])
	}
	if !res[3].Ran || !bytes.Equal(res[3].Value, []byte("due")) {
		t.Errorf("returning user: pending reset %+v", res[3])
	}
	wantStored(t, s, storage.Challenges, "c2", "challenge c2")

	// A repeated delivery stops at its claim: the insert writes nothing after it.
	res = batch("repeat", hook("d2", "c3", "v"), []string{"insert", "find"})
	if !errors.Is(res[0].Err, storage.ErrExists) || !bytes.Equal(res[0].Value, []byte("claim")) || res[1].Ran || res[2].Ran || res[3].Ran {
		t.Errorf("repeat: results %+v", res)
	}
	for _, r := range []struct {
		ns  storage.Namespace
		key string
	}{{storage.Challenges, "c3"}, {storage.Users, "v"}} {
		if _, err := s.Get(ctx, r.ns, r.key); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("repeat: %s %s written after the refused claim (err %v)", r.ns, r.key, err)
		}
	}
}

// An expired record in the middle of a run of creates is replaced, and the
// creates after it still run.
func TestBatchCreateRunOverExpired(t *testing.T) {
	now := time.Now()
	s := open(t, Options{Now: func() time.Time { return now }})
	ctx := t.Context()
	if err := s.Put(ctx, storage.Challenges, "old", []byte("old"), time.Second); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	res, err := s.Batch(ctx, []storage.Op{
		{Kind: storage.OpCreate, NS: storage.Deliveries, Key: "d", Value: []byte("claim"), TTL: time.Minute, Stop: true},
		{Kind: storage.OpCreate, NS: storage.Challenges, Key: "old", Value: []byte("new"), TTL: time.Minute},
		{Kind: storage.OpCreate, NS: storage.Users, Key: "u", Value: []byte("user")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if !r.Ran || r.Err != nil {
			t.Errorf("op %d: %+v", i, r)
		}
	}
	wantStored(t, s, storage.Challenges, "old", "new")
	wantStored(t, s, storage.Users, "u", "user")
}

func wantStored(t *testing.T, s *Store, ns storage.Namespace, key, want string) {
	t.Helper()
	got, err := s.Get(t.Context(), ns, key)
	if err != nil || string(got) != want {
		t.Errorf("%s %s = %q, %v; want %q", ns, key, got, err, want)
	}
}
