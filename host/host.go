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
	"strings"

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
  smsplus simulate VENDOR --phone E164 [--url URL] [--otp CODE]   post an example hook
  smsplus check-config  [--config FILE] [--env-file FILE]   report every configuration problem
  smsplus plugins       [--config FILE] [--env-file FILE]   list the bridge plugins found
  smsplus version                                          print version information

Settings come from the environment, a .env file (default ./.env) and an optional
YAML file; see configs/.env.example. Exit codes: 0 ok, 1 failed, 2 usage.
`

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
		err = runSimulate(ctx, rest, environ, stdout)
	case "check-config":
		err = runCheckConfig(ctx, rest, environ, stdout)
	case "plugins":
		err = runPlugins(ctx, rest, environ, stdout)
	case "version", "--version":
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

func printProblems(w io.Writer, err error) {
	var ce *config.Error
	if errors.As(err, &ce) {
		fmt.Fprintf(w, "%d configuration problem(s):\n", len(ce.Problems))
		for _, p := range ce.Problems {
			fmt.Fprintf(w, "  - %s\n", p)
		}
		return
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "  - %s\n", line)
	}
}
