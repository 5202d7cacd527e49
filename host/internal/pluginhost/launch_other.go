//go:build !linux

package pluginhost

import (
	"os"
	"os/exec"
)

// command runs the plugin by its path. Without Linux's /proc/self/fd the file
// that runs is not provably the one that was hashed (a file swapped in between
// would run), and without a parent-death signal the plugin's own watchdog
// (bridge.Serve) is what ends it when the host dies. Production runs on Linux.
func command(_ *os.File, path string) *exec.Cmd {
	return &exec.Cmd{Path: path, Args: []string{path}}
}

func startProcess(cmd *exec.Cmd) error { return cmd.Start() }
