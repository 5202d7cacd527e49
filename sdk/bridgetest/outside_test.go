package bridgetest

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleOutsideTheRepo does what sdk/README.md tells a bridge author to do:
// copy sdk/examples/minimal to an empty folder of another name, outside this
// repository, make it a module of its own, build it and run its tests (the
// conformance kit, in-process and on the built binary). The one step a real
// author skips is the replace, which points the copy at this checkout's SDK
// instead of the published sdk/vX.Y.Z tag its go.mod requires.
func TestExampleOutsideTheRepo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a copy of the example")
	}
	sdk, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "acme-bridge") // not named after the bridge's id
	if err := copyTree(filepath.Join(sdk, "examples", "minimal"), dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"go.work", "../go.work"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Fatalf("the copy found %s: it would not build against the tagged SDK", f)
		}
	}
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		// No workspace, no network: the copy builds from its go.mod, go.sum and
		// the module cache, as a fresh checkout of a bridge would.
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off", "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// The README's steps, but for `go mod tidy`, which a real author runs to
	// fetch the tagged SDK (and which needs the network).
	run("go", "mod", "edit", "-module", "example.com/acme-bridge")
	run("go", "mod", "edit", "-replace", "github.com/smsplus/smsplus/sdk="+sdk) // only until sdk/v1.0.0 is tagged
	out := run("go", "test", "-count=1", "./...")
	if !strings.Contains(out, "ok  \texample.com/acme-bridge") {
		t.Fatalf("go test of the copy:\n%s", out)
	}
	run("go", "build", "-trimpath", "-ldflags=-s -w", "-o", "smsplus-bridge-minimal", ".")
	if _, err := os.Stat(filepath.Join(dir, "smsplus-bridge-minimal")); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies the regular files under src to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}
