package pluginhost

import (
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// command returns the command that runs the opened plugin file itself.
//
// The file is passed to the child as its fd 3 and the child executes
// /proc/self/fd/3: the kernel resolves that to the open file, whatever is at the
// plugin's path by then. (Executing /proc/self/fd/N of the host's own descriptor
// would work too, since execve resolves the path before close-on-exec applies, but
// the child may dup its internal error pipe onto a free low descriptor before
// exec, which could be N; ExtraFiles puts the file at a fixed number.) The plugin
// keeps that read-only descriptor of its own binary open; it is harmless.
//
// argv[0] stays the plugin's path, so ps, pgrep -f and the plugin itself see
// its name. (The kernel names the process "3" in /proc/<pid>/comm.)
//
// Pdeathsig makes the kernel kill the plugin when the host dies, even by SIGKILL,
// when nothing in the host can run.
func command(file *os.File, path string) *exec.Cmd {
	return &exec.Cmd{
		Path:        "/proc/self/fd/3",
		Args:        []string{path},
		ExtraFiles:  []*os.File{file},
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	}
}

// The parent-death signal fires when the thread that forked the child exits, not
// the process (golang/go#27505), and the Go runtime ends a thread when a goroutine
// locked to it returns. So every plugin is forked from one goroutine locked to its
// thread for the life of the host: that thread ends only with the process.
var forker struct {
	once sync.Once
	jobs chan func()
}

// startProcess starts cmd from the forking thread.
func startProcess(cmd *exec.Cmd) error {
	forker.once.Do(func() {
		forker.jobs = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked, and the goroutine never returns
			for job := range forker.jobs {
				job()
			}
		}()
	})
	done := make(chan error, 1)
	forker.jobs <- func() { done <- cmd.Start() }
	return <-done
}
