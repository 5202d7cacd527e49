package e2e

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Prefix is the file name prefix of bridge plugin binaries.
const Prefix = "smsplus-bridge-"

// ShippedBridges are the bridges the project ships, in ./plugins/<id>.
var ShippedBridges = []string{"auth0", "cyberark", "fusionauth", "okta", "pingone"}

// Binaries are built executables: the host and the shipped plugins.
type Binaries struct {
	// Smsplus is the host binary.
	Smsplus string
	// PluginDir holds smsplus-bridge-<id> for every shipped bridge. It is shared
	// by every test of the process: copy it (PluginDirWith) before changing it.
	PluginDir string
}

// Plugin returns the path of a shipped plugin binary.
func (b *Binaries) Plugin(id string) string { return filepath.Join(b.PluginDir, Prefix+id) }

var build struct {
	mu      sync.Mutex
	dir     string // the process's build directory, removed by Main
	shipped *Binaries
	err     error
	extra   map[string]string // cache key -> built binary
}

// buildDir returns the process-wide build directory, creating it once.
func buildDir() (string, error) {
	if build.dir == "" {
		dir, err := os.MkdirTemp("", "smsplus-e2e-")
		if err != nil {
			return "", err
		}
		build.dir = dir
	}
	return build.dir, nil
}

// Main runs the tests and removes the binaries built for them. Call it from
// TestMain: os.Exit(e2e.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	build.mu.Lock()
	defer build.mu.Unlock()
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
	return code
}

// ModuleRoot is the directory of the main module's go.mod, found from the
// working directory (go test runs a test in its package's directory).
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside a Go module")
	}
	return filepath.Dir(mod), nil
}

// Shipped builds smsplus (./cmd/smsplus) and every shipped plugin
// (./plugins/<id>) once per test process and returns them. A build failure fails
// every test that asks.
func Shipped(t testing.TB) *Binaries {
	t.Helper()
	build.mu.Lock()
	defer build.mu.Unlock()
	if build.shipped == nil && build.err == nil {
		build.shipped, build.err = buildShipped()
	}
	if build.err != nil {
		t.Fatalf("build the binaries: %v", build.err)
	}
	return build.shipped
}

func buildShipped() (*Binaries, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	dir, err := buildDir()
	if err != nil {
		return nil, err
	}
	out := filepath.Join(dir, "shipped")
	plugins := filepath.Join(out, "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		return nil, err
	}
	// One go build for all: the packages share most of their dependencies.
	args := []string{"build", "-o", out + string(filepath.Separator), "./cmd/smsplus"}
	for _, id := range ShippedBridges {
		args = append(args, "./plugins/"+id)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	for _, id := range ShippedBridges {
		if err := os.Rename(filepath.Join(out, id), filepath.Join(plugins, Prefix+id)); err != nil {
			return nil, err
		}
	}
	// Plugin files and folders writable by group or others are an attack path;
	// whatever the umask, the harness's are not.
	if err := secure(plugins); err != nil {
		return nil, err
	}
	if err := os.Chmod(out, 0o755); err != nil {
		return nil, err
	}
	return &Binaries{Smsplus: filepath.Join(out, "smsplus"), PluginDir: plugins}, nil
}

// secure sets a plugin directory to 0755 and every file in it to 0755.
func secure(dir string) error {
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Chmod(filepath.Join(dir, e.Name()), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// BuildPlugin builds the main package in srcDir (a directory of its own module,
// e.g. a bridge written against the SDK alone, or a package of this module) once
// per process for the same arguments, and returns the binary's path. ldflags,
// when not empty, is passed as -ldflags (e.g. "-X main.id=polite"). The binary
// is not in any plugin directory; put it in one with PluginDirWith.
func BuildPlugin(t testing.TB, srcDir, ldflags string) string {
	t.Helper()
	abs, err := filepath.Abs(srcDir)
	if err != nil {
		t.Fatal(err)
	}
	key := abs + "\x00" + ldflags
	build.mu.Lock()
	defer build.mu.Unlock()
	if bin, ok := build.extra[key]; ok {
		return bin
	}
	dir, err := buildDir()
	if err != nil {
		t.Fatal(err)
	}
	if build.extra == nil {
		build.extra = map[string]string{}
	}
	out := filepath.Join(dir, "extra", fmt.Sprint(len(build.extra)), filepath.Base(abs))
	args := []string{"build", "-o", out}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = abs
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build in %s: %v\n%s", abs, err, msg)
	}
	build.extra[key] = out
	return out
}

// PluginDirWith makes a private plugin directory (mode 0755) for one test: a copy
// of the named shipped plugins, plus extra binaries installed as
// smsplus-bridge-<id> (id -> path of a binary, e.g. from BuildPlugin). Files are
// copied, never linked, so a test may replace or chmod them freely.
func (b *Binaries) PluginDirWith(t testing.TB, shipped []string, extra map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "plugins")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, id := range shipped {
		if err := CopyFile(b.Plugin(id), filepath.Join(dir, Prefix+id)); err != nil {
			t.Fatal(err)
		}
	}
	for id, src := range extra {
		if err := CopyFile(src, filepath.Join(dir, Prefix+id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := secure(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// CopyFile copies src to dst (created or truncated, mode 0755).
func CopyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Run runs smsplus with args in an empty working directory (no ./.env), with
// exactly env (a server's Env, say, or DefaultEnv), and returns its exit code
// (-1 if a signal ended it) and its output, stdout and stderr together.
func (b *Binaries) Run(t testing.TB, env []string, args ...string) (code int, out string) {
	t.Helper()
	cmd := exec.Command(b.Smsplus, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = env
	raw, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(raw)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(raw)
	}
	t.Fatalf("smsplus %s: %v", strings.Join(args, " "), err)
	return 0, ""
}
