package attack_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smsplus/smsplus/host/internal/e2e"
)

// TestAttackReplacedPluginBinaryRunsOnRestart.
//
// Attacker: someone who can write the plugin folder (a compromised deploy step, a
// shared volume) but not the host's configuration. The Okta plugin is not pinned
// (no PLUGIN_SHA256_OKTA): they replace its file with a trojaned build, then wait
// for (or cause) the plugin process to die.
//
// Path: pluginhost supervise -> relaunch of the same path. The replacement ran on
// the first restart, silently, and /readyz kept showing the first binary's
// checksum, so the operator saw nothing.
//
// Defence proved: every launch verifies the very file it runs; a binary that
// changed since the first launch is refused unless the pin says so: the bridge is
// reported down with the error "changed since first launch", /readyz is not
// ready, the status's sha256 is the one that ran, and no process runs the new file.
func TestAttackReplacedPluginBinaryRunsOnRestart(t *testing.T) {
	skipShort(t)
	t.Parallel()
	bin := e2e.Shipped(t)
	dir := bin.PluginDirWith(t, []string{"okta"}, nil)
	s := bin.Start(t, "PLUGIN_DIR="+dir, "PLUGIN_RESTART_BACKOFF_MS=100")
	file := filepath.Join(dir, e2e.Prefix+"okta")
	original, err := e2e.FileSHA256(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, st := s.PluginStatus(t, "okta"); st.SHA256 != original || st.Pinned {
		t.Fatalf("before the attack: status %+v, want sha256 %s, not pinned", st, original)
	}
	var running []int // the Okta plugin's process(es): they run the original file
	for _, pid := range s.PluginPIDs() {
		if sum, err := e2e.ExeSHA256(pid); err == nil && sum == original {
			running = append(running, pid)
		}
	}
	if len(running) == 0 {
		t.Fatalf("no process under the host runs the okta plugin (processes: %v)", s.PluginPIDs())
	}

	// The replacement: the same bridge with bytes appended (an ELF file runs the
	// same with trailing data), so it is a working Okta bridge with another hash.
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tmp := file + ".new"
	if err := os.WriteFile(tmp, append(raw, []byte("\x00trojaned by the attack test")...), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	replaced, _ := e2e.FileSHA256(file)
	for _, pid := range running {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}

	// Wait for the host to act on the death: a restart or an error.
	deadline := time.Now().Add(15 * time.Second)
	var ready int
	for {
		code, st := s.PluginStatus(t, "okta")
		if st.Restarts > 0 || st.Error != "" {
			ready = code
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the host did nothing about the dead plugin in 15 s: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var runningNew []int
	for _, pid := range s.PluginPIDs() {
		if sum, err := e2e.ExeSHA256(pid); err == nil && sum == replaced {
			runningNew = append(runningNew, pid)
		}
	}
	_, st := s.PluginStatus(t, "okta")
	if len(runningNew) > 0 {
		t.Errorf("the replaced binary runs (pid %v) after the plugin died: /readyz %d, status running=%v restarts=%d error=%q, "+
			"sha256 reported %.12s… (the file on disk is now %.12s…)", runningNew, ready, st.Running, st.Restarts, st.Error, st.SHA256, replaced)
	}
	if !strings.Contains(st.Error, "changed since first launch") || st.Running {
		t.Errorf("bridge status after the file was replaced: running=%v error=%q; want it down with \"changed since first launch\"", st.Running, st.Error)
	}
	if ready == 200 {
		t.Errorf("/readyz answers 200 while the bridge's binary was replaced")
	}
	if st.SHA256 != original {
		t.Errorf("status sha256 %.12s…, want the binary that ran, %.12s…", st.SHA256, original)
	}
}

// TestAttackWritablePluginFolder.
//
// Attacker: any local user or container process other than the host's owner, when
// the plugin folder or a plugin file is writable by group or others (a careless
// chmod, a volume mounted 0777). They can replace a bridge before it is first
// launched, which no checksum learned at launch can catch.
//
// Path: pluginhost.Discover -> launch. Permissions were not looked at.
//
// Defence proved: a plugin folder or file writable by group or others is refused
// at start (exit != 0, naming PLUGIN_ALLOW_INSECURE_PERMISSIONS), and starts only
// with PLUGIN_ALLOW_INSECURE_PERMISSIONS=true.
func TestAttackWritablePluginFolder(t *testing.T) {
	skipShort(t)
	t.Parallel()
	bin := e2e.Shipped(t)
	for _, tc := range []struct {
		name      string
		dir, file os.FileMode
	}{
		{"world-writable folder", 0o777, 0o755},
		{"group-writable folder", 0o775, 0o755},
		{"world-writable plugin file", 0o755, 0o757},
		{"group-writable plugin file", 0o755, 0o775},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := bin.PluginDirWith(t, []string{"okta"}, nil)
			if err := os.Chmod(filepath.Join(dir, e2e.Prefix+"okta"), tc.file); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.dir); err != nil {
				t.Fatal(err)
			}
			r := bin.StartExpectingFailure(t, "PLUGIN_DIR="+dir)
			switch {
			case r.Started:
				t.Errorf("smsplus serve started with a plugin folder %o and plugin file %o", tc.dir, tc.file)
				r.Server.Stop()
			case r.Code == 0 || !strings.Contains(r.Stderr+r.Stdout, "PLUGIN_ALLOW_INSECURE_PERMISSIONS"):
				t.Errorf("refused with exit code %d and a message that does not name PLUGIN_ALLOW_INSECURE_PERMISSIONS:\n%s", r.Code, r.Stderr)
			}
			// The explicit override starts it.
			s := bin.Start(t, "PLUGIN_DIR="+dir, "PLUGIN_ALLOW_INSECURE_PERMISSIONS=true")
			s.Stop()
		})
	}
}

// TestAttackHostKillLeavesPlugins.
//
// Attacker: none needed; the OOM killer, `docker kill` or a crash kills the host
// with SIGKILL. Orphaned plugin processes kept running forever, each holding the
// bridge's configured secret in memory, and piled up with every restart.
//
// Path: host SIGKILL -> no Manager.Stop -> plugins orphaned.
//
// Defence proved: every plugin process exits within 2 s of the host's death,
// even by SIGKILL.
func TestAttackHostKillLeavesPlugins(t *testing.T) {
	skipShort(t)
	t.Parallel()
	s := e2e.Shipped(t).Start(t, "ENABLED_BRIDGES="+strings.Join(e2e.ShippedBridges, ","))
	pids := s.PluginPIDs()
	if len(pids) < len(e2e.ShippedBridges) {
		t.Fatalf("plugin processes under the host: %v, want at least %d", pids, len(e2e.ShippedBridges))
	}
	s.Kill()
	deadline := time.Now().Add(2 * time.Second)
	for {
		var alive []int
		for _, pid := range pids {
			if e2e.Alive(pid) {
				alive = append(alive, pid)
			}
		}
		if len(alive) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("2 s after the host was killed with SIGKILL, %d of %d plugin processes still run: %v", len(alive), len(pids), alive)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
