package embedded

import (
	"path/filepath"
	"testing"

	"github.com/smsplus/smsplus/host/internal/storage"
	"github.com/smsplus/smsplus/host/internal/storage/storagetest"
)

// BenchmarkStore gives the embedded figures next to the server backends' (make bench-storage).
func BenchmarkStore(b *testing.B) {
	storagetest.Bench(b, func(tb testing.TB) storage.Store {
		s, err := Open(filepath.Join(tb.TempDir(), "smsplus.db"), Options{})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		return s
	})
}
