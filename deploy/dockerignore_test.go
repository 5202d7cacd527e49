package deploy

import (
	"errors"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// .dockerignore keeps every tracked file, so the build sees the tree and
// `smsplus version` reports an unmodified revision.
func TestDockerignoreKeepsTrackedFiles(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(need(t, "git"), "-C", root, "ls-files")
	tracked, err := cmd.Output()
	if err != nil {
		// An export without .git (a tarball): nothing is tracked to compare with.
		// CI runs in a checkout, where this check must run.
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = errors.New(strings.TrimSpace(string(ee.Stderr)))
		}
		if inCI() {
			t.Fatalf("git ls-files: %v: CI must check .dockerignore against the tracked files", err)
		}
		t.Skipf("not a git checkout (%v): .dockerignore not checked against tracked files", err)
	}
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	files := strings.Split(strings.TrimSpace(string(tracked)), "\n")
	if len(files) < 100 {
		t.Fatalf("git ls-files lists %d files: not this repository", len(files))
	}
	for _, f := range files {
		if p := dockerIgnored(string(ignore), f); p != "" {
			t.Errorf(".dockerignore pattern %q hides the tracked file %s", p, f)
		}
	}
}

// dockerIgnored reads the pattern forms Docker reads as Docker does: a check
// built on it must be able to fail.
func TestDockerIgnored(t *testing.T) {
	t.Parallel()
	const patterns = `# a comment
/bin/
**/.env
*.test
/plugins/*/smsplus-bridge-*
docs/*.md
!docs/keep.md
`
	for file, want := range map[string]string{
		"bin/smsplus":                          "/bin/",
		"host/bin/x":                           "",
		".env":                                 "**/.env",
		"configs/.env":                         "**/.env",
		"configs/.env.example":                 "",
		"host.test":                            "*.test",
		"host/host.test":                       "",
		"plugins/okta/smsplus-bridge-okta":     "/plugins/*/smsplus-bridge-*",
		"plugins/okta/okta.go":                 "",
		"docs/flow.md":                         "docs/*.md",
		"docs/keep.md":                         "",
		"Dockerfile":                           "",
		"host/internal/e2e/doc.go":             "",
		"plugins/okta/smsplus-bridge-okta/sub": "/plugins/*/smsplus-bridge-*",
	} {
		if got := dockerIgnored(patterns, file); got != want {
			t.Errorf("dockerIgnored(%q) = %q, want %q", file, got, want)
		}
	}
}

// dockerIgnored returns the .dockerignore pattern that excludes file, if any.
// It knows what Docker does with the forms SMS+ uses: paths from the context
// root (a leading / changes nothing), **/ for any depth, shell globs, "!" to
// include again, and a match on a directory excludes what is below it.
func dockerIgnored(patterns, file string) string {
	parts := strings.Split(file, "/")
	hit := ""
	for _, p := range strings.Split(patterns, "\n") {
		p = strings.TrimSpace(p)
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		negate := strings.HasPrefix(p, "!")
		pat := strings.Trim(strings.TrimPrefix(p, "!"), "/")
		anyDepth := strings.HasPrefix(pat, "**/")
		pat = strings.TrimPrefix(pat, "**/")
		matched := false
		for i := range parts {
			if i > 0 && !anyDepth {
				break
			}
			for j := i + 1; j <= len(parts); j++ {
				if ok, _ := path.Match(pat, strings.Join(parts[i:j], "/")); ok {
					matched = true
				}
			}
		}
		if matched {
			hit = p
			if negate {
				hit = ""
			}
		}
	}
	return hit
}
