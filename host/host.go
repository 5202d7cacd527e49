// Package host wires SMS+ together and implements the smsplus command line.
// Everything else of the host lives in host/internal, so that bridge plugins can
// only use what third parties get: the SDK.
package host

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/smsplus/smsplus/host/internal/config"
)

// Exit codes of the smsplus command.
const (
	ExitOK     = 0 // success
	ExitFailed = 1 // the command ran and failed (bad configuration, server error)
	ExitUsage  = 2 // the command line was wrong
)

const usage = `smsplus protects SMS one-time passcodes with typing biometrics.

Usage:
  smsplus serve         [--config FILE] [--env-file FILE]   run the service
  smsplus simulate BRIDGE --phone E164 [--url URL] [--otp CODE]   post an example hook
  smsplus check-config  [--config FILE] [--env-file FILE]   report every configuration problem
  smsplus plugins       [--config FILE] [--env-file FILE]   list the bridge plugins found
  smsplus biometrics eval --dataset FILE                   measure typing biometrics on the CMU benchmark
  smsplus healthcheck   [--ready] [--url URL] [--timeout D]   ask a running server: exit 0 healthy, 1 not
  smsplus version                                          print version, VCS revision and module versions

Settings come from the environment, a .env file (default ./.env) and an optional
YAML file; see configs/.env.example. Every command takes --help.
Exit codes: 0 ok, 1 failed (bad configuration, server error, unhealthy), 2 usage.
`

// commandHelp opens each command's --help: its synopsis and what it does.
var commandHelp = map[string]string{
	"serve": `smsplus serve [--config FILE] [--env-file FILE]

Run the service: the IAM hooks, the challenge pages, /healthz, /readyz and
/metrics. Configuration problems are all reported at once and nothing starts.
On SIGTERM or SIGINT, /readyz answers 503 for SHUTDOWN_DRAIN_MS (a second
signal cuts that short), then new connections are refused, requests in flight
finish (hooks within their budget), and the bridge plugins stop.`,
	"simulate": `smsplus simulate BRIDGE --phone E164 [flags]

Post a realistic example hook of BRIDGE (okta, auth0, pingone, cyberark,
fusionauth, or any bridge plugin that renders examples) to a running server.
The bridge's plugin renders it, authenticated with the configured settings.`,
	"check-config": `smsplus check-config [--config FILE] [--env-file FILE]

Report every configuration problem at once, in plain words: the settings (a
placeholder such as replace-me is refused as a secret), each enabled bridge's
own check of its settings, the SMS provider's and the biometrics engine's.
Exit 1 if there is any. Warnings (a name that looks like a setting but is
none, such as HASH_SALTT) are listed apart and do not change the exit code.
Any setting X may be read from the file X_FILE names.`,
	"plugins": `smsplus plugins [--config FILE] [--env-file FILE] [--url URL]

List the bridge plugins found, enabled or not, with versions and checksums.`,
	"healthcheck": `smsplus healthcheck [--ready] [--url URL] [--timeout DURATION]

Ask a running server whether it is healthy (GET /healthz) or, with --ready,
ready to take traffic (GET /readyz). Exit 0 on 200, 1 otherwise (not ready,
shutting down, unreachable or too slow). Made for container health checks:
needs no shell and no other tool.`,
	"version": `smsplus version

Print the version, the Go version, the VCS revision the binary was built from,
and the versions of the SMS+ modules in it.`,
}

const exitCodesHelp = "\nExit codes: 0 ok, 1 failed, 2 usage.\n"

func isHelpArg(a string) bool { return a == "-h" || a == "-help" || a == "--help" || a == "help" }

// Main runs the smsplus command line and returns the exit code.
func Main(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return ExitUsage
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = runServe(ctx, rest, environ, stdout, stderr)
	case "simulate":
		if len(rest) > 0 && isHelpArg(rest[0]) {
			// simulate reads its bridge before its flags; show them all the same.
			rest = []string{"BRIDGE", "--help"}
		}
		err = runSimulate(ctx, rest, environ, stdout)
	case "check-config":
		err = runCheckConfig(ctx, rest, environ, stdout)
	case "plugins":
		err = runPlugins(ctx, rest, environ, stdout)
	case "biometrics":
		err = runBiometrics(ctx, rest, stdout, stderr)
	case "healthcheck":
		err = runHealthcheck(ctx, rest, environ, stdout)
	case "version", "--version":
		if len(rest) > 0 && isHelpArg(rest[0]) {
			fmt.Fprintf(stdout, "Usage: %s\n%s", commandHelp["version"], exitCodesHelp)
			return ExitOK
		}
		err = runVersion(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return ExitOK
	default:
		fmt.Fprintf(stderr, "smsplus: unknown command %q\n\n%s", cmd, usage)
		return ExitUsage
	}
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "smsplus %s: %v\n", cmd, err)
		return ExitUsage
	default:
		fmt.Fprintf(stderr, "smsplus %s: %v\n", cmd, err)
		return ExitFailed
	}
}

type usageError struct{ error }

// sourceFlags are shared by the commands that read the configuration.
type sourceFlags struct {
	configFile string
	envFile    string
}

func (f *sourceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.configFile, "config", "", "YAML `file` with settings (optional)")
	fs.StringVar(&f.envFile, "env-file", "", "`file` of KEY=value settings (default ./.env if present)")
}

func (f *sourceFlags) load(environ []string) (*config.Config, error) {
	src := config.Sources{ConfigFile: f.configFile, EnvFile: f.envFile, Environ: environ, EnvFileRequired: f.envFile != ""}
	if src.EnvFile == "" {
		src.EnvFile = ".env"
	}
	return config.Load(src)
}

func newFlagSet(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		help, ok := commandHelp[name]
		if !ok {
			help = "smsplus " + name + " [flags]"
		}
		fmt.Fprintf(out, "Usage: %s\n\nFlags:\n", help)
		fs.PrintDefaults()
		fmt.Fprint(out, exitCodesHelp)
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
