// Package audit keeps the record of what SMS+ did: challenges created, samples
// enrolled, codes revealed, failures, lockouts and which failure policy was taken.
//
// Entries are written off the request path, in batches: a hook answers its IAM
// without waiting for the audit write, and one store write carries many entries.
// On a crash at most one flush interval of entries is lost; the user-facing state
// (challenges, counters, lockouts) is never in this buffer.
package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsplus/smsplus/host/internal/storage"
)

// TTL is how long audit entries are kept (the seed's 30 days).
const TTL = 30 * 24 * time.Hour

// Entry is one audited event. User is the SMS+ user id (a salted hash), never a
// phone number; Fields must never hold an OTP, a phone number or a secret.
type Entry struct {
	Time   time.Time      `json:"time"`
	Event  string         `json:"event"`
	User   string         `json:"user,omitempty"`
	Fields map[string]any `json:"fields,omitempty"`
}

// Options tune the Log.
type Options struct {
	FlushEvery time.Duration // 0 = 250 ms
	MaxBatch   int           // entries per stored record; 0 = 256
	Buffer     int           // entries waiting to be written; 0 = 4096
	Now        func() time.Time
	Log        *slog.Logger
}

// Log buffers entries and writes them in batches.
type Log struct {
	store   storage.Store
	opts    Options
	ch      chan Entry
	dropped atomic.Int64
	done    chan struct{}
	// mu guards closed: Record holds it shared while sending, so Close cannot close
	// the channel under a sender.
	mu     sync.RWMutex
	closed bool
}

// New starts a Log writing to store.
func New(store storage.Store, opts Options) *Log {
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = 250 * time.Millisecond
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 4096
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	l := &Log{store: store, opts: opts, ch: make(chan Entry, opts.Buffer), done: make(chan struct{})}
	go l.run()
	return l
}

// Record queues an entry. It never blocks: when the buffer is full (the store is
// down or far behind) the entry is dropped and counted, because the sign-in must
// not wait on its audit trail.
func (l *Log) Record(event, user string, fields map[string]any) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.dropped.Add(1)
		return
	}
	select {
	case l.ch <- Entry{Time: l.opts.Now().UTC(), Event: event, User: user, Fields: fields}:
	default:
		l.dropped.Add(1)
	}
}

// Dropped is the number of entries lost to a full buffer.
func (l *Log) Dropped() int64 { return l.dropped.Load() }

// Close writes what is buffered and stops. Entries recorded after Close are dropped.
func (l *Log) Close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.ch)
	}
	l.mu.Unlock()
	<-l.done
}

func (l *Log) run() {
	defer close(l.done)
	tick := time.NewTicker(l.opts.FlushEvery)
	defer tick.Stop()
	batch := make([]Entry, 0, l.opts.MaxBatch)
	for {
		select {
		case e, ok := <-l.ch:
			if !ok {
				l.flush(batch)
				return
			}
			batch = append(batch, e)
			if len(batch) >= l.opts.MaxBatch {
				l.flush(batch)
				batch = batch[:0]
			}
		case <-tick.C:
			if len(batch) > 0 {
				l.flush(batch)
				batch = batch[:0]
			}
		}
	}
}

func (l *Log) flush(batch []Entry) {
	if len(batch) == 0 {
		return
	}
	val, err := json.Marshal(batch)
	if err != nil {
		l.opts.Log.Error("audit encode", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.store.Put(ctx, storage.Audit, batchKey(batch[0].Time), val, TTL); err != nil {
		l.opts.Log.Warn("audit write", "entries", len(batch), "err", err)
	}
}

// batchKey sorts by time and never collides between replicas.
func batchKey(t time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(b[:])
}
