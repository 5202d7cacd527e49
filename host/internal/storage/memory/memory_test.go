package memory

import (
	"testing"

	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/host/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s := New(nil, 0)
		t.Cleanup(func() { s.Close() })
		return s
	})
}
