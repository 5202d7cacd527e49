package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/pluginhost"
)

// HashSalt is the HASH_SALT the harness sets.
const HashSalt = "e2e-hash-salt-7c41d0a9"

// Secrets are the bridge settings the harness sets, one credential per shipped
// bridge (PingOne's under both of its names, with the same value).
var Secrets = map[string]string{
	"OKTA_SHARED_SECRET":    "e2e-okta-secret-4f0c2a9d81b7e3",
	"AUTH0_SECRET":          "e2e-auth0-secret-9b3e71c0d25af4",
	"PING_SHARED_SECRET":    "e2e-ping-secret-2d8f4a6c1e9b07",
	"PINGONE_SHARED_SECRET": "e2e-ping-secret-2d8f4a6c1e9b07",
	"CYBERARK_PASS":         "e2e-cyberark-pass-6a1d9e3b7c05f2",
	"FUSIONAUTH_PASS":       "e2e-fusionauth-pass-3c7b0e5d9a14f8",
}

// ReadyTimeout bounds a server's start: building nothing, it is the launch of the
// host and its plugins on a loaded machine.
const ReadyTimeout = 30 * time.Second

// Server is a running `smsplus serve`.
type Server struct {
	// Base is the server's URL on 127.0.0.1, also its BASE_URL.
	Base string
	Port int
	// DataDir is the embedded store's DATA_DIR (the store file is smsplus.db in it).
	DataDir string
	// Env is the environment the process was started with.
	Env []string

	cmd        *exec.Cmd
	stdoutPath string
	stderrPath string
	exited     chan struct{}
	state      *os.ProcessState

	mu          sync.Mutex
	pluginsSeen []int          // plugin processes seen under the host, killed at cleanup if left over
	smsTaken    map[string]int // phone -> texts returned by NextSMS
	phone       *Device        // the default browser (Phone)

	// Phrases are the users' phrases, read from the pages' spelled-out view
	// when a test verifies (device.go).
	Phrases PhraseBook

	vendors vendors // the plugins that render the vendors' calls (example.go)
}

// FreePort returns a TCP port free on every address at the time of the call.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// DefaultEnv is the laptop configuration for a server on port: the embedded
// store in dataDir, the console sender, the local engine, no drain on shutdown,
// plugins from pluginDir, the Okta bridge, every shipped bridge's credential.
// Nothing is inherited from the test's environment but PATH and TMPDIR.
func DefaultEnv(port int, dataDir, pluginDir string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		fmt.Sprintf("PORT=%d", port),
		fmt.Sprintf("BASE_URL=http://127.0.0.1:%d", port),
		"HASH_SALT=" + HashSalt,
		"DATA_STORE=embedded",
		"DATA_DIR=" + dataDir,
		"SMS_PROVIDER=console",
		"BIOMETRICS_ENGINE=local",
		"LOCAL_ENROLL_SAMPLES=3",
		"SHUTDOWN_DRAIN_MS=0",
		"PLUGIN_DIR=" + pluginDir,
		"ENABLED_BRIDGES=okta",
		"LOG_LEVEL=info",
		"LOG_FORMAT=json",
	}
	if tmp := os.Getenv("TMPDIR"); tmp != "" {
		env = append(env, "TMPDIR="+tmp)
	}
	for _, k := range slices.Sorted(maps.Keys(Secrets)) {
		env = append(env, k+"="+Secrets[k])
	}
	return env
}

// MergeEnv applies overrides to base: "KEY=value" sets (the last one wins), a
// bare "KEY" removes the variable.
func MergeEnv(base []string, overrides ...string) []string {
	out := slices.Clone(base)
	for _, o := range overrides {
		key, _, set := strings.Cut(o, "=")
		out = slices.DeleteFunc(out, func(kv string) bool {
			k, _, _ := strings.Cut(kv, "=")
			return k == key
		})
		if set {
			out = append(out, o)
		}
	}
	return out
}

// Getenv returns the value of key in env ("" if unset).
func Getenv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, _ := strings.Cut(env[i], "="); k == key {
			return v
		}
	}
	return ""
}

// Start starts `smsplus serve` with DefaultEnv plus env (see MergeEnv) and waits
// until /readyz answers 200. It fails the test if the server exits or is not
// ready within ReadyTimeout. The server is stopped (SIGTERM, then SIGKILL) when
// the test ends, and any plugin process it leaves behind is killed.
func (b *Binaries) Start(t testing.TB, env ...string) *Server {
	t.Helper()
	s, err := b.launchReady(t, env)
	if err != nil {
		t.Fatalf("smsplus serve: %v\nstderr:\n%s", err, tail(s.Stderr(), 4000))
	}
	return s
}

// launchReady launches a server and waits for it; a server that lost its free
// port to another process before binding it is launched again on another.
func (b *Binaries) launchReady(t testing.TB, env []string) (*Server, error) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		s := b.Launch(t, env...)
		err := s.WaitReady(ReadyTimeout)
		if err != nil && s.Exited() && attempt < 2 && strings.Contains(s.Stderr(), "address already in use") {
			continue
		}
		return s, err
	}
}

// Refusal is how a server started with StartExpectingFailure ended.
type Refusal struct {
	// Started: the server became ready (the refusal did not happen). It keeps
	// running until the test ends, as Server.
	Started bool
	Server  *Server
	// Code is the exit code when it did not start.
	Code   int
	Stderr string
	Stdout string
}

// StartExpectingFailure starts `smsplus serve` like Start and waits until it
// either exits (Started false, with its exit code and output) or becomes ready
// (Started true). It fails the test only if neither happens within ReadyTimeout.
func (b *Binaries) StartExpectingFailure(t testing.TB, env ...string) Refusal {
	t.Helper()
	s, err := b.launchReady(t, env)
	if err == nil {
		return Refusal{Started: true, Server: s, Stderr: s.Stderr(), Stdout: s.Stdout()}
	}
	if !s.Exited() {
		t.Fatalf("smsplus serve neither started nor exited: %v\nstderr:\n%s", err, tail(s.Stderr(), 4000))
	}
	return Refusal{Code: s.state.ExitCode(), Stderr: s.Stderr(), Stdout: s.Stdout()}
}

// Launch starts `smsplus serve` and returns at once, without waiting for it to
// be ready (see WaitReady).
func (b *Binaries) Launch(t testing.TB, env ...string) *Server {
	t.Helper()
	port := FreePort(t)
	work := t.TempDir()
	s := &Server{
		Base:       fmt.Sprintf("http://127.0.0.1:%d", port),
		Port:       port,
		DataDir:    filepath.Join(work, "data"),
		stdoutPath: filepath.Join(work, "stdout"),
		stderrPath: filepath.Join(work, "stderr"),
		exited:     make(chan struct{}),
	}
	s.Env = MergeEnv(DefaultEnv(port, s.DataDir, b.PluginDir), env...)
	if d := Getenv(s.Env, "DATA_DIR"); d != "" {
		s.DataDir = d
	}
	// Output goes to files, not pipes: once an answer is received, everything the
	// server wrote before it (e.g. the console sender's SMS) is in the file.
	stdout, err := os.Create(s.stdoutPath)
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(s.stderrPath)
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	s.cmd = exec.Command(b.Smsplus, "serve")
	s.cmd.Dir = work // no ./.env, no ./bin/plugins
	s.cmd.Env = s.Env
	s.cmd.Stdout, s.cmd.Stderr = stdout, stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = s.cmd.Wait()
		s.state = s.cmd.ProcessState
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.stopVendors()
		s.Stop()
		s.killLeftovers()
		if t.Failed() {
			t.Logf("server %s stderr (tail):\n%s", s.Base, tail(s.Stderr(), 6000))
		}
	})
	return s
}

// WaitReady waits until /readyz answers 200, the process exits, or timeout.
func (s *Server) WaitReady(timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		if s.Exited() {
			return fmt.Errorf("exited with %v before it was ready", s.state)
		}
		resp, err := client.Get(s.Base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.notePlugins()
				return nil
			}
			err = fmt.Errorf("/readyz answered %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %v", timeout, err)
		}
		select {
		case <-s.exited:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// PID is the host process's id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Exited reports whether the host process has exited.
func (s *Server) Exited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// Wait waits up to timeout for the host to exit and returns its exit code
// (-1 when killed by a signal); ok is false on timeout.
func (s *Server) Wait(timeout time.Duration) (code int, ok bool) {
	select {
	case <-s.exited:
		return s.state.ExitCode(), true
	case <-time.After(timeout):
		return 0, false
	}
}

// Stop sends SIGTERM and waits for the exit (SIGKILL after 10 s). It returns the
// exit code. Safe to call more than once.
func (s *Server) Stop() int {
	if !s.Exited() {
		s.notePlugins()
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		if _, ok := s.Wait(10 * time.Second); !ok {
			_ = s.cmd.Process.Kill()
		}
	}
	<-s.exited
	return s.state.ExitCode()
}

// Signal sends sig to the host process and returns at once (Stop waits).
func (s *Server) Signal(sig os.Signal) error { return s.cmd.Process.Signal(sig) }

// Kill sends SIGKILL to the host (only to the host, as the kernel's OOM killer or
// `docker kill` would) and waits for it to be reaped. Plugin processes are left
// to their own devices; the harness kills leftovers when the test ends.
func (s *Server) Kill() {
	if s.Exited() {
		return
	}
	s.notePlugins()
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// PluginPIDs returns the host's live descendant processes: its plugins (and any
// process a plugin launch goes through).
func (s *Server) PluginPIDs() []int {
	if s.Exited() {
		return nil
	}
	return s.notePlugins()
}

func (s *Server) notePlugins() []int {
	pids := DescendantPIDs(s.PID())
	s.mu.Lock()
	for _, p := range pids {
		if !slices.Contains(s.pluginsSeen, p) {
			s.pluginsSeen = append(s.pluginsSeen, p)
		}
	}
	s.mu.Unlock()
	return pids
}

// PluginPID returns the process id of bridge id's plugin under the host (its
// argv[0] is the plugin's path), and fails the test if none runs.
func (s *Server) PluginPID(t testing.TB, id string) int {
	t.Helper()
	for _, pid := range s.PluginPIDs() {
		if filepath.Base(Argv0(pid)) == Prefix+id {
			return pid
		}
	}
	t.Fatalf("no %s%s process under the host (processes: %v)", Prefix, id, s.PluginPIDs())
	return 0
}

// PluginsSeen returns every plugin process id the harness has seen under the host.
func (s *Server) PluginsSeen() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pluginsSeen)
}

// killLeftovers kills plugin processes that outlived the host.
func (s *Server) killLeftovers() {
	for _, pid := range s.PluginsSeen() {
		if Alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// Stdout returns everything the server printed on stdout so far.
func (s *Server) Stdout() string {
	b, _ := os.ReadFile(s.stdoutPath)
	return string(b)
}

// Stderr returns everything the server printed on stderr so far (its logs).
func (s *Server) Stderr() string {
	b, _ := os.ReadFile(s.stderrPath)
	return string(b)
}

// StoreFile is the embedded store's file.
func (s *Server) StoreFile() string { return filepath.Join(s.DataDir, "smsplus.db") }

// Readyz returns /readyz's status code and the plugins' status from its detail.
func (s *Server) Readyz(t testing.TB) (int, []pluginhost.Status) {
	t.Helper()
	status, plugins, err := s.ReadyzErr()
	if err != nil {
		t.Fatal(err)
	}
	return status, plugins
}

// ReadyzErr is Readyz for goroutines.
func (s *Server) ReadyzErr() (int, []pluginhost.Status, error) {
	resp, err := http.Get(s.Base + "/readyz")
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Detail struct {
			Plugins []pluginhost.Status `json:"plugins"`
		} `json:"detail"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("/readyz: %w", err)
	}
	return resp.StatusCode, body.Detail.Plugins, nil
}

// PluginStatus returns the status of one bridge from /readyz.
func (s *Server) PluginStatus(t testing.TB, id string) (readyz int, st pluginhost.Status) {
	t.Helper()
	code, all := s.Readyz(t)
	for _, p := range all {
		if p.ID == id {
			return code, p
		}
	}
	t.Fatalf("/readyz (%d) lists no bridge %q: %+v", code, id, all)
	return 0, pluginhost.Status{}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
