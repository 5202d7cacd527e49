// Package embedded is the default storage backend: one file on local disk, no server.
//
// It is built on bbolt (go.etcd.io/bbolt) because bbolt is pure Go (no cgo), keeps
// everything in one file, and gives ACID transactions with write transactions
// serialized: counters and take-once reads are atomic without any locking of our own.
// It is mature (etcd's storage engine) and small.
//
// Alternatives considered: Badger (an LSM tree with a value log and background GC,
// overkill and more memory for a few thousand short-lived records), SQLite through
// modernc.org/sqlite (a large dependency, and slower for plain key-value work), and
// Pebble (no equally simple multi-key read-modify-write transactions).
//
// Each namespace is a bbolt bucket. Each value carries its absolute expiry, so an
// expired record is invisible the moment its TTL passes; a background sweeper only
// reclaims the space later.
package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/smsplus/smsplus/host/internal/storage"
)

const (
	defaultSweepInterval = time.Minute
	defaultOpenTimeout   = time.Second
	// initialMmapSize is the address space the data file is mapped with at
	// open. bbolt remaps a growing file, doubling the map, and a remap waits
	// for every read transaction and then faults the whole file in again: the
	// hooks in flight all stall. Reserving 1 GiB of address space (not memory:
	// only the pages the file uses are ever read in) spares a store the remaps
	// until its file is that large. Not on 32-bit platforms, where 1 GiB is
	// half the address space.
	initialMmapSize = (1 << 30) * (strconv.IntSize / 64)

	// headerLen is the expiry prefix of every stored value: big-endian unix
	// nanoseconds, 0 for "never".
	headerLen  = 8
	counterLen = headerLen + 8
)

var (
	errClosed    = errors.New("store is closed")
	errCorrupt   = errors.New("stored record is too short")
	errNotACount = errors.New("stored record is not a counter")
	// errNoop makes db.Update roll back instead of committing, which skips an
	// fsync when a transaction turns out to have nothing to write.
	errNoop = errors.New("nothing to write")
)

// Options tune Open. The zero value is ready for production.
type Options struct {
	Now           func() time.Time // clock; nil = time.Now (tests inject a fake clock)
	SweepInterval time.Duration    // how often expired records are deleted; 0 = 1 minute; <0 = never
	OpenTimeout   time.Duration    // how long to wait for the file lock; 0 = 1s
}

// Store is a storage.Store kept in a single bbolt file.
type Store struct {
	db      *bolt.DB
	now     func() time.Time
	writer  writer       // groups concurrent commits (commit.go)
	commits atomic.Int64 // write transactions committed

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	stop      chan struct{} // nil when the sweeper is disabled
	done      chan struct{}
}

var (
	_ storage.Store   = (*Store)(nil)
	_ storage.Batcher = (*Store)(nil)
)

// Open opens the data file at path, creating it (0600) and its parent directories
// (0700) if needed. Only one Store may hold the file at a time; Open gives up after
// OpenTimeout rather than wait forever as bbolt would.
func Open(path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("embedded: open: empty data file path")
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	timeout := opts.OpenTimeout
	if timeout <= 0 {
		// bbolt reads 0 as "wait forever", which would hang startup silently.
		timeout = defaultOpenTimeout
	}
	interval := opts.SweepInterval
	if interval == 0 {
		interval = defaultSweepInterval
	}

	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("embedded: create data directory: %w: %w", storage.ErrUnavailable, err)
	}
	boltOpts := *bolt.DefaultOptions
	boltOpts.Timeout = timeout
	// The freelist is rebuilt from the pages at open instead of being written on
	// every commit: each hook commits, and this halves the pages each commit syncs.
	boltOpts.NoFreelistSync = true
	boltOpts.FreelistType = bolt.FreelistMapType
	boltOpts.InitialMmapSize = initialMmapSize
	db, err := bolt.Open(path, 0o600, &boltOpts)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("embedded: open %s: data file is in use by another process or store (lock not granted within %s): %w: %w",
			path, timeout, storage.ErrUnavailable, err)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w: %w", path, storage.ErrUnavailable, err)
	}

	s := &Store{db: db, now: now}
	if interval > 0 {
		s.stop = make(chan struct{})
		s.done = make(chan struct{})
		go s.sweepLoop(interval)
	}
	return s, nil
}

// Close stops the sweeper, waits for it and closes the file. It is safe to call
// more than once; later calls return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.stop != nil {
			close(s.stop)
			<-s.done
		}
		// bbolt's Close waits for running transactions, so in-flight calls finish first.
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("embedded: close: %w", err)
		}
	})
	return s.closeErr
}

// Ping reports whether the data file is open and readable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.begin(ctx, "ping", ""); err != nil {
		return err
	}
	err := s.db.View(func(*bolt.Tx) error { return nil })
	return s.fail("ping", "", err)
}

// Put stores value under key, replacing any record there.
func (s *Store) Put(ctx context.Context, ns storage.Namespace, key string, value []byte, ttl time.Duration) error {
	if err := s.check(ctx, "put", ns, key, ttl); err != nil {
		return err
	}
	err := s.write(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(ns))
		if err != nil {
			return err
		}
		return b.Put([]byte(key), encode(expiry(s.now(), ttl), value))
	})
	return s.fail("put", ns, err)
}

// Create stores value only if no live record exists under key, else storage.ErrExists.
func (s *Store) Create(ctx context.Context, ns storage.Namespace, key string, value []byte, ttl time.Duration) error {
	if err := s.check(ctx, "create", ns, key, ttl); err != nil {
		return err
	}
	err := s.write(func(tx *bolt.Tx) error {
		// The clock is read inside the transaction: the wait for the write lock
		// must not make a just-expired record look live.
		found, err := create(tx, ns, key, value, ttl, s.now())
		if err == nil && found != nil {
			return storage.ErrExists
		}
		return err
	})
	return s.fail("create", ns, err)
}

// create stores value under key in tx unless a live record is there, whose
// payload it then returns (valid only during tx) instead.
func create(tx *bolt.Tx, ns storage.Namespace, key string, value []byte, ttl time.Duration, now time.Time) ([]byte, error) {
	b, err := tx.CreateBucketIfNotExists([]byte(ns))
	if err != nil {
		return nil, err
	}
	if rec := b.Get([]byte(key)); rec != nil {
		exp, payload, err := decode(rec)
		if err != nil {
			return nil, err
		}
		if live(exp, now) {
			if payload == nil {
				payload = []byte{}
			}
			return payload, nil
		}
	}
	return nil, b.Put([]byte(key), encode(expiry(now, ttl), value))
}

// Get returns a copy of the live value under key, or storage.ErrNotFound.
func (s *Store) Get(ctx context.Context, ns storage.Namespace, key string) ([]byte, error) {
	if err := s.check(ctx, "get", ns, key, 0); err != nil {
		return nil, err
	}
	var value []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v, err := s.lookup(tx, ns, key)
		// bbolt's memory is only valid inside the transaction.
		value = bytes.Clone(v)
		return err
	})
	if err != nil {
		return nil, s.fail("get", ns, err)
	}
	return value, nil
}

// Take returns the live value under key and deletes it. bbolt runs one write
// transaction at a time, so among concurrent callers exactly one finds the record.
func (s *Store) Take(ctx context.Context, ns storage.Namespace, key string) ([]byte, error) {
	if err := s.check(ctx, "take", ns, key, 0); err != nil {
		return nil, err
	}
	var value []byte
	err := s.write(func(tx *bolt.Tx) error {
		v, err := s.lookup(tx, ns, key)
		if err != nil {
			return err // rolls back: a miss costs no fsync
		}
		value = bytes.Clone(v)
		return tx.Bucket([]byte(ns)).Delete([]byte(key))
	})
	if err != nil {
		return nil, s.fail("take", ns, err)
	}
	return value, nil
}

// Delete removes key; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, ns storage.Namespace, key string) error {
	if err := s.check(ctx, "delete", ns, key, 0); err != nil {
		return err
	}
	err := s.write(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(ns))
		if b == nil || b.Get([]byte(key)) == nil {
			return errNoop
		}
		return b.Delete([]byte(key))
	})
	if errors.Is(err, errNoop) {
		return nil
	}
	return s.fail("delete", ns, err)
}

// Incr adds one to the counter under key. A missing or expired counter restarts at
// 1 and expires after ttl; later increments keep that expiry, so ttl is a fixed window.
func (s *Store) Incr(ctx context.Context, ns storage.Namespace, key string, ttl time.Duration) (int64, error) {
	if err := s.check(ctx, "incr", ns, key, ttl); err != nil {
		return 0, err
	}
	var n int64
	err := s.write(func(tx *bolt.Tx) error {
		var err error
		n, err = incr(tx, ns, key, ttl, s.now())
		return err
	})
	if err != nil {
		return 0, s.fail("incr", ns, err)
	}
	return n, nil
}

// incr adds one to the counter under key in tx and returns its new value.
func incr(tx *bolt.Tx, ns storage.Namespace, key string, ttl time.Duration, now time.Time) (int64, error) {
	b, err := tx.CreateBucketIfNotExists([]byte(ns))
	if err != nil {
		return 0, err
	}
	exp, n := expiry(now, ttl), int64(1)
	if rec := b.Get([]byte(key)); rec != nil {
		old, count, err := decodeCounter(rec)
		if err != nil {
			return 0, err
		}
		if live(old, now) {
			exp, n = old, count+1
		}
	}
	return n, b.Put([]byte(key), encodeCounter(exp, n))
}

// Count returns the counter's live value, or 0 when it is absent or expired.
func (s *Store) Count(ctx context.Context, ns storage.Namespace, key string) (int64, error) {
	if err := s.check(ctx, "count", ns, key, 0); err != nil {
		return 0, err
	}
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(ns))
		if b == nil {
			return nil
		}
		rec := b.Get([]byte(key))
		if rec == nil {
			return nil
		}
		exp, count, err := decodeCounter(rec)
		if err != nil {
			return err
		}
		if live(exp, s.now()) {
			n = count
		}
		return nil
	})
	if err != nil {
		return 0, s.fail("count", ns, err)
	}
	return n, nil
}

// lookup returns the live payload under key, valid only during tx.
func (s *Store) lookup(tx *bolt.Tx, ns storage.Namespace, key string) ([]byte, error) {
	return s.lookupAt(tx, ns, key, s.now())
}

// lookupAt is lookup at the time now.
func (s *Store) lookupAt(tx *bolt.Tx, ns storage.Namespace, key string, now time.Time) ([]byte, error) {
	b := tx.Bucket([]byte(ns))
	if b == nil {
		return nil, storage.ErrNotFound
	}
	rec := b.Get([]byte(key))
	if rec == nil {
		return nil, storage.ErrNotFound
	}
	exp, payload, err := decode(rec)
	if err != nil {
		return nil, err
	}
	if !live(exp, now) {
		return nil, storage.ErrNotFound
	}
	return payload, nil
}

// check validates the arguments of a keyed call, then does what begin does.
// Keys never appear in errors: some are tokens or user identifiers.
func (s *Store) check(ctx context.Context, op string, ns storage.Namespace, key string, ttl time.Duration) error {
	if !ns.Valid() {
		return fmt.Errorf("embedded: %s: invalid namespace %q: want [a-z][a-z0-9_]*, at most %d characters", op, ns, storage.MaxNamespaceLen)
	}
	switch {
	case key == "":
		return fmt.Errorf("embedded: %s %s: invalid key: empty", op, ns)
	case len(key) > storage.MaxKeyLen:
		return fmt.Errorf("embedded: %s %s: invalid key: %d bytes, at most %d", op, ns, len(key), storage.MaxKeyLen)
	case ttl < 0:
		return fmt.Errorf("embedded: %s %s: invalid ttl %s: must not be negative", op, ns, ttl)
	}
	return s.begin(ctx, op, ns)
}

// begin refuses to start a transaction for a caller that has given up or a closed store.
func (s *Store) begin(ctx context.Context, op string, ns storage.Namespace) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("embedded: %s %s: %w", op, ns, err)
	}
	if s.closed.Load() {
		return s.fail(op, ns, errClosed)
	}
	return nil
}

// fail adds context to an error from a transaction. The storage sentinels pass
// through untouched; bbolt and IO errors are marked storage.ErrUnavailable.
func (s *Store) fail(op string, ns storage.Namespace, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, storage.ErrExists):
		return err
	case errors.Is(err, errCorrupt), errors.Is(err, errNotACount):
		return fmt.Errorf("embedded: %s %s: %w", op, ns, err)
	}
	return fmt.Errorf("embedded: %s %s: %w: %w", op, ns, storage.ErrUnavailable, err)
}

// expiry returns the absolute expiry for a record written at now, 0 for none.
func expiry(now time.Time, ttl time.Duration) int64 {
	if ttl == 0 {
		return 0
	}
	at := now.UnixNano()
	if at > math.MaxInt64-int64(ttl) {
		return math.MaxInt64 // an absurd ttl means "practically never", not "already expired"
	}
	return at + int64(ttl)
}

func live(exp int64, now time.Time) bool {
	return exp == 0 || now.UnixNano() < exp
}

func encode(exp int64, payload []byte) []byte {
	rec := make([]byte, headerLen+len(payload))
	binary.BigEndian.PutUint64(rec, uint64(exp))
	copy(rec[headerLen:], payload)
	return rec
}

func decode(rec []byte) (exp int64, payload []byte, err error) {
	if len(rec) < headerLen {
		return 0, nil, errCorrupt
	}
	return int64(binary.BigEndian.Uint64(rec)), rec[headerLen:], nil
}

func encodeCounter(exp, n int64) []byte {
	rec := make([]byte, counterLen)
	binary.BigEndian.PutUint64(rec, uint64(exp))
	binary.BigEndian.PutUint64(rec[headerLen:], uint64(n))
	return rec
}

func decodeCounter(rec []byte) (exp, n int64, err error) {
	exp, payload, err := decode(rec)
	if err != nil {
		return 0, 0, err
	}
	if len(payload) != counterLen-headerLen {
		return 0, 0, errNotACount
	}
	return exp, int64(binary.BigEndian.Uint64(payload)), nil
}
