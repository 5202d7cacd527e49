package storage

import (
	"context"
	"errors"
	"time"
)

// Router is a Store that keeps some namespaces in another Store. The embedded
// backend uses it to hold the records whose loss on restart is harmless (delivery
// claims, per-phone text counters) in memory, saving a disk commit for each.
type Router struct {
	Default Store
	Routes  map[Namespace]Store
}

var (
	_ Store   = (*Router)(nil)
	_ Batcher = (*Router)(nil)
)

func (r *Router) pick(ns Namespace) Store {
	if s, ok := r.Routes[ns]; ok {
		return s
	}
	return r.Default
}

func (r *Router) Create(ctx context.Context, ns Namespace, key string, value []byte, ttl time.Duration) error {
	return r.pick(ns).Create(ctx, ns, key, value, ttl)
}

func (r *Router) Put(ctx context.Context, ns Namespace, key string, value []byte, ttl time.Duration) error {
	return r.pick(ns).Put(ctx, ns, key, value, ttl)
}

func (r *Router) Get(ctx context.Context, ns Namespace, key string) ([]byte, error) {
	return r.pick(ns).Get(ctx, ns, key)
}

func (r *Router) Take(ctx context.Context, ns Namespace, key string) ([]byte, error) {
	return r.pick(ns).Take(ctx, ns, key)
}

func (r *Router) Delete(ctx context.Context, ns Namespace, key string) error {
	return r.pick(ns).Delete(ctx, ns, key)
}

func (r *Router) Incr(ctx context.Context, ns Namespace, key string, ttl time.Duration) (int64, error) {
	return r.pick(ns).Incr(ctx, ns, key, ttl)
}

func (r *Router) Count(ctx context.Context, ns Namespace, key string) (int64, error) {
	return r.pick(ns).Count(ctx, ns, key)
}

// Ping reports the default store's health: the routed ones are in-process.
func (r *Router) Ping(ctx context.Context) error { return r.Default.Ping(ctx) }

// Close closes every store once.
func (r *Router) Close() error {
	errs := []error{r.Default.Close()}
	closed := map[Store]bool{r.Default: true}
	for _, s := range r.Routes {
		if !closed[s] {
			closed[s] = true
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}

// Batch runs each stretch of consecutive ops that go to the same store as one
// batch of that store, in order, and stops where one of them stopped.
func (r *Router) Batch(ctx context.Context, ops []Op) ([]Result, error) {
	if err := CheckOps(ops); err != nil {
		return nil, err
	}
	res := make([]Result, 0, len(ops))
	for start := 0; start < len(ops); {
		s := r.pick(ops[start].NS)
		end := start + 1
		for end < len(ops) && r.pick(ops[end].NS) == s {
			end++
		}
		part, err := Run(ctx, s, ops[start:end])
		if err != nil {
			return nil, err
		}
		res = append(res, part...)
		for i, o := range ops[start:end] {
			if o.Stop && o.Refused(part[i]) {
				return append(res, make([]Result, len(ops)-end)...), nil
			}
		}
		start = end
	}
	return res, nil
}
