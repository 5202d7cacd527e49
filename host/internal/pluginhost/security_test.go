package pluginhost

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smsplus/smsplus/sdk/bridge"
)

// The test bridge of testdata/hostile, built once per run. It takes its id from
// its file name, so each test copies it under the names it needs.
var (
	hostileOnce sync.Once
	hostileBin  string
	hostileErr  error
)

func hostileBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the test bridge")
	}
	hostileOnce.Do(func() {
		dir, err := os.MkdirTemp("", "smsplus-hostile-")
		if err != nil {
			hostileErr = err
			return
		}
		hostileBin = filepath.Join(dir, "hostile")
		cmd := exec.Command("go", "build", "-o", hostileBin, ".")
		cmd.Dir = filepath.Join("testdata", "hostile")
		if out, err := cmd.CombinedOutput(); err != nil {
			hostileErr = fmt.Errorf("build testdata/hostile: %v\n%s", err, out)
		}
	})
	if hostileErr != nil {
		t.Fatal(hostileErr)
	}
	return hostileBin
}

// install copies the binary at src into dir as the plugin of bridge id.
func install(t testing.TB, src, dir, id string) Found {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, Prefix+id)
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	return Found{ID: id, Path: path}
}

// testDir is a private folder for plugins (0700 whatever the umask).
func testDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "plugins")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

func sum(t testing.TB, path string) string {
	t.Helper()
	s, err := Checksum(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// everything answers every setting a bridge may ask for, host secrets included,
// and REPORT settings with the given file. It pins nothing.
func everything(report string) func(string) string {
	return func(name string) string {
		switch {
		case strings.HasPrefix(name, "PLUGIN_SHA256_"):
			return ""
		case strings.HasSuffix(name, "_REPORT"):
			return report
		}
		return "value-of-" + name
	}
}

// TestHostileBridgeIsRefused: a bridge that declares host secrets, another
// bridge's secret and an arbitrary variable is refused at start, every offending
// setting named with the rule, and it never receives a value.
func TestHostileBridgeIsRefused(t *testing.T) {
	t.Parallel()
	dir := testDir(t)
	f := install(t, hostileBinary(t), dir, "hostile")
	report := filepath.Join(t.TempDir(), "received.json")
	m := NewManager(Options{Setting: everything(report)})
	defer m.Stop()
	err := m.Start(context.Background(), []Found{f}, []string{"hostile"})
	if err == nil {
		got, _ := os.ReadFile(report)
		t.Fatalf("the hostile bridge started and received %s", got)
	}
	for _, want := range []string{"HASH_SALT", "DATA_ENCRYPTION_KEY", "OKTA_SHARED_SECRET", "AWS_SECRET_ACCESS_KEY",
		"HOSTILE_", "DEFAULT_PHONE_REGION", "namespace"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not name %s:\n%v", want, err)
		}
	}
	for _, allowed := range []string{"HOSTILE_REPORT,", "HOSTILE_REPORT ", "value-of-"} {
		if strings.Contains(err.Error(), allowed) {
			t.Errorf("the refusal names %q, which is not at fault or is a value:\n%v", allowed, err)
		}
	}
	t.Logf("refusal: %v", err)
	if _, statErr := os.Stat(report); !errors.Is(statErr, os.ErrNotExist) {
		got, _ := os.ReadFile(report)
		t.Errorf("the refused bridge was configured with %s", got)
	}
	if len(m.Plugins()) != 0 {
		t.Error("a refused bridge is left running")
	}
}

// TestBridgeReceivesOnlyItsNamespace: a bridge gets its own settings and the
// allowlist, even when the host could answer more.
func TestBridgeReceivesOnlyItsNamespace(t *testing.T) {
	t.Parallel()
	dir := testDir(t)
	f := install(t, hostileBinary(t), dir, "polite-one")
	report := filepath.Join(t.TempDir(), "received.json")
	m := NewManager(Options{Setting: everything(report)})
	defer m.Stop()
	if err := m.Start(context.Background(), []Found{f}, []string{"polite-one"}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"POLITE_ONE_REPORT": report, "DEFAULT_PHONE_REGION": "value-of-DEFAULT_PHONE_REGION"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("received %v, want %v", got, want)
	}
}

// waitStatus waits until the status of bridge id satisfies cond.
func waitStatus(t *testing.T, m *Manager, id string, what string, cond func(Status) bool) Status {
	t.Helper()
	var last Status
	waitFor(t, what, func() bool {
		for _, st := range m.Status() {
			if st.ID == id {
				last = st
				return cond(st)
			}
		}
		return false
	})
	return last
}

// replace puts a different binary at path the way an attacker or a careless
// deploy would: a new file renamed over the old one. The new one behaves the
// same (a Go binary runs with bytes appended) but has another SHA-256.
func replace(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, "not the verified binary"...)
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestChangedBinaryIsNotRestarted: a binary replaced on disk after the first
// launch is refused when the plugin restarts, pinned or not, and the plugin stays
// down (answering the vendor's failure) until the original is back.
func TestChangedBinaryIsNotRestarted(t *testing.T) {
	t.Parallel()
	for _, pinned := range []bool{false, true} {
		t.Run(fmt.Sprintf("pinned=%v", pinned), func(t *testing.T) {
			t.Parallel()
			dir := testDir(t)
			f := install(t, hostileBinary(t), dir, "changing")
			original := sum(t, f.Path)
			settings := map[string]string{}
			if pinned {
				settings[ChecksumSetting(f.ID)] = original
			}
			m := NewManager(Options{Setting: settingsWith(settings), RestartBackoff: 20 * time.Millisecond,
				MaxRestartBackoff: 50 * time.Millisecond, PollInterval: 10 * time.Millisecond})
			defer m.Stop()
			if err := m.Start(context.Background(), []Found{f}, []string{f.ID}); err != nil {
				t.Fatal(err)
			}
			p, _ := m.Get(f.ID)
			if st := m.Status(); st[0].SHA256 != original {
				t.Fatalf("status sha256 %s, want %s", st[0].SHA256, original)
			}
			backup := f.Path + ".orig"
			if err := os.Link(f.Path, backup); err != nil {
				t.Fatal(err)
			}
			changed := replace(t, f.Path)
			if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			want := "changed since first launch"
			if pinned {
				want = "does not match " + ChecksumSetting(f.ID)
			}
			st := waitStatus(t, m, f.ID, "the refused restart", func(st Status) bool { return st.Error != "" })
			t.Logf("status error: %s", st.Error)
			if !strings.Contains(st.Error, want) || !strings.Contains(st.Error, changed) {
				t.Errorf("status error %q, want %q and the new sum", st.Error, want)
			}
			if st.Running || st.SHA256 != original || st.Restarts != 0 || p.Alive() {
				t.Errorf("after the refusal: %+v", st)
			}
			if err := m.Ready(); err == nil {
				t.Error("ready with a refused bridge")
			}
			if _, err := p.Parse(context.Background(), &bridge.Request{Method: "POST"}); !errors.Is(err, bridge.ErrUnavailable) {
				t.Errorf("Parse while refused: %v", err)
			}
			if p.Unavailable() == nil {
				t.Error("no failure answer while refused")
			}
			// The original back in place: the next try launches it.
			if err := os.Rename(backup, f.Path); err != nil {
				t.Fatal(err)
			}
			st = waitStatus(t, m, f.ID, "the restart of the original", func(st Status) bool { return st.Running })
			if st.Error != "" || st.SHA256 != original || st.Restarts != 1 {
				t.Errorf("after the original came back: %+v", st)
			}
		})
	}
}

// TestInsecurePermissionsAreRefused: a plugin file or folder that group or others
// may write is refused at start, with the fix in the message.
func TestInsecurePermissionsAreRefused(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		dirMode, fileMode os.FileMode
		culprit           string // "dir" or "file"
	}{
		"world-writable folder":        {dirMode: 0o777, fileMode: 0o755, culprit: "dir"},
		"group-writable folder":        {dirMode: 0o775, fileMode: 0o755, culprit: "dir"},
		"sticky world-writable folder": {dirMode: 0o777 | os.ModeSticky, fileMode: 0o755, culprit: "dir"},
		"group-writable file":          {dirMode: 0o755, fileMode: 0o775, culprit: "file"},
		"world-writable file":          {dirMode: 0o700, fileMode: 0o757, culprit: "file"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := testDir(t)
			f := install(t, hostileBinary(t), dir, "perms")
			if err := os.Chmod(f.Path, tc.fileMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.dirMode); err != nil {
				t.Fatal(err)
			}
			m := NewManager(Options{})
			defer m.Stop()
			err := m.Start(context.Background(), []Found{f}, []string{f.ID})
			culprit := dir
			if tc.culprit == "file" {
				culprit = f.Path
			}
			if err == nil || !strings.Contains(err.Error(), "chmod go-w "+culprit) || !strings.Contains(err.Error(), "PLUGIN_ALLOW_INSECURE_PERMISSIONS") {
				t.Fatalf("err = %v, want a refusal naming chmod go-w %s", err, culprit)
			}
			t.Logf("refusal: %v", err)
		})
	}
}

// processGone reports whether pid has exited (a zombie that no one has reaped yet
// has exited too).
func processGone(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// Environment of the helper process that plays the host in TestPluginsDieWithHost.
const (
	envTestHostDir = "PLUGINHOST_TEST_HOST_DIR"
	envTestHostID  = "PLUGINHOST_TEST_HOST_ID"
)

// runTestHost starts one plugin, prints its pid and waits to be killed. It runs
// in a child process (see TestMain).
func runTestHost(dir, id string) {
	found, err := Discover([]string{dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	m := NewManager(Options{})
	if err := m.Start(context.Background(), found, []string{id}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// Threads come and go in a host (a goroutine that exits while locked to its
	// thread ends it); the plugin must outlive them and die only with the host.
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		}()
	}
	wg.Wait()
	time.Sleep(100 * time.Millisecond)
	p, _ := m.Get(id)
	if !p.Alive() {
		fmt.Fprintln(os.Stderr, "the plugin died with a thread of the host")
		os.Exit(2)
	}
	fmt.Println(p.PID())
	select {}
}

// TestPluginsDieWithHost: when the host is killed with SIGKILL (no chance to stop
// its plugins), its plugin exits within 2 s. The plugin serves without the SDK's
// watchdog, so this is the host's doing.
func TestPluginsDieWithHost(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("the host side of this guarantee is Linux's parent-death signal")
	}
	dir := testDir(t)
	install(t, hostileBinary(t), dir, "orphan")
	host := exec.Command(os.Args[0], "-test.run=^$")
	host.Env = append(os.Environ(), envTestHostDir+"="+dir, envTestHostID+"=orphan")
	var stderr bytes.Buffer
	host.Stderr = &stderr
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, convErr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || convErr != nil {
		_ = host.Process.Kill()
		_ = host.Wait()
		t.Fatalf("test host: %q %v\n%s", line, err, stderr.String())
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	if processGone(pid) {
		t.Fatal("the plugin is not running")
	}
	if err := host.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = host.Wait()
	for !processGone(pid) {
		if time.Since(killed) > 2*time.Second {
			t.Fatalf("plugin %d still running 2 s after its host was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the plugin was gone %s after the host was killed", time.Since(killed).Round(time.Millisecond))
}

// TestVerifiedFileIsWhatRuns: a binary swapped on disk between its check and its
// launch is not what runs: the process runs the very file that was hashed.
func TestVerifiedFileIsWhatRuns(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/<pid>/exe")
	}
	dir := testDir(t)
	f := install(t, hostileBinary(t), dir, "swapped")
	original := sum(t, f.Path)
	var swapped string
	var once sync.Once
	m := NewManager(Options{afterVerify: func(string) { once.Do(func() { swapped = replace(t, f.Path) }) }})
	defer m.Stop()
	if err := m.Start(context.Background(), []Found{f}, []string{f.ID}); err != nil {
		t.Fatal(err)
	}
	if swapped == "" || swapped == original {
		t.Fatal("the test did not swap the binary")
	}
	p, _ := m.Get(f.ID)
	running := sum(t, "/proc/"+strconv.Itoa(p.PID())+"/exe")
	if running != original {
		t.Errorf("the process runs %s, not the verified %s", running, original)
	}
	if st := m.Status(); st[0].SHA256 != running {
		t.Errorf("status reports %s, the process runs %s", st[0].SHA256, running)
	}
}
