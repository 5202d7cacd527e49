// Package host wires SMS+ together and implements the smsplus command line.
// Everything else of the host lives in host/internal, so that bridge plugins can
// only use what third parties get: the SDK.
//
// One file per command: serve.go (with app.go, the composition root, and
// bridges.go, the plugins as serve starts them), simulate.go, check_config.go
// (with report.go), plugins.go, healthcheck.go, version.go and biometrics.go
// (which hands over to host/internal/biometrics/eval). This file dispatches;
// cli.go holds what the commands share (flags, the configuration sources).
package host

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// Exit codes of the smsplus command.
const (
	ExitOK     = 0 // success
	ExitFailed = 1 // the command ran and failed (bad configuration, server error)
	ExitUsage  = 2 // the command line was wrong

	// smsplus simulate: what the server did with the example hook.
	ExitHookRefused = 3 // the call was refused (authentication, a payload the bridge does not take)
	ExitHookFailed  = 4 // the call was taken but nothing was texted (destination refused, SMS provider failed...)
	ExitNoAnswer    = 5 // no answer: the server is not reachable, or its answer was cut
)

// exitError ends a command with a given exit code.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

const usage = `smsplus protects SMS one-time passcodes with typing biometrics.

Usage:
  smsplus serve         [--config FILE] [--env-file FILE]   run the service
  smsplus simulate BRIDGE --phone E164 [--url URL] [--otp CODE] [--locale L]   post an example hook
  smsplus check-config  [--config FILE] [--env-file FILE]   report every configuration problem
  smsplus plugins       [--config FILE] [--env-file FILE]   list the bridge plugins found
  smsplus biometrics eval --dataset FILE                   measure typing biometrics on the CMU benchmark
  smsplus healthcheck   [--ready] [--url URL] [--timeout D]   ask a running server: exit 0 healthy, 1 not
  smsplus version                                          print version, VCS revision and module versions

Settings come from the environment, a .env file (default ./.env) and an optional
YAML file; see configs/.env.example. Every command takes --help.
Exit codes: 0 ok, 1 failed (bad configuration, server error, unhealthy), 2 usage;
simulate also: 3 hook refused, 4 hook taken but nothing texted, 5 no answer.
`

// proc is what a command gets from the process: its environment and its output.
type proc struct {
	environ        []string
	stdout, stderr io.Writer
}

// commands are the smsplus commands by name; each is in the file of its name.
var commands = map[string]func(ctx context.Context, args []string, p proc) error{
	"serve":        runServe,
	"simulate":     runSimulate,
	"check-config": runCheckConfig,
	"plugins":      runPlugins,
	"biometrics":   runBiometrics,
	"healthcheck":  runHealthcheck,
	"version":      runVersion,
	"--version":    runVersion,
}

// Main runs the smsplus command line and returns the exit code.
func Main(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return ExitUsage
	}
	name, rest := args[0], args[1:]
	if isHelpArg(name) {
		fmt.Fprint(stdout, usage)
		return ExitOK
	}
	run, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "smsplus: unknown command %q\n\n%s", name, usage)
		return ExitUsage
	}
	err := run(ctx, rest, proc{environ: environ, stdout: stdout, stderr: stderr})
	var ue usageError
	var ee exitError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "smsplus %s: %v\n", name, err)
		return ExitUsage
	case errors.As(err, &ee):
		fmt.Fprintf(stderr, "smsplus %s: %v\n", name, err)
		return ee.code
	default:
		fmt.Fprintf(stderr, "smsplus %s: %v\n", name, err)
		return ExitFailed
	}
}
