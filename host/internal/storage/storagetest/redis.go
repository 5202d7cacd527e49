package storagetest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// StartRedis starts a redis-server of the test's own, for settings the shared
// servers must not have (a volatile or evicting Redis): on a free loopback port,
// in a directory of its own, with args (a first one ending in .conf is the
// configuration file, e.g. a Sentinel's). It returns host:port and stops the
// server when the test ends. Without the binary the test skips on a laptop and
// fails in CI, where .ci/services.sh installs it.
func StartRedis(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed: in CI .ci/services.sh installs it")
		}
		t.Skip("redis-server is not installed (.ci/services.sh installs it)")
	}
	dir := t.TempDir()
	for range 5 { // a port found free may be taken before the server binds it
		port := freePort(t)
		argv := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--dir", dir, "--logfile", filepath.Join(dir, "log"), "--daemonize", "no"}
		if len(args) > 0 && strings.HasSuffix(args[0], ".conf") { // a config file comes first
			argv = append([]string{args[0]}, append(argv, args[1:]...)...)
		} else {
			argv = append(argv, args...)
		}
		cmd := exec.Command(bin, argv...)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1})
		for deadline := time.Now().Add(10 * time.Second); ; {
			if c.Ping(t.Context()).Err() == nil {
				c.Close()
				t.Cleanup(func() {
					_ = cmd.Process.Kill()
					<-exited
				})
				return addr
			}
			select {
			case <-exited:
			case <-time.After(20 * time.Millisecond):
				if time.Now().Before(deadline) {
					continue
				}
				_ = cmd.Process.Kill()
				<-exited
			}
			break
		}
		c.Close()
		if log, _ := os.ReadFile(filepath.Join(dir, "log")); !bytes.Contains(log, []byte("Address already in use")) {
			t.Fatalf("redis-server %v did not start:\n%s", args, log)
		}
	}
	t.Fatal("redis-server: no free port after 5 tries")
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
