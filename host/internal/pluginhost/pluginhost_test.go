package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smsplus/smsplus/sdk/bridge"
)

func touch(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
}

func TestDiscover(t *testing.T) {
	t.Parallel()
	first, second := t.TempDir(), t.TempDir()
	touch(t, filepath.Join(first, "smsplus-bridge-okta"), 0o755)
	touch(t, filepath.Join(first, "smsplus-bridge-noexec"), 0o644)
	touch(t, filepath.Join(first, "other-binary"), 0o755)
	touch(t, filepath.Join(first, "smsplus-bridge-"), 0o755)
	touch(t, filepath.Join(first, "smsplus-bridge-okta.sha256"), 0o755)
	if err := os.Mkdir(filepath.Join(first, "smsplus-bridge-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	touch(t, filepath.Join(second, "smsplus-bridge-okta"), 0o755)
	touch(t, filepath.Join(second, "smsplus-bridge-acme"), 0o755)

	found, err := Discover([]string{first, filepath.Join(first, "missing"), second})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range found {
		got = append(got, f.ID+"@"+filepath.Base(filepath.Dir(f.Path)))
	}
	want := []string{"acme@" + filepath.Base(second), "okta@" + filepath.Base(first)}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("found %v, want %v", got, want)
	}
}

func TestStartReportsEveryProblem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Not a plugin: it exits without the handshake.
	touch(t, filepath.Join(dir, "smsplus-bridge-broken"), 0o755)
	found, err := Discover([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	m := NewManager(Options{})
	err = m.Start(context.Background(), found, []string{"broken", "okta"})
	if err == nil {
		t.Fatal("start succeeded with a broken and a missing bridge")
	}
	for _, want := range []string{"bridge broken", "bridge okta is enabled but no smsplus-bridge-okta binary was found"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if len(m.Plugins()) != 0 {
		t.Error("a failed start left plugins running")
	}
}

func TestChecksum(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	sum, err := Checksum(path)
	if err != nil || sum != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("sum = %s, err = %v", sum, err)
	}
}

// The plugin binaries are built once per test run, into one directory.
var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// pluginDir builds every shipped bridge (once) and returns the directory that
// holds the binaries.
func pluginDir(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the plugin binaries")
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "smsplus-plugins-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", buildDir+"/", "github.com/smsplus/smsplus/plugins/...")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build plugins: %v\n%s", err, out)
			return
		}
		// go build names each binary after its package directory.
		entries, _ := os.ReadDir(buildDir)
		for _, e := range entries {
			if err := os.Rename(filepath.Join(buildDir, e.Name()), filepath.Join(buildDir, Prefix+e.Name())); err != nil {
				buildErr = err
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(envTestHostDir); dir != "" {
		runTestHost(dir, os.Getenv(envTestHostID)) // never returns
	}
	code := m.Run()
	for _, bin := range []string{buildDir, filepath.Dir(hostileBin)} {
		if bin != "" && bin != "." {
			_ = os.RemoveAll(bin)
		}
	}
	os.Exit(code)
}

// settings are valid settings for every shipped bridge.
var settings = map[string]string{
	"OKTA_SHARED_SECRET": "okta-test-secret-0123456789",
	"AUTH0_SECRET":       "auth0-test-secret-0123456789",
	"PING_SHARED_SECRET": "ping-test-secret-0123456789",
	"CYBERARK_PASS":      "cyberark-test-pass-0123456789",
	"FUSIONAUTH_PASS":    "fusionauth-test-pass-0123456789",
}

func settingsWith(extra map[string]string) func(string) string {
	return func(name string) string {
		if v, ok := extra[name]; ok {
			return v
		}
		return settings[name]
	}
}

func found(t *testing.T, ids ...string) []Found {
	t.Helper()
	all, err := Discover([]string{pluginDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	var out []Found
	for _, f := range all {
		if slices.Contains(ids, f.ID) {
			out = append(out, f)
		}
	}
	return out
}

// TestLifecycle launches every shipped bridge: configure refuses a missing
// secret, accepts a good one, and Stop ends the processes.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	ids := []string{"auth0", "cyberark", "fusionauth", "okta", "pingone"}
	fs := found(t, ids...)
	if len(fs) != len(ids) {
		t.Fatalf("found %v", fs)
	}

	m := NewManager(Options{Setting: settingsWith(map[string]string{"OKTA_SHARED_SECRET": "", "CYBERARK_PASS": ""})})
	err := m.Start(context.Background(), fs, ids)
	if err == nil || !strings.Contains(err.Error(), "OKTA_SHARED_SECRET") || !strings.Contains(err.Error(), "CYBERARK_PASS") {
		t.Fatalf("missing secrets: err = %v", err)
	}
	if len(m.Plugins()) != 0 {
		t.Fatal("a failed start left plugins running")
	}

	m = NewManager(Options{Setting: settingsWith(nil)})
	if err := m.Start(context.Background(), fs, ids); err != nil {
		t.Fatal(err)
	}
	if err := m.Ready(); err != nil {
		t.Fatal(err)
	}
	var procs []*Plugin
	for _, id := range ids {
		p, ok := m.Get(id)
		if !ok || !p.Alive() || p.Info.ID != id || p.Info.Protocol != 1 || p.Deadline() <= 0 || p.PID() == 0 {
			t.Fatalf("plugin %s = %+v", id, p)
		}
		if u := p.Unavailable(); u == nil || u.Status < 200 || len(u.Body) == 0 {
			t.Fatalf("%s: cached failure answer = %+v", id, u)
		}
		// Every refusal rendered at launch is the plugin's own answer to it;
		// an outcome with a transaction id, or another reason, is not cached.
		for _, out := range launchRendered {
			want, err := p.Respond(context.Background(), &out)
			if got := p.Rendered(out); err != nil || got == nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: rendered %+v = %+v, Respond says %+v (%v)", id, out, got, want, err)
			}
		}
		for _, out := range []bridge.Outcome{
			{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonSMSFailed},
			{Kind: bridge.OutcomeFailed, Reason: bridge.ReasonOverloaded, TransactionID: "sp_1"},
		} {
			if got := p.Rendered(out); got != nil {
				t.Fatalf("%s: %+v rendered at launch", id, out)
			}
		}
		procs = append(procs, p)
	}
	for _, st := range m.Status() {
		if !st.Found || !st.Enabled || !st.Running || st.Version == "" || st.Protocol != 1 || len(st.SHA256) != 64 || st.Pinned {
			t.Errorf("status %+v", st)
		}
	}
	m.Stop()
	for _, p := range procs {
		if p.Alive() {
			t.Errorf("%s still alive after Stop", p.ID)
		}
	}
	m.Stop() // twice is fine
}

func TestChecksumPinning(t *testing.T) {
	t.Parallel()
	fs := found(t, "cyberark")
	sum, err := Checksum(fs[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	wrong := strings.Repeat("0", 64)
	for name, tc := range map[string]struct {
		pin  string
		want string // substring of the error; "" = starts
	}{
		"matching pin":           {pin: sum},
		"matching pin, any case": {pin: strings.ToUpper(sum)},
		"wrong pin":              {pin: wrong, want: "does not match PLUGIN_SHA256_CYBERARK: not launched"},
		"not hex":                {pin: "sha256:" + sum, want: "PLUGIN_SHA256_CYBERARK is not a SHA-256 in hex"},
		"short":                  {pin: sum[:10], want: "is not a SHA-256"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := NewManager(Options{Setting: settingsWith(map[string]string{"PLUGIN_SHA256_CYBERARK": tc.pin})})
			defer m.Stop()
			err := m.Start(context.Background(), fs, []string{"cyberark"})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if st := m.Status(); len(st) != 1 || !st[0].Pinned || st[0].SHA256 != sum {
					t.Fatalf("status %+v", st)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	inspect := func(pin string) Inspection {
		m := NewManager(Options{Setting: settingsWith(map[string]string{"PLUGIN_SHA256_CYBERARK": pin})})
		return m.Inspect(context.Background(), fs, nil)[0]
	}
	if in := inspect(wrong); in.Info != nil || len(in.Problems) != 1 || !strings.Contains(in.Problems[0], "does not match") || in.SHA256 != sum {
		t.Errorf("Inspect with a wrong pin: %+v", in)
	}
	if in := inspect(sum); in.Info == nil || in.Info.ID != "cyberark" || len(in.Problems) != 0 || !in.Pinned {
		t.Errorf("Inspect = %+v", in)
	}
}

// TestRestart kills a plugin process: while it is down the plugin reports
// unavailable, then the supervisor launches a new process with backoff.
func TestRestart(t *testing.T) {
	t.Parallel()
	m := NewManager(Options{Setting: settingsWith(nil), RestartBackoff: 300 * time.Millisecond, PollInterval: 20 * time.Millisecond})
	defer m.Stop()
	if err := m.Start(context.Background(), found(t, "fusionauth"), []string{"fusionauth"}); err != nil {
		t.Fatal(err)
	}
	p, _ := m.Get("fusionauth")
	for round := 1; round <= 2; round++ {
		pid := p.PID()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the death to be seen", func() bool { return !p.Alive() })
		if err := m.Ready(); err == nil || !strings.Contains(err.Error(), "fusionauth") {
			t.Errorf("Ready while down = %v", err)
		}
		if _, err := p.Parse(context.Background(), &bridge.Request{Method: "POST"}); !errors.Is(err, bridge.ErrUnavailable) {
			t.Errorf("Parse while down: %v, want ErrUnavailable", err)
		}
		if p.Unavailable() == nil {
			t.Error("no failure answer while down")
		}
		waitFor(t, "the restart", p.Alive)
		if p.PID() == pid || p.Restarts() != uint64(round) || m.Restarts("fusionauth") != uint64(round) {
			t.Fatalf("after restart %d: pid %d (was %d), restarts %d", round, p.PID(), pid, p.Restarts())
		}
		res, err := p.Parse(context.Background(), &bridge.Request{Method: "GET"})
		if err != nil || res.Rejection == nil {
			t.Fatalf("Parse after restart: %+v, %v", res, err)
		}
	}
	if st := m.Status(); st[0].Restarts != 2 || !st[0].Running {
		t.Errorf("status %+v", st)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestChecksumSetting(t *testing.T) {
	t.Parallel()
	if got := ChecksumSetting("my-bridge"); got != "PLUGIN_SHA256_MY_BRIDGE" {
		t.Errorf("ChecksumSetting = %q", got)
	}
}

func TestPluginEnvCarriesNoSecrets(t *testing.T) {
	t.Parallel()
	env := pluginEnv([]string{"PATH=/bin", "OKTA_SHARED_SECRET=s3cret", "HASH_SALT=pepper", "TWILIO_API_SECRET=x",
		"TZ=UTC", "HTTPS_PROXY=http://proxy:3128", "PLUGIN_GOMAXPROCS=2"})
	got := strings.Join(env, "\n")
	for _, leak := range []string{"s3cret", "pepper", "TWILIO"} {
		if strings.Contains(got, leak) {
			t.Errorf("plugin environment leaks %q:\n%s", leak, got)
		}
	}
	for _, want := range []string{"PATH=/bin", "TZ=UTC", "HTTPS_PROXY=http://proxy:3128", "GOMAXPROCS=2"} {
		if !strings.Contains(got, want) {
			t.Errorf("plugin environment lacks %q:\n%s", want, got)
		}
	}
	if env := pluginEnv(nil); env[len(env)-1] != "GOMAXPROCS=1" {
		t.Errorf("default GOMAXPROCS: %v", env)
	}
}
