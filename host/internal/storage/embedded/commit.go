package embedded

import (
	"context"
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/smsplus/smsplus/host/internal/storage"
)

// Group commit. Every commit of a bbolt write transaction ends with fsync, which
// costs far more than the transaction's work; one commit per call made fsync the
// embedded store's limit (about 500 hooks/s on the project's test machine). So the
// writes that arrive while a commit is running wait and then go together, in one
// transaction with one fsync. Each caller still returns only after the commit
// holding its write is on disk: the durability promise is unchanged.
//
// bbolt's own DB.Batch does the same but waits for its timer (MaxBatchDelay,
// 10 ms by default) to gather a group, which a lone write would pay in full. Here
// a write that finds the store idle commits at once; grouping only happens under
// load, when writes would otherwise queue for the write lock anyway.

// writer groups concurrent write transactions.
type writer struct {
	mu      sync.Mutex
	pending []*call
	leading bool // a caller is committing (or about to commit) a group
}

// call is one write waiting for its group's commit.
type call struct {
	fn   func(*bolt.Tx) error
	err  error
	wake chan struct{} // closed when err is set, or when this call must lead
	lead bool
}

// write runs fn in a write transaction, grouped with concurrent writes, and
// returns once that transaction is committed (or has failed). fn must change
// nothing when it returns an error (clean errors) unless it can be run again
// alone: a group whose fn fails with another error is rolled back and each of
// its calls runs again in a transaction of its own, so fn may run twice and must
// set its outputs afresh each time.
func (s *Store) write(fn func(*bolt.Tx) error) error {
	c := &call{fn: fn, wake: make(chan struct{})}
	w := &s.writer
	w.mu.Lock()
	w.pending = append(w.pending, c)
	if w.leading {
		w.mu.Unlock()
		<-c.wake
		if !c.lead {
			return c.err
		}
		w.mu.Lock()
	}
	// This caller leads: it commits everything pending, its own write included,
	// then hands the lead to the first write that arrived meanwhile.
	w.leading = true
	group := w.pending
	w.pending = nil
	w.mu.Unlock()

	// Deferred so that a panicking write function (which bbolt rolls back) still
	// answers the group and passes the lead on, instead of hanging every write.
	defer w.handOff(c, group)
	s.commit(group)
	return c.err
}

// handOff wakes the group's other calls, whose errors are set, and passes the
// lead to the first call that arrived meanwhile.
func (w *writer) handOff(leader *call, group []*call) {
	for _, o := range group {
		if o != leader {
			close(o.wake)
		}
	}
	w.mu.Lock()
	if len(w.pending) > 0 {
		next := w.pending[0]
		next.lead = true
		close(next.wake)
	} else {
		w.leading = false
	}
	w.mu.Unlock()
}

// commit runs the group's functions in one transaction and sets each call's
// error. A function's clean error (see cleanError) leaves the others to commit.
func (s *Store) commit(group []*call) {
	defer func() {
		if r := recover(); r != nil {
			for _, c := range group {
				c.err = fmt.Errorf("embedded: write: %w: a write function panicked: %v", storage.ErrUnavailable, r)
			}
			panic(r)
		}
	}()
	wrote := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		wrote = false
		for _, c := range group {
			c.err = c.fn(tx)
			switch {
			case c.err == nil:
				wrote = true
			case !cleanError(c.err):
				return errRedo
			}
		}
		if !wrote {
			return errNoop // roll back: nothing to write, no fsync
		}
		return nil
	})
	switch {
	case err == nil:
		s.commits.Add(1)
	case errors.Is(err, errNoop):
	case errors.Is(err, errRedo) && len(group) > 1:
		// One function failed midway: run each alone, so that the failure
		// rolls back only its own writes.
		for _, c := range group {
			s.commit([]*call{c})
		}
	case err != nil:
		for _, c := range group {
			if c.err == nil || errors.Is(c.err, errRedo) {
				c.err = err
			}
		}
	}
}

// Commits returns how many write transactions the store has committed: each
// one is a write to disk and an fsync. Tests and benchmarks read it to count
// commits per hook.
func (s *Store) Commits() int64 { return s.commits.Load() }

// errRedo rolls a group back when one of its functions failed with an error that
// may have followed writes.
var errRedo = errors.New("embedded: redo the group one by one")

// cleanError reports whether a write function's error says it changed nothing:
// the refusals Create, Take and Delete report that way.
func cleanError(err error) bool {
	return errors.Is(err, storage.ErrExists) || errors.Is(err, storage.ErrNotFound) || errors.Is(err, errNoop)
}

// Batch runs ops in one write transaction: the batch is atomic (all of it or
// nothing is committed, and nothing else runs in between), costs one commit,
// and that commit is shared with concurrent writes (see write). A batch that
// writes nothing commits nothing.
func (s *Store) Batch(ctx context.Context, ops []storage.Op) ([]storage.Result, error) {
	if err := storage.CheckOps(ops); err != nil {
		return nil, err
	}
	if err := s.begin(ctx, "batch", ""); err != nil {
		return nil, err
	}
	var res []storage.Result
	err := s.write(func(tx *bolt.Tx) error {
		res = make([]storage.Result, len(ops))
		now := s.now()
		wrote := false
		for i, o := range ops {
			if storage.Skipped(ops, res, i) {
				continue
			}
			r := storage.Result{Ran: true}
			switch o.Kind {
			case storage.OpGet:
				v, err := s.lookupAt(tx, o.NS, o.Key, now)
				if errors.Is(err, storage.ErrNotFound) {
					r.Err = err
				} else if err != nil {
					return err
				}
				r.Value = cloneNonNil(v)
			case storage.OpCreate:
				found, err := create(tx, o.NS, o.Key, o.Value, o.TTL, now)
				if err != nil {
					return err
				}
				if found != nil {
					r.Err, r.Value = storage.ErrExists, cloneNonNil(found)
				} else {
					wrote = true
				}
			case storage.OpIncr:
				n, err := incr(tx, o.NS, o.Key, o.TTL, now)
				if err != nil {
					return err
				}
				r.N, wrote = n, true
			}
			res[i] = r
			if o.Stop && o.Refused(r) {
				break
			}
		}
		if !wrote {
			return errNoop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNoop) {
		return nil, s.fail("batch", "", err)
	}
	return res, nil
}

func cloneNonNil(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
