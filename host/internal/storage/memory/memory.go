// Package memory is a storage.Store held in the process's memory. It loses
// everything on restart, so it only ever holds records whose loss is harmless;
// see storage.Router and the embedded backend, which keep the delivery claims and
// the per-phone text counters here instead of paying a disk commit for each.
package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/smsplus/smsplus/host/internal/storage"
)

type entry struct {
	val     []byte
	n       int64
	counter bool
	exp     time.Time // zero: no expiry
}

// Store is a storage.Store in memory. It is safe for concurrent use.
type Store struct {
	mu     sync.Mutex
	data   map[storage.Namespace]map[string]entry
	now    func() time.Time
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

var (
	_ storage.Store   = (*Store)(nil)
	_ storage.Batcher = (*Store)(nil)
)

var errClosed = fmt.Errorf("memory: store is closed: %w", storage.ErrUnavailable)

// New returns an empty Store that drops expired records every sweep (0 = 1 min).
// now is the clock; nil means time.Now.
func New(now func() time.Time, sweep time.Duration) *Store {
	if now == nil {
		now = time.Now
	}
	if sweep <= 0 {
		sweep = time.Minute
	}
	s := &Store{data: map[storage.Namespace]map[string]entry{}, now: now, stop: make(chan struct{}), done: make(chan struct{})}
	go s.sweepLoop(sweep)
	return s
}

// begin checks the call and locks the store; the caller must unlock.
func (s *Store) begin(ctx context.Context, ns storage.Namespace, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	if !ns.Valid() || key == "" {
		return fmt.Errorf("memory: invalid namespace %q or empty key", ns)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	return nil
}

// live returns the live entry under key, if any. The lock is held.
func (s *Store) live(ns storage.Namespace, key string) (entry, bool) {
	e, ok := s.data[ns][key]
	if !ok || (!e.exp.IsZero() && !s.now().Before(e.exp)) {
		return entry{}, false
	}
	return e, true
}

func (s *Store) set(ns storage.Namespace, key string, e entry) {
	m := s.data[ns]
	if m == nil {
		m = map[string]entry{}
		s.data[ns] = m
	}
	m[key] = e
}

func (s *Store) expiry(ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return s.now().Add(ttl)
}

func clone(b []byte) []byte { return append([]byte{}, b...) }

// Create stores value unless a live record exists.
func (s *Store) Create(ctx context.Context, ns storage.Namespace, key string, value []byte, ttl time.Duration) error {
	if err := s.begin(ctx, ns, key); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.live(ns, key); ok {
		return storage.ErrExists
	}
	s.set(ns, key, entry{val: clone(value), exp: s.expiry(ttl)})
	return nil
}

// Put stores value, replacing any record.
func (s *Store) Put(ctx context.Context, ns storage.Namespace, key string, value []byte, ttl time.Duration) error {
	if err := s.begin(ctx, ns, key); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.set(ns, key, entry{val: clone(value), exp: s.expiry(ttl)})
	return nil
}

// Get returns the live value.
func (s *Store) Get(ctx context.Context, ns storage.Namespace, key string) ([]byte, error) {
	if err := s.begin(ctx, ns, key); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	e, ok := s.live(ns, key)
	if !ok || e.counter {
		return nil, storage.ErrNotFound
	}
	return clone(e.val), nil
}

// Take returns the live value and deletes it.
func (s *Store) Take(ctx context.Context, ns storage.Namespace, key string) ([]byte, error) {
	if err := s.begin(ctx, ns, key); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	e, ok := s.live(ns, key)
	if !ok || e.counter {
		return nil, storage.ErrNotFound
	}
	delete(s.data[ns], key)
	return e.val, nil
}

// Delete removes key.
func (s *Store) Delete(ctx context.Context, ns storage.Namespace, key string) error {
	if err := s.begin(ctx, ns, key); err != nil {
		return err
	}
	defer s.mu.Unlock()
	delete(s.data[ns], key)
	return nil
}

// Incr adds one to a fixed-window counter.
func (s *Store) Incr(ctx context.Context, ns storage.Namespace, key string, ttl time.Duration) (int64, error) {
	if err := s.begin(ctx, ns, key); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	e, ok := s.live(ns, key)
	if ok && !e.counter {
		return 0, errors.New("memory: incr: the record is not a counter")
	}
	if !ok {
		e = entry{counter: true, exp: s.expiry(ttl)}
	}
	e.n++
	s.set(ns, key, e)
	return e.n, nil
}

// Count returns the counter's live value, or 0.
func (s *Store) Count(ctx context.Context, ns storage.Namespace, key string) (int64, error) {
	if err := s.begin(ctx, ns, key); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	e, ok := s.live(ns, key)
	if !ok || !e.counter {
		return 0, nil
	}
	return e.n, nil
}

// Ping reports whether the store is open.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	return nil
}

// Close drops everything and stops the sweeper. It is safe to call twice.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.data = nil
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	return nil
}

func (s *Store) sweepLoop(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			for _, m := range s.data {
				for k, e := range m {
					if !e.exp.IsZero() && !s.now().Before(e.exp) {
						delete(m, k)
					}
				}
			}
			s.mu.Unlock()
		}
	}
}

// Batch runs ops under one lock: the whole batch is atomic.
func (s *Store) Batch(ctx context.Context, ops []storage.Op) ([]storage.Result, error) {
	if err := storage.CheckOps(ops); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	res := make([]storage.Result, len(ops))
	for i, o := range ops {
		if storage.Skipped(ops, res, i) {
			continue
		}
		r := storage.Result{Ran: true}
		e, ok := s.live(o.NS, o.Key)
		switch o.Kind {
		case storage.OpGet:
			if !ok || e.counter {
				r.Err = storage.ErrNotFound
			} else {
				r.Value = clone(e.val)
			}
		case storage.OpCreate:
			if ok {
				r.Err, r.Value = storage.ErrExists, clone(e.val)
			} else {
				s.set(o.NS, o.Key, entry{val: clone(o.Value), exp: s.expiry(o.TTL)})
			}
		case storage.OpIncr:
			if ok && !e.counter {
				return nil, fmt.Errorf("memory: batch op %d: incr: the record is not a counter", i)
			}
			if !ok {
				e = entry{counter: true, exp: s.expiry(o.TTL)}
			}
			e.n++
			s.set(o.NS, o.Key, e)
			r.N = e.n
		}
		res[i] = r
		if o.Stop && o.Refused(r) {
			break
		}
	}
	return res, nil
}
