package pluginhost

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"

	"github.com/hashicorp/go-plugin/runner"
)

// procRunner runs one plugin process for go-plugin (ClientConfig.RunnerFunc). The
// host supplies its own runner, rather than a ClientConfig.Cmd, because it decides
// what is executed (the verified open file, see command) and from which thread
// the process is forked (see startProcess).
type procRunner struct {
	cmd            *exec.Cmd
	stdout, stderr io.ReadCloser
	name           string
}

var _ runner.Runner = (*procRunner)(nil)

func newProcRunner(cmd *exec.Cmd, name string) (*procRunner, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	return &procRunner{cmd: cmd, stdout: stdout, stderr: stderr, name: name}, nil
}

func (r *procRunner) Start(context.Context) error { return startProcess(r.cmd) }

func (r *procRunner) Wait(context.Context) error { return r.cmd.Wait() }

// Kill may be called more than once, and after the process exited.
func (r *procRunner) Kill(context.Context) error {
	if r.cmd.Process == nil {
		return nil
	}
	if err := r.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

func (r *procRunner) Stdout() io.ReadCloser { return r.stdout }
func (r *procRunner) Stderr() io.ReadCloser { return r.stderr }
func (r *procRunner) Name() string          { return r.name }

// pid is the process id, or 0 before Start.
func (r *procRunner) pid() int {
	if r.cmd.Process == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

func (r *procRunner) ID() string { return strconv.Itoa(r.pid()) }

func (r *procRunner) Diagnose(context.Context) string {
	return "the plugin exited before its go-plugin handshake: is it an SMS+ bridge, built for this platform?"
}

// The plugin runs on this machine: addresses need no translation.
func (r *procRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (r *procRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}
