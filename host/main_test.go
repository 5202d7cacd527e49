package host

import (
	"os"
	"testing"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// TestMain removes the binaries the end-to-end harness built for the tests.
func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }
