package host

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/smsplus/smsplus/host/internal/config"
)

// What the commands share: their flags, their help and the configuration sources.

// usageError is a wrong command line: exit 2.
type usageError struct{ error }

const exitCodesHelp = "\nExit codes: 0 ok, 1 failed, 2 usage.\n"

func isHelpArg(a string) bool { return a == "-h" || a == "-help" || a == "--help" || a == "help" }

// newFlagSet returns the flags of a command whose --help opens with help: its
// synopsis and what it does.
func newFlagSet(name, help string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
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

// sourceFlags are shared by the commands that read the configuration.
type sourceFlags struct {
	configFile string
	envFile    string
}

func (f *sourceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.configFile, "config", "", "YAML `file` with settings (optional)")
	fs.StringVar(&f.envFile, "env-file", "", "`file` of KEY=value settings (default ./.env if present)")
}

// load reads the configuration as every command does: the YAML file, the .env
// file (./.env unless named), then the environment.
func (f *sourceFlags) load(environ []string) (*config.Config, error) {
	src := config.Sources{ConfigFile: f.configFile, EnvFile: f.envFile, Environ: environ, EnvFileRequired: f.envFile != ""}
	if src.EnvFile == "" {
		src.EnvFile = ".env"
	}
	return config.Load(src)
}
