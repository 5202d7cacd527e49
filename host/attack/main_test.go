package attack_test

import (
	"os"
	"testing"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

// skipShort skips a test that runs the binaries under go test -short.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the binaries")
	}
}
