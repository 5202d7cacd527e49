package pluginhost

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tree makes base/above/plugins/smsplus-bridge-x and returns the three paths.
func tree(t *testing.T, aboveMode os.FileMode) (above, dir, file string) {
	t.Helper()
	above = filepath.Join(t.TempDir(), "above")
	dir = filepath.Join(above, "plugins")
	file = filepath.Join(dir, Prefix+"x")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	touch(t, file, 0o755)
	for path, mode := range map[string]os.FileMode{above: aboveMode, dir: 0o755, file: 0o755} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	return above, dir, file
}

func problems(t *testing.T, file string) string {
	t.Helper()
	b, err := openBinary(file)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	return strings.Join(b.problems, "\n")
}

func TestPermissionScope(t *testing.T) {
	t.Parallel()
	t.Run("private tree under /tmp", func(t *testing.T) {
		t.Parallel()
		// The temporary folders sit under /tmp: world-writable, with the sticky bit.
		_, _, file := tree(t, 0o755)
		if p := problems(t, file); p != "" {
			t.Errorf("problems: %s", p)
		}
	})
	t.Run("writable folder above", func(t *testing.T) {
		t.Parallel()
		above, _, file := tree(t, 0o777)
		if p := problems(t, file); !strings.Contains(p, "chmod go-w "+above) || strings.Count(p, "\n") != 0 {
			t.Errorf("problems: %s", p)
		}
	})
	t.Run("sticky folder above", func(t *testing.T) {
		t.Parallel()
		_, _, file := tree(t, 0o777|os.ModeSticky)
		if p := problems(t, file); p != "" {
			t.Errorf("problems: %s", p)
		}
	})
	t.Run("symlinked plugin folder", func(t *testing.T) {
		t.Parallel()
		_, dir, _ := tree(t, 0o755)
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(t.TempDir(), "link")
		if err := os.Symlink(dir, link); err != nil {
			t.Fatal(err)
		}
		if p := problems(t, filepath.Join(link, Prefix+"x")); !strings.Contains(p, "the plugin folder "+dir+" is writable") {
			t.Errorf("problems: %s", p)
		}
	})
	t.Run("symlinked file", func(t *testing.T) {
		t.Parallel()
		_, dir, file := tree(t, 0o755)
		link := filepath.Join(dir, Prefix+"y")
		if err := os.Symlink(file, link); err != nil {
			t.Fatal(err)
		}
		if _, err := openBinary(link); err == nil {
			t.Error("opened a plugin through a symbolic link")
		}
	})
	t.Run("another owner", func(t *testing.T) {
		t.Parallel()
		if os.Geteuid() != 0 {
			t.Skip("needs root to give a file away")
		}
		_, dir, file := tree(t, 0o755)
		for _, path := range []string{dir, file} {
			if err := os.Chown(path, 4242, 4242); err != nil {
				t.Fatal(err)
			}
		}
		p := problems(t, file)
		for _, path := range []string{dir, file} {
			if !strings.Contains(p, path+" belongs to uid 4242") || !strings.Contains(p, "chown root "+path) {
				t.Errorf("no owner problem for %s: %s", path, p)
			}
		}
	})
}

// TestInsecurePermissionsOverride: PLUGIN_ALLOW_INSECURE_PERMISSIONS starts the
// plugin anyway, and `smsplus plugins` still shows the problem.
func TestInsecurePermissionsOverride(t *testing.T) {
	t.Parallel()
	dir := testDir(t)
	f := install(t, hostileBinary(t), dir, "lax")
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	m := NewManager(Options{AllowInsecurePermissions: true})
	defer m.Stop()
	if err := m.Start(context.Background(), []Found{f}, []string{f.ID}); err != nil {
		t.Fatal(err)
	}
	in := m.Inspect(context.Background(), []Found{f}, []string{f.ID})[0]
	if in.Info == nil || len(in.Problems) != 1 || !strings.Contains(in.Problems[0], "(accepted: PLUGIN_ALLOW_INSECURE_PERMISSIONS=true)") {
		t.Errorf("inspection %+v", in)
	}
	strict := NewManager(Options{}).Inspect(context.Background(), []Found{f}, nil)[0]
	if strict.Info != nil || len(strict.Problems) != 1 || !strings.Contains(strict.Problems[0], "chmod go-w "+dir) {
		t.Errorf("strict inspection launched it or hid the problem: %+v", strict)
	}
}

// TestInspectShowsNamespaceProblems: `smsplus plugins` names a hostile plugin's
// settings without configuring it.
func TestInspectShowsNamespaceProblems(t *testing.T) {
	t.Parallel()
	f := install(t, hostileBinary(t), testDir(t), "hostile")
	in := NewManager(Options{Setting: everything(filepath.Join(t.TempDir(), "r"))}).Inspect(context.Background(), []Found{f}, nil)[0]
	if in.Info == nil || len(in.SHA256) != 64 || len(in.Problems) != 1 || !strings.Contains(in.Problems[0], "HASH_SALT (a host setting)") {
		t.Errorf("inspection %+v", in)
	}
}
