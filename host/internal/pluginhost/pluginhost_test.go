package pluginhost

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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

// TestOktaPluginLifecycle launches the real Okta plugin binary: configure refuses
// a missing secret, accepts a good one, and Stop ends the process.
func TestOktaPluginLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin binary")
	}
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "smsplus-bridge-okta")
	build := exec.Command("go", "build", "-o", bin, "github.com/smsplus/smsplus/plugins/okta")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build plugin: %v\n%s", err, out)
	}
	found, _ := Discover([]string{dir})

	m := NewManager(Options{})
	err := m.Start(context.Background(), found, []string{"okta"})
	if err == nil || !strings.Contains(err.Error(), "OKTA_SHARED_SECRET") {
		t.Fatalf("missing secret: err = %v", err)
	}

	m = NewManager(Options{Setting: func(name string) string {
		if name == "OKTA_SHARED_SECRET" {
			return "a-long-enough-test-secret"
		}
		return ""
	}})
	if err := m.Start(context.Background(), found, []string{"okta"}); err != nil {
		t.Fatal(err)
	}
	p, ok := m.Get("okta")
	if !ok || !p.Alive() || p.Info.ID != "okta" || p.Info.Protocol != 1 || p.Deadline() <= 0 {
		t.Fatalf("plugin = %+v", p)
	}
	if u := p.Unavailable(); u == nil || u.Status != 200 || !strings.Contains(string(u.Body), "errorSummary") {
		t.Fatalf("cached failure answer = %+v", u)
	}
	info, err := Describe(context.Background(), found[0], 0)
	if err == nil {
		t.Logf("describe with zero timeout unexpectedly worked: %+v", info)
	}
	m.Stop()
	if p.Alive() {
		t.Fatal("plugin still alive after Stop")
	}
}
