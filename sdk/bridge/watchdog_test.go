package bridge

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// envServe makes the test binary serve a bridge instead of running the tests, so
// a test can launch a real plugin process without building one.
const envServe = "SMSPLUS_BRIDGE_TEST_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(envServe) == "1" {
		Serve(&echoBridge{}) // never returns
	}
	os.Exit(m.Run())
}

// processGone reports whether pid has exited (a zombie no one reaped has exited).
func processGone(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// TestServeExitsWhenParentDies: a plugin whose parent is killed with SIGKILL
// (so nothing stops the plugin on purpose) exits within 2 s by itself.
func TestServeExitsWhenParentDies(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("needs sh")
	}
	handshake := filepath.Join(t.TempDir(), "stdout")
	// The parent: a shell that starts the plugin in the background, prints its
	// pid, then waits. The plugin writes its go-plugin handshake to a file.
	parent := exec.Command("sh", "-c", `"$0" >"$1" 2>/dev/null & echo $!; exec sleep 60`, os.Args[0], handshake)
	parent.Env = append(os.Environ(), envServe+"=1", Handshake.MagicCookieKey+"="+Handshake.MagicCookieValue,
		"PLUGIN_PROTOCOL_VERSIONS=1")
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, convErr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || convErr != nil {
		_ = parent.Process.Kill()
		_ = parent.Wait()
		t.Fatalf("parent printed %q: %v", line, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	// Serving: the handshake line is out.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		if b, _ := os.ReadFile(handshake); bytes.Contains(b, []byte("|grpc")) {
			break
		}
		if ctx.Err() != nil || processGone(pid) {
			_ = parent.Process.Kill()
			_ = parent.Wait()
			t.Fatal("the plugin never served")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = parent.Wait()
	for !processGone(pid) {
		if time.Since(killed) > 2*time.Second {
			t.Fatalf("plugin %d still running 2 s after its parent was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the plugin exited %s after its parent was killed", time.Since(killed).Round(time.Millisecond))
}

func TestWatchParent(t *testing.T) {
	t.Parallel()
	var ppid atomic.Int64
	ppid.Store(4242)
	exited := make(chan struct{})
	go watchParent(time.Millisecond, func() int { return int(ppid.Load()) }, func() { close(exited) })
	select {
	case <-exited:
		t.Fatal("exited while the parent is there")
	case <-time.After(50 * time.Millisecond):
	}
	ppid.Store(1) // adopted by init: the parent died
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("did not exit after the parent died")
	}
}
