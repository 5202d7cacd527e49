package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// statFields reads /proc/<pid>/stat and returns its fields after the command
// name, from the state letter on (proc(5) field 3 is statFields[0]).
func statFields(pid int) ([]string, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, false
	}
	// "pid (comm) S ppid ...": comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, false
	}
	return strings.Fields(s[i+1:]), true
}

// procStat reads a process's state letter and parent id from /proc/<pid>/stat.
func procStat(pid int) (state byte, ppid int, ok bool) {
	f, ok := statFields(pid)
	if !ok || len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, false
	}
	return f[0][0], ppid, true
}

// CPUTicks is the CPU a process has used so far, user and system, in clock
// ticks (proc(5) fields 14 and 15).
func CPUTicks(pid int) (int64, bool) {
	f, ok := statFields(pid)
	if !ok || len(f) < 13 {
		return 0, false
	}
	user, err1 := strconv.ParseInt(f[11], 10, 64)
	sys, err2 := strconv.ParseInt(f[12], 10, 64)
	return user + sys, err1 == nil && err2 == nil
}

// Alive reports whether a process exists and is not a zombie (an exited process
// whose parent has not reaped it yet runs nothing).
func Alive(pid int) bool {
	state, _, ok := procStat(pid)
	return ok && state != 'Z' && state != 'X'
}

// ChildPIDs returns the live (non-zombie) children of parent, from /proc.
func ChildPIDs(parent int) []int {
	var out []int
	for pid, ppid := range liveParents() {
		if ppid == parent {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

// DescendantPIDs returns the live (non-zombie) descendants of root: its
// children, their children, and so on.
func DescendantPIDs(root int) []int {
	parents := liveParents()
	var out []int
	frontier := []int{root}
	for len(frontier) > 0 {
		var next []int
		for pid, ppid := range parents {
			if slices.Contains(frontier, ppid) {
				next = append(next, pid)
			}
		}
		out = append(out, next...)
		frontier = next
	}
	slices.Sort(out)
	return out
}

// liveParents maps every live (non-zombie) process to its parent.
func liveParents() map[int]int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := map[int]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if state, ppid, ok := procStat(pid); ok && state != 'Z' && state != 'X' {
			out[pid] = ppid
		}
	}
	return out
}

// Argv0 returns a process's argv[0] ("" if it cannot be read).
func Argv0(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	arg, _, _ := strings.Cut(string(b), "\x00")
	return arg
}

// ExeSHA256 returns the hex SHA-256 of the executable a process runs, read through
// /proc/<pid>/exe (the file it was started from, even if that name has since been
// replaced or removed).
func ExeSHA256(pid int) (string, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "exe"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// FileSHA256 returns the hex SHA-256 of a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
