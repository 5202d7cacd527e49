package pluginhost

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// binary is a plugin executable opened for one launch. The host checks and hashes
// this open file and then executes this same file (see command), so a file put
// at the path after the check is not what runs: there is no window between the
// check and the exec.
type binary struct {
	path string
	file *os.File
	sum  []byte
	// problems are the ways others could replace this binary, each with its fix;
	// the caller decides whether they refuse it (PLUGIN_ALLOW_INSECURE_PERMISSIONS).
	problems []string
}

// openBinary opens the plugin at path and hashes it. The caller must Close it.
func openBinary(path string) (*binary, error) {
	file, err := openNoFollow(path)
	if err != nil {
		return nil, fmt.Errorf("plugin binary: %w", err)
	}
	b := &binary{path: path, file: file}
	if err := b.inspect(); err != nil {
		_ = file.Close()
		return nil, err
	}
	return b, nil
}

func (b *binary) inspect() error {
	fi, err := b.file.Stat()
	if err != nil {
		return fmt.Errorf("stat plugin: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", b.path)
	}
	// The file's own problems come from the open file, the one that will run;
	// its folders' from their paths, since they decide who could have swapped it.
	b.problems = append(fileProblems(b.path, fi), folderProblems(filepath.Dir(b.path))...)
	h := sha256.New()
	if _, err := io.Copy(h, b.file); err != nil {
		return fmt.Errorf("read plugin %s: %w", b.path, err)
	}
	b.sum = h.Sum(nil)
	return nil
}

// Close releases the file; a process started from it keeps running.
func (b *binary) Close() error { return b.file.Close() }

// SHA256 is the hex SHA-256 of the file as opened.
func (b *binary) SHA256() string { return hex.EncodeToString(b.sum) }

// insecure is the error for a binary with permission problems.
func (b *binary) insecure() error {
	return fmt.Errorf("refused: %s; or set PLUGIN_ALLOW_INSECURE_PERMISSIONS=true to accept it", strings.Join(b.problems, "; "))
}

// expected is the SHA-256 a launch must find: the pin, or else the first launch's.
type expected struct {
	sum []byte
	// setting is PLUGIN_SHA256_<ID> when the sum is pinned, "" when it is the first
	// launch's.
	setting string
}

// check refuses a binary whose SHA-256 is not the expected one.
func (e expected) check(id string, b *binary) error {
	if e.sum == nil || bytes.Equal(e.sum, b.sum) {
		return nil
	}
	if e.setting != "" {
		return fmt.Errorf("the SHA-256 of %s is %s, which does not match %s: not launched", b.path, b.SHA256(), e.setting)
	}
	// An unpinned binary is trusted as first launched; a different one later is a
	// deploy that forgot to restart SMS+, or an attacker waiting for a crash.
	return fmt.Errorf("%s changed since first launch (SHA-256 now %s, was %x): not launched; put the original back, "+
		"or pin the new one with %s=%s and restart SMS+", b.path, b.SHA256(), e.sum, ChecksumSetting(id), b.SHA256())
}

// Who may replace a plugin is who may run code with the bridge's secrets: only
// its owner, and the owner must be root or the user SMS+ runs as.
//
// The checks cover the file, its folder and every folder above it up to the root,
// as OpenSSH's StrictModes does: write access to any of them is a way to put
// another file at the path. A folder above the plugin's own may be writable by
// others when it has the sticky bit (/tmp): there, others can add entries but can
// neither rename nor remove ours. The plugin's own folder gets no such exception:
// anyone who can add a file there can plant a new bridge.
//
// Symbolic links are followed: both the folders on the path as written and
// those it resolves to are checked.

// fileProblems reports the ways others could rewrite the plugin file itself.
func fileProblems(path string, fi fs.FileInfo) []string {
	var out []string
	if fi.Mode().Perm()&0o022 != 0 {
		out = append(out, fmt.Sprintf("%s is writable by group or others, who could replace the bridge (fix: chmod go-w %s)", path, path))
	}
	if p := ownerProblem(path, fi); p != "" {
		out = append(out, p)
	}
	return out
}

// folderProblems reports the ways others could replace a file in dir.
func folderProblems(dir string) []string {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return []string{fmt.Sprintf("cannot resolve the plugin folder %s: %v", dir, err)}
	}
	var out []string
	seen := map[string]bool{}
	for _, chain := range [][]string{ancestors(real), ancestors(dir)} {
		for i, d := range chain {
			if seen[d] {
				continue
			}
			seen[d] = true
			fi, err := os.Lstat(d)
			if err != nil {
				out = append(out, fmt.Sprintf("cannot check %s: %v", d, err))
				continue
			}
			if fi.Mode()&fs.ModeSymlink != 0 {
				continue // its folder is in this chain; its target in the resolved one
			}
			out = append(out, folderProblem(d, fi, i == 0)...)
		}
	}
	return out
}

// folderProblem reports how others could replace entries of folder d; own is
// true for the plugin's own folder.
func folderProblem(d string, fi fs.FileInfo, own bool) []string {
	var out []string
	writable := fi.Mode().Perm()&0o022 != 0
	switch {
	case writable && own:
		out = append(out, fmt.Sprintf("the plugin folder %s is writable by group or others, who could replace or add a bridge (fix: chmod go-w %s)", d, d))
	case writable && fi.Mode()&fs.ModeSticky == 0:
		out = append(out, fmt.Sprintf("%s, a folder above the plugins, is writable by group or others, who could rename it and put other plugins in its place (fix: chmod go-w %s)", d, d))
	}
	if p := ownerProblem(d, fi); p != "" {
		out = append(out, p)
	}
	return out
}

// ancestors returns path and each folder above it, up to the root.
func ancestors(path string) []string {
	path = filepath.Clean(path)
	out := []string{path}
	for {
		parent := filepath.Dir(path)
		if parent == path {
			return out
		}
		out = append(out, parent)
		path = parent
	}
}
