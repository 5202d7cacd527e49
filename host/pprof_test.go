package host_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// The profiler is off by default, and with PPROF_ADDR it answers on that
// loopback address only, never on the service's port.
func TestProfilerOptIn(t *testing.T) {
	skipShort(t)
	t.Parallel()
	bin := e2e.Shipped(t)
	profiled := func(url string) bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && strings.Contains(string(body), "Types of profiles available")
	}

	off := bin.Start(t)
	if profiled(off.Base + "/debug/pprof/") {
		t.Fatal("the service's port serves the profiler")
	}

	port := e2e.FreePort(t)
	on := bin.Start(t, fmt.Sprintf("PPROF_ADDR=127.0.0.1:%d", port))
	if !profiled(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/", port)) {
		t.Fatal("PPROF_ADDR set, but no profiler there")
	}
	if profiled(on.Base + "/debug/pprof/") {
		t.Fatal("the service's port serves the profiler")
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap?debug=1", port))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("heap profile: %d", resp.StatusCode)
	}

	// A public address is refused before anything starts.
	r := bin.StartExpectingFailure(t, fmt.Sprintf("PPROF_ADDR=0.0.0.0:%d", e2e.FreePort(t)))
	if r.Started || !strings.Contains(r.Stderr, "PPROF_ADDR: not a loopback address") {
		t.Fatalf("PPROF_ADDR=0.0.0.0: started %v, stderr:\n%s", r.Started, r.Stderr)
	}
}
