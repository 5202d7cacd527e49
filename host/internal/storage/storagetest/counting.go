package storagetest

import (
	"context"
	"sync"
	"time"

	"github.com/smsplus/smsplus/host/internal/storage"
)

// Counting is a Store that counts the calls made through it, by method, for
// tests that bound how many store calls a request makes. A Batch counts as one
// call when the store below runs batches itself (storage.Batcher); otherwise it
// is counted as the calls storage.Sequential makes for it, as it would cost.
type Counting struct {
	next  storage.Store
	mu    sync.Mutex
	calls map[string]int
}

var (
	_ storage.Store   = (*Counting)(nil)
	_ storage.Batcher = (*Counting)(nil)
)

// NewCounting wraps next.
func NewCounting(next storage.Store) *Counting {
	return &Counting{next: next, calls: map[string]int{}}
}

func (c *Counting) add(method string) {
	c.mu.Lock()
	c.calls[method]++
	c.mu.Unlock()
}

// Calls returns the number of calls by method since the last Reset.
func (c *Counting) Calls() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.calls))
	for m, n := range c.calls {
		out[m] = n
	}
	return out
}

// Total returns the number of calls since the last Reset.
func (c *Counting) Total() int {
	n := 0
	for _, v := range c.Calls() {
		n += v
	}
	return n
}

// Reset sets every count to zero.
func (c *Counting) Reset() {
	c.mu.Lock()
	c.calls = map[string]int{}
	c.mu.Unlock()
}

func (c *Counting) Create(ctx context.Context, ns storage.Namespace, key string, value []byte, ttl time.Duration) error {
	c.add("Create")
	return c.next.Create(ctx, ns, key, value, ttl)
}

func (c *Counting) Put(ctx context.Context, ns storage.Namespace, key string, value []byte, ttl time.Duration) error {
	c.add("Put")
	return c.next.Put(ctx, ns, key, value, ttl)
}

func (c *Counting) Get(ctx context.Context, ns storage.Namespace, key string) ([]byte, error) {
	c.add("Get")
	return c.next.Get(ctx, ns, key)
}

func (c *Counting) Take(ctx context.Context, ns storage.Namespace, key string) ([]byte, error) {
	c.add("Take")
	return c.next.Take(ctx, ns, key)
}

func (c *Counting) Delete(ctx context.Context, ns storage.Namespace, key string) error {
	c.add("Delete")
	return c.next.Delete(ctx, ns, key)
}

func (c *Counting) Incr(ctx context.Context, ns storage.Namespace, key string, ttl time.Duration) (int64, error) {
	c.add("Incr")
	return c.next.Incr(ctx, ns, key, ttl)
}

func (c *Counting) Count(ctx context.Context, ns storage.Namespace, key string) (int64, error) {
	c.add("Count")
	return c.next.Count(ctx, ns, key)
}

func (c *Counting) Batch(ctx context.Context, ops []storage.Op) ([]storage.Result, error) {
	if b, ok := c.next.(storage.Batcher); ok {
		c.add("Batch")
		return b.Batch(ctx, ops)
	}
	return storage.Sequential(ctx, c, ops)
}

func (c *Counting) Ping(ctx context.Context) error { return c.next.Ping(ctx) }

func (c *Counting) Close() error { return c.next.Close() }
