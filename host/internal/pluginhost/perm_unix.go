//go:build unix

package pluginhost

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// openNoFollow opens a plugin for reading. A symbolic link as the file itself is
// refused (Discover never lists one; this closes the gap since).
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
}

// ownerProblem reports a file or folder that belongs to neither root nor the
// user SMS+ runs as: that other account could replace the bridge.
func ownerProblem(path string, fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	me := os.Geteuid()
	if st.Uid == 0 || int(st.Uid) == me {
		return ""
	}
	return fmt.Sprintf("%s belongs to uid %d, neither root nor the user SMS+ runs as (uid %d), who could replace the bridge (fix: chown root %s)",
		path, st.Uid, me, path)
}
