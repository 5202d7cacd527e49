package local

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/smsplus/smsplus/host/internal/storage"
)

// memStore is a minimal in-memory storage.Store for these tests.
type memStore struct {
	mu   sync.Mutex
	now  func() time.Time
	data map[string]memRecord
	fail error // when set, every call returns it
}

type memRecord struct {
	value   []byte
	expires time.Time // zero = never
}

var _ storage.Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{now: time.Now, data: map[string]memRecord{}}
}

func memKey(ns storage.Namespace, key string) string { return string(ns) + "\x00" + key }

func (s *memStore) live(k string) (memRecord, bool) {
	r, ok := s.data[k]
	if ok && !r.expires.IsZero() && !s.now().Before(r.expires) {
		delete(s.data, k)
		return memRecord{}, false
	}
	return r, ok
}

func (s *memStore) expiry(ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return s.now().Add(ttl)
}

func (s *memStore) Create(ctx context.Context, ns storage.Namespace, key string, value []byte, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	if _, ok := s.live(memKey(ns, key)); ok {
		return storage.ErrExists
	}
	s.data[memKey(ns, key)] = memRecord{append([]byte(nil), value...), s.expiry(ttl)}
	return nil
}

func (s *memStore) Put(ctx context.Context, ns storage.Namespace, key string, value []byte, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.data[memKey(ns, key)] = memRecord{append([]byte(nil), value...), s.expiry(ttl)}
	return nil
}

func (s *memStore) Get(ctx context.Context, ns storage.Namespace, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	r, ok := s.live(memKey(ns, key))
	if !ok {
		return nil, storage.ErrNotFound
	}
	return append([]byte(nil), r.value...), nil
}

func (s *memStore) Take(ctx context.Context, ns storage.Namespace, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	r, ok := s.live(memKey(ns, key))
	if !ok {
		return nil, storage.ErrNotFound
	}
	delete(s.data, memKey(ns, key))
	return r.value, nil
}

func (s *memStore) Delete(ctx context.Context, ns storage.Namespace, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	delete(s.data, memKey(ns, key))
	return nil
}

func (s *memStore) Incr(ctx context.Context, ns storage.Namespace, key string, ttl time.Duration) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	k := memKey(ns, key)
	r, ok := s.live(k)
	n := int64(0)
	if ok {
		n, _ = strconv.ParseInt(string(r.value), 10, 64)
	} else {
		r.expires = s.expiry(ttl)
	}
	n++
	r.value = []byte(strconv.FormatInt(n, 10))
	s.data[k] = r
	return n, nil
}

func (s *memStore) Count(ctx context.Context, ns storage.Namespace, key string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	r, ok := s.live(memKey(ns, key))
	if !ok {
		return 0, nil
	}
	n, _ := strconv.ParseInt(string(r.value), 10, 64)
	return n, nil
}

func (s *memStore) Ping(ctx context.Context) error { return nil }
func (s *memStore) Close() error                   { return nil }

// keys lists the live keys of a namespace.
func (s *memStore) keys(ns storage.Namespace) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.data {
		if _, ok := s.live(k); ok && len(k) > len(ns) && k[:len(ns)+1] == string(ns)+"\x00" {
			out = append(out, k[len(ns)+1:])
		}
	}
	return out
}
