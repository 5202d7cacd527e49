package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/host/internal/storage/memory"
	"github.com/smsplus/smsplus/host/internal/storage/storagetest"
)

func TestRouterSendsEachNamespaceToItsStore(t *testing.T) {
	t.Parallel()
	disk, mem := memory.New(nil, 0), memory.New(nil, 0)
	r := &storage.Router{Default: disk, Routes: map[storage.Namespace]storage.Store{storage.SMSRate: mem}}
	ctx := context.Background()
	if _, err := r.Incr(ctx, storage.SMSRate, "u", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := r.Put(ctx, storage.Users, "u", []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	if n, _ := mem.Count(ctx, storage.SMSRate, "u"); n != 1 {
		t.Errorf("routed counter not in its store: %d", n)
	}
	if n, _ := disk.Count(ctx, storage.SMSRate, "u"); n != 0 {
		t.Errorf("routed counter leaked to the default store: %d", n)
	}
	if _, err := disk.Get(ctx, storage.Users, "u"); err != nil {
		t.Errorf("default namespace not in the default store: %v", err)
	}
	if _, err := mem.Get(ctx, storage.Users, "u"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("default namespace leaked to the routed store: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if disk.Ping(ctx) == nil || mem.Ping(ctx) == nil {
		t.Error("Close did not close both stores")
	}
}

// The embedded store's composition (a default store, and the delivery claims and
// per-phone counters elsewhere) behaves as one store, batches included: a batch
// spans both stores and stops where a part of it stopped.
func TestRouterConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		disk, mem := memory.New(nil, 0), memory.New(nil, 0)
		r := &storage.Router{Default: disk, Routes: map[storage.Namespace]storage.Store{storage.Deliveries: mem, storage.SMSRate: mem}}
		t.Cleanup(func() { r.Close() })
		return r
	})
}
